"""Contract: OAuth sign-in with GitHub and Google, and the single-use state records behind it.

The flow tests run the shop's real provider adapters against
:class:`~bookshop_adapters.testing.fake_oauth.FakeOAuthServer` over loopback HTTP. The classes
override ``shop`` with one configured for the fake (``ShopSettings(oauth=...)``), built by the
harness's ``make_shop``, so they need nothing beyond the harness fixtures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest
import pytest_asyncio

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.oauth import OAuthSettings
from bookshop_adapters.testing.fake_oauth import FakeAccount, FakeOAuthServer, IdTokenFlaw
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.errors import AuthenticationError, DomainError
from bookshop_core.identity.commands import Login, Register
from bookshop_core.identity.entities import TokenPair
from bookshop_core.identity.oauth import OAUTH_STATE_TTL, OAuthState
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal, Role

__all__ = ["OAuthGoogleIdTokenContract", "OAuthLoginContract", "OAuthStateContract"]

REDIRECT_URI = "http://app.test/auth/callback"
PASSWORD = "correct horse battery staple 42"
PROVIDERS = ("github", "google")


class _OAuthFixtures:
    """A fake GitHub + Google per test class, and a shop configured for it."""

    @pytest.fixture(scope="class")
    @classmethod
    def fake_oauth(cls) -> Iterator[FakeOAuthServer]:
        """The fake providers, serving on loopback for the whole class."""
        with FakeOAuthServer() as fake:
            yield fake

    @pytest_asyncio.fixture
    async def shop(
        self, make_shop: MakeShop, fake_oauth: FakeOAuthServer, clock: ManualClock
    ) -> AsyncIterator[Shop]:
        """A shop on this test's store whose GitHub and Google are the fake providers."""
        fake_oauth.reset()
        fake_oauth.use_clock(clock)
        settings = ShopSettings(oauth=OAuthSettings.from_env(fake_oauth.environ()))
        async with make_shop(settings=settings) as opened:
            yield opened


def _account(provider: str, **changes: Any) -> FakeAccount:
    subject = "5150" if provider == "github" else "g-5150"
    return attrs.evolve(FakeAccount(subject, "reader@example.com", name="Reader"), **changes)


async def _sign_in(shop: Shop, fake: FakeOAuthServer, provider: str) -> TokenPair:
    url = await shop.oauth.begin(provider, REDIRECT_URI)
    callback = await fake.approve(url)
    assert callback.code is not None
    assert callback.state is not None
    return await shop.oauth.complete(provider, callback.code, callback.state)


async def _user_id(shop: Shop, tokens: TokenPair) -> int:
    return (await shop.identity.authenticate(tokens.access_token)).user_id


async def _admin(shop: Shop) -> Principal:
    view = await shop.identity.create_admin("admin@example.com", PASSWORD)
    return Principal(user_id=view.id, role=Role.ADMIN)


async def _user_count(shop: Shop, admin: Principal) -> int:
    return (await shop.identity.list_users(admin)).total


async def _refused(awaitable: Awaitable[object], code: str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await awaitable
    assert caught.value.code == code, caught.value
    return caught.value


class OAuthLoginContract(_OAuthFixtures):
    """The authorization-code flow: state, PKCE, nonce, linking rules, provider failures."""

    @pytest.mark.parametrize("provider", PROVIDERS)
    async def test_first_sign_in_creates_an_account_and_the_second_finds_it(
        self, shop: Shop, fake_oauth: FakeOAuthServer, provider: str
    ) -> None:
        """A new identity creates a password-less account; signing in again is the same one."""
        getattr(fake_oauth, provider).account = _account(provider, email="New.Reader@Example.com")
        admin = await _admin(shop)
        first = await _sign_in(shop, fake_oauth, provider)
        assert first.token_type == "bearer"
        user_id = await _user_id(shop, first)
        me = await shop.identity.me(Principal(user_id))
        assert (me.email, me.full_name, me.role, me.is_active) == (
            "new.reader@example.com",
            "Reader",
            Role.USER,
            True,
        )
        second = await _sign_in(shop, fake_oauth, provider)
        assert await _user_id(shop, second) == user_id
        assert second.refresh_token != first.refresh_token
        assert await _user_count(shop, admin) == 2  # the admin and the reader
        await _refused(
            shop.identity.login(Login(email="new.reader@example.com", password=PASSWORD)),
            "AUTH_INVALID_CREDENTIALS",
        )

    @pytest.mark.parametrize("provider", PROVIDERS)
    async def test_links_an_existing_local_account_by_verified_email(
        self, shop: Shop, fake_oauth: FakeOAuthServer, provider: str
    ) -> None:
        """A verified email equal to a local account's (case-insensitively) signs in to it."""
        registered = await shop.identity.register(
            Register(email="reader@example.com", password=PASSWORD)
        )
        local_id = await _user_id(shop, registered)
        getattr(fake_oauth, provider).account = _account(provider, email="Reader@Example.COM")
        tokens = await _sign_in(shop, fake_oauth, provider)
        assert await _user_id(shop, tokens) == local_id
        # The password still works, and the link is by provider + subject from now on.
        await shop.identity.login(Login(email="reader@example.com", password=PASSWORD))
        getattr(fake_oauth, provider).account = _account(provider, email="changed@example.com")
        again = await _sign_in(shop, fake_oauth, provider)
        assert await _user_id(shop, again) == local_id

    @pytest.mark.parametrize("provider", PROVIDERS)
    async def test_never_links_by_an_unverified_email(
        self, shop: Shop, fake_oauth: FakeOAuthServer, provider: str
    ) -> None:
        """An unverified email neither links to the local account nor creates one."""
        admin = await _admin(shop)
        await shop.identity.register(Register(email="reader@example.com", password=PASSWORD))
        getattr(fake_oauth, provider).account = _account(provider, email_verified=False)
        await _refused(_sign_in(shop, fake_oauth, provider), "AUTH_OAUTH_EMAIL_UNVERIFIED")
        getattr(fake_oauth, provider).account = _account(
            provider,
            subject=_account(provider).subject + "9",
            email="fresh@example.com",
            email_verified=False,
        )
        await _refused(_sign_in(shop, fake_oauth, provider), "AUTH_OAUTH_EMAIL_UNVERIFIED")
        assert await _user_count(shop, admin) == 2

    @pytest.mark.parametrize("provider", PROVIDERS)
    async def test_missing_email(
        self, shop: Shop, fake_oauth: FakeOAuthServer, provider: str
    ) -> None:
        """A provider identity without an email cannot open an account."""
        getattr(fake_oauth, provider).account = _account(provider, email=None)
        await _refused(_sign_in(shop, fake_oauth, provider), "AUTH_OAUTH_NO_EMAIL")

    @pytest.mark.parametrize("provider", PROVIDERS)
    async def test_deactivated_user_is_refused(
        self, shop: Shop, fake_oauth: FakeOAuthServer, provider: str
    ) -> None:
        """A linked account that an admin deactivated cannot sign in through the provider."""
        admin = await _admin(shop)
        getattr(fake_oauth, provider).account = _account(provider)
        user_id = await _user_id(shop, await _sign_in(shop, fake_oauth, provider))
        await shop.identity.deactivate(admin, user_id)
        await _refused(_sign_in(shop, fake_oauth, provider), "AUTH_USER_INACTIVE")

    @pytest.mark.parametrize("provider", PROVIDERS)
    async def test_unknown_state_is_refused(
        self, shop: Shop, fake_oauth: FakeOAuthServer, provider: str
    ) -> None:
        """A state the shop never issued fails, and does not spend the real one."""
        url = await shop.oauth.begin(provider, REDIRECT_URI)
        callback = await fake_oauth.approve(url)
        assert callback.code is not None
        assert callback.state is not None
        for wrong in ("forged-" + callback.state[7:], "", "x" * 5000, "é" * 43):
            await _refused(shop.oauth.complete(provider, callback.code, wrong), "AUTH_OAUTH_FAILED")
        await shop.oauth.complete(provider, callback.code, callback.state)

    @pytest.mark.parametrize("provider", PROVIDERS)
    async def test_replayed_state_is_refused(
        self, shop: Shop, fake_oauth: FakeOAuthServer, provider: str
    ) -> None:
        """A state is single-use: the second callback with it fails."""
        url = await shop.oauth.begin(provider, REDIRECT_URI)
        callback = await fake_oauth.approve(url)
        assert callback.code is not None
        assert callback.state is not None
        await shop.oauth.complete(provider, callback.code, callback.state)
        await _refused(
            shop.oauth.complete(provider, callback.code, callback.state), "AUTH_OAUTH_FAILED"
        )

    async def test_concurrent_callbacks_with_one_state_sign_in_once(
        self, shop: Shop, fake_oauth: FakeOAuthServer
    ) -> None:
        """Of two simultaneous callbacks with the same state, exactly one gets through."""
        url = await shop.oauth.begin("github", REDIRECT_URI)
        callback = await fake_oauth.approve(url)
        assert callback.code is not None
        assert callback.state is not None
        results = await asyncio.gather(
            *(shop.oauth.complete("github", callback.code, callback.state) for _ in range(2)),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1
        assert isinstance(failures[0], AuthenticationError)
        assert failures[0].code == "AUTH_OAUTH_FAILED"

    @pytest.mark.parametrize("provider", PROVIDERS)
    async def test_expired_state_is_refused(
        self, shop: Shop, fake_oauth: FakeOAuthServer, clock: ManualClock, provider: str
    ) -> None:
        """A state lives ten minutes: usable just before, refused from then on."""
        late = await fake_oauth.approve(await shop.oauth.begin(provider, REDIRECT_URI))
        clock.advance(OAUTH_STATE_TTL - timedelta(seconds=1))
        timely = await fake_oauth.approve(await shop.oauth.begin(provider, REDIRECT_URI))
        assert timely.code is not None
        assert timely.state is not None
        await shop.oauth.complete(provider, timely.code, timely.state)
        clock.advance(seconds=1)
        assert late.code is not None
        assert late.state is not None
        await _refused(shop.oauth.complete(provider, late.code, late.state), "AUTH_OAUTH_FAILED")

    async def test_state_of_another_provider_is_refused(
        self, shop: Shop, fake_oauth: FakeOAuthServer
    ) -> None:
        """A GitHub state presented at the Google callback fails, and is spent."""
        callback = await fake_oauth.approve(await shop.oauth.begin("github", REDIRECT_URI))
        assert callback.code is not None
        assert callback.state is not None
        await _refused(
            shop.oauth.complete("google", callback.code, callback.state), "AUTH_OAUTH_FAILED"
        )
        await _refused(
            shop.oauth.complete("github", callback.code, callback.state), "AUTH_OAUTH_FAILED"
        )

    @pytest.mark.parametrize("provider", PROVIDERS)
    async def test_code_injected_into_another_flow_fails_pkce(
        self, shop: Shop, fake_oauth: FakeOAuthServer, provider: str
    ) -> None:
        """A code obtained in one flow, replayed with another flow's state, is refused by the
        provider because the PKCE verifier does not match its challenge."""
        stolen = await fake_oauth.approve(await shop.oauth.begin(provider, REDIRECT_URI))
        victim = await fake_oauth.approve(await shop.oauth.begin(provider, REDIRECT_URI))
        assert stolen.code is not None
        assert victim.state is not None
        await _refused(
            shop.oauth.complete(provider, stolen.code, victim.state), "AUTH_OAUTH_FAILED"
        )
        token_calls = [r for r in fake_oauth.requests if r.method == "POST"]
        assert token_calls, "the provider was asked"
        assert token_calls[-1].form["code_verifier"]

    @pytest.mark.parametrize("provider", PROVIDERS)
    @pytest.mark.parametrize(
        ("status", "body"),
        [(500, b"Internal Server Error"), (502, b"<html>Bad gateway</html>"), (200, b"{garbage")],
    )
    async def test_provider_errors(
        self, shop: Shop, fake_oauth: FakeOAuthServer, provider: str, status: int, body: bytes
    ) -> None:
        """A failing or babbling token endpoint is AUTH_OAUTH_FAILED and creates nothing."""
        admin = await _admin(shop)
        getattr(fake_oauth, provider).fail("token", status, body)
        await _refused(_sign_in(shop, fake_oauth, provider), "AUTH_OAUTH_FAILED")
        assert await _user_count(shop, admin) == 1

    @pytest.mark.parametrize("endpoint", ["user", "emails"])
    async def test_github_api_errors(
        self, shop: Shop, fake_oauth: FakeOAuthServer, endpoint: str
    ) -> None:
        """GitHub's user and emails APIs failing: AUTH_OAUTH_FAILED."""
        fake_oauth.github.fail(endpoint, 500, b'{"message": "Server Error"}')
        await _refused(_sign_in(shop, fake_oauth, "github"), "AUTH_OAUTH_FAILED")

    @pytest.mark.parametrize(
        "flaw",
        [
            IdTokenFlaw.WRONG_SIGNATURE,
            IdTokenFlaw.WRONG_AUDIENCE,
            IdTokenFlaw.WRONG_ISSUER,
            IdTokenFlaw.EXPIRED,
            IdTokenFlaw.WRONG_NONCE,
            IdTokenFlaw.MISSING_NONCE,
            IdTokenFlaw.ALG_NONE,
        ],
    )
    async def test_google_callback_with_a_bad_id_token(
        self, shop: Shop, fake_oauth: FakeOAuthServer, flaw: IdTokenFlaw
    ) -> None:
        """The ID token from Google's token endpoint is verified (signature, iss, aud, exp,
        nonce) before anyone is signed in."""
        fake_oauth.google.id_token_flaw = flaw
        await _refused(_sign_in(shop, fake_oauth, "google"), "AUTH_OAUTH_FAILED")

    async def test_unconfigured_provider(self, shop: Shop) -> None:
        """Asking for a provider the shop was not configured with: AUTH_OAUTH_NOT_CONFIGURED."""
        assert shop.oauth.provider_names == ("github", "google")
        await _refused(shop.oauth.begin("facebook", REDIRECT_URI), "AUTH_OAUTH_NOT_CONFIGURED")
        await _refused(shop.oauth.complete("facebook", "c", "s"), "AUTH_OAUTH_NOT_CONFIGURED")

    @pytest.mark.parametrize(
        "redirect_uri", ["", "/relative/callback", "javascript:alert(1)", "https://x/" + "a" * 3000]
    )
    async def test_begin_refuses_unusable_redirect_uris(
        self, shop: Shop, redirect_uri: str
    ) -> None:
        """Only absolute http(s) callback URLs are accepted."""
        await _refused(shop.oauth.begin("github", redirect_uri), "AUTH_OAUTH_FAILED")

    async def test_authorization_url_binds_state_pkce_and_nonce(
        self, shop: Shop, fake_oauth: FakeOAuthServer
    ) -> None:
        """Each begin issues a fresh state, challenge and nonce, never the verifier."""
        first = await shop.oauth.begin("google", REDIRECT_URI)
        second = await shop.oauth.begin("google", REDIRECT_URI)
        assert first != second
        for url in (first, second):
            assert url.startswith(fake_oauth.base_url + "/google/")
            assert "code_challenge_method=S256" in url
            assert "nonce=" in url
            assert "code_verifier" not in url
            assert "client_secret" not in url


class OAuthGoogleIdTokenContract(_OAuthFixtures):
    """``exchange_google_id_token``: a Google ID token a web client obtained itself."""

    async def test_sign_in_with_an_id_token(self, shop: Shop, fake_oauth: FakeOAuthServer) -> None:
        """A genuine token opens an account once and signs in to it afterwards."""
        fake_oauth.google.account = _account("google")
        first = await shop.oauth.exchange_google_id_token(fake_oauth.google.issue_id_token())
        second = await shop.oauth.exchange_google_id_token(fake_oauth.google.issue_id_token())
        assert await _user_id(shop, first) == await _user_id(shop, second)

    async def test_same_account_as_the_redirect_flow(
        self, shop: Shop, fake_oauth: FakeOAuthServer
    ) -> None:
        """Both Google entry points key the identity by the same subject."""
        fake_oauth.google.account = _account("google")
        via_redirect = await _sign_in(shop, fake_oauth, "google")
        via_token = await shop.oauth.exchange_google_id_token(fake_oauth.google.issue_id_token())
        assert await _user_id(shop, via_redirect) == await _user_id(shop, via_token)

    async def test_links_to_local_account_only_when_verified(
        self, shop: Shop, fake_oauth: FakeOAuthServer
    ) -> None:
        """Verified email: linked to the registered account; unverified: refused."""
        registered = await shop.identity.register(
            Register(email="reader@example.com", password=PASSWORD)
        )
        unverified = fake_oauth.google.issue_id_token(_account("google", email_verified=False))
        await _refused(
            shop.oauth.exchange_google_id_token(unverified), "AUTH_OAUTH_EMAIL_UNVERIFIED"
        )
        verified = fake_oauth.google.issue_id_token(_account("google"))
        tokens = await shop.oauth.exchange_google_id_token(verified)
        assert await _user_id(shop, tokens) == await _user_id(shop, registered)

    async def test_missing_email(self, shop: Shop, fake_oauth: FakeOAuthServer) -> None:
        """A token without an email cannot open an account."""
        token = fake_oauth.google.issue_id_token(_account("google", email=None))
        await _refused(shop.oauth.exchange_google_id_token(token), "AUTH_OAUTH_NO_EMAIL")

    @pytest.mark.parametrize("flaw", list(IdTokenFlaw))
    async def test_bad_id_tokens(
        self, shop: Shop, fake_oauth: FakeOAuthServer, flaw: IdTokenFlaw
    ) -> None:
        """Wrong signature, unknown key, aud, iss, expired, future, nonce, ``alg`` tricks,
        garbage: all AUTH_GOOGLE_INVALID_TOKEN, and nobody is signed in."""
        token = fake_oauth.google.issue_id_token(nonce="expected-nonce", flaw=flaw)
        await _refused(
            shop.oauth.exchange_google_id_token(token, nonce="expected-nonce"),
            "AUTH_GOOGLE_INVALID_TOKEN",
        )

    async def test_expiry_follows_the_shop_clock(
        self, shop: Shop, fake_oauth: FakeOAuthServer, clock: ManualClock
    ) -> None:
        """A token that was fine when issued is refused once it has expired."""
        token = fake_oauth.google.issue_id_token()
        clock.advance(hours=1, minutes=2)
        await _refused(shop.oauth.exchange_google_id_token(token), "AUTH_GOOGLE_INVALID_TOKEN")

    @pytest.mark.parametrize("garbage", ["", "a.b.c", "x" * 20_000, "eyJ.eyJ.sig"])
    async def test_garbage(self, shop: Shop, garbage: str) -> None:
        """Whatever the client sends, the answer is AUTH_GOOGLE_INVALID_TOKEN."""
        await _refused(shop.oauth.exchange_google_id_token(garbage), "AUTH_GOOGLE_INVALID_TOKEN")

    async def test_deactivated_user(self, shop: Shop, fake_oauth: FakeOAuthServer) -> None:
        """A deactivated account cannot sign in with an ID token either."""
        admin = await _admin(shop)
        tokens = await shop.oauth.exchange_google_id_token(fake_oauth.google.issue_id_token())
        await shop.identity.deactivate(admin, await _user_id(shop, tokens))
        await _refused(
            shop.oauth.exchange_google_id_token(fake_oauth.google.issue_id_token()),
            "AUTH_USER_INACTIVE",
        )

    async def test_unreachable_jwks(self, shop: Shop, fake_oauth: FakeOAuthServer) -> None:
        """Google's keys cannot be fetched: the token cannot be trusted."""
        fake_oauth.google.fail("jwks", 503, b"unavailable")
        await _refused(
            shop.oauth.exchange_google_id_token(fake_oauth.google.issue_id_token()),
            "AUTH_GOOGLE_INVALID_TOKEN",
        )


def _record(state: str, now_clock: ManualClock, ttl: timedelta = OAUTH_STATE_TTL) -> OAuthState:
    now = now_clock.now()
    return OAuthState(
        state=state,
        provider="github",
        code_verifier="v" * 64,
        nonce=None,
        redirect_uri=REDIRECT_URI,
        created_at=now,
        expires_at=now + ttl,
    )


class OAuthStateContract(_OAuthFixtures):
    """The ``oauth_states`` repository: single-use records, atomic take, purge."""

    async def test_take_returns_the_record_once(self, shop: Shop, clock: ManualClock) -> None:
        """A stored record comes back whole, exactly once."""
        record = attrs.evolve(_record("s" * 43, clock), nonce="n" * 43, provider="google")
        async with shop.unit_of_work() as uow:
            await uow.oauth_states.add(record)
            await uow.commit()
        async with shop.unit_of_work() as uow:
            assert await uow.oauth_states.take(record.state) == record
            assert await uow.oauth_states.take(record.state) is None
            await uow.commit()
        async with shop.unit_of_work() as uow:
            assert await uow.oauth_states.take(record.state) is None
            assert await uow.oauth_states.take("never-issued") is None

    async def test_a_rolled_back_take_leaves_the_record(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Taking is part of the transaction: without commit, the state is still there."""
        async with shop.unit_of_work() as uow:
            await uow.oauth_states.add(_record("kept", clock))
            await uow.commit()
        async with shop.unit_of_work() as uow:
            assert await uow.oauth_states.take("kept") is not None
        async with shop.unit_of_work() as uow:
            assert await uow.oauth_states.take("kept") is not None

    async def test_concurrent_takes_get_it_once(self, shop: Shop, clock: ManualClock) -> None:
        """Of concurrent takes of one state in separate transactions, exactly one gets it."""
        async with shop.unit_of_work() as uow:
            await uow.oauth_states.add(_record("contested", clock))
            await uow.commit()

        async def take() -> OAuthState | None:
            async with shop.unit_of_work() as uow:
                got = await uow.oauth_states.take("contested")
                await uow.commit()
            return got

        results = await asyncio.gather(*(take() for _ in range(4)))
        assert sum(r is not None for r in results) == 1

    async def test_purge_expired(self, shop: Shop, clock: ManualClock) -> None:
        """Expired records (expiry at or before now) go; live ones stay."""
        async with shop.unit_of_work() as uow:
            await uow.oauth_states.add(_record("short", clock, timedelta(minutes=1)))
            await uow.oauth_states.add(_record("exact", clock, timedelta(minutes=5)))
            await uow.oauth_states.add(_record("long", clock, timedelta(minutes=10)))
            await uow.commit()
        clock.advance(minutes=5)
        async with shop.unit_of_work() as uow:
            assert await uow.oauth_states.purge_expired(clock.now()) == 2
            await uow.commit()
        async with shop.unit_of_work() as uow:
            assert await uow.oauth_states.take("short") is None
            assert await uow.oauth_states.take("exact") is None
            assert await uow.oauth_states.take("long") is not None

    async def test_begin_stores_a_state_and_purges_abandoned_ones(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Abandoned sign-ins do not pile up: starting one deletes the expired ones."""
        async with shop.unit_of_work() as uow:
            await uow.oauth_states.add(_record("abandoned", clock))
            await uow.commit()
        clock.advance(OAUTH_STATE_TTL)
        await shop.oauth.begin("github", REDIRECT_URI)
        async with shop.unit_of_work() as uow:
            assert await uow.oauth_states.take("abandoned") is None
