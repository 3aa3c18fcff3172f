"""The GitHub and Google adapters against the fake providers over real loopback HTTP: what they
send, what they accept, and that every failure becomes one AuthenticationError code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bookshop_adapters.oauth import (
    GitHubOAuthProvider,
    GoogleIdTokenJwksVerifier,
    GoogleOAuthProvider,
    JwksKeyCache,
    OAuthAdapters,
    OAuthProviderSettings,
    OAuthSettings,
)
from bookshop_adapters.testing.fake_oauth import FakeAccount, FakeOAuthServer, IdTokenFlaw
from bookshop_core.errors import AuthenticationError
from bookshop_core.identity.oauth import (
    GoogleIdTokenVerifier,
    OAuthProvider,
    code_challenge_s256,
    new_code_verifier,
    new_nonce,
    new_state,
)

REDIRECT = "http://app.test/auth/callback"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOAuthServer]:
    with FakeOAuthServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeOAuthServer) -> None:
    fake.reset()
    fake.github.account = FakeAccount("1001", "octo@example.com", name="Octo", login="octo")
    fake.google.account = FakeAccount("g-1", "gina@example.com", name="Gina")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


@pytest.fixture
def github(fake: FakeOAuthServer, client: httpx.AsyncClient) -> GitHubOAuthProvider:
    return GitHubOAuthProvider(fake.github_settings(), client)


@pytest.fixture
def google(fake: FakeOAuthServer, client: httpx.AsyncClient) -> GoogleOAuthProvider:
    return GoogleOAuthProvider(fake.google_settings(), client)


@pytest.fixture
def verifier(fake: FakeOAuthServer, client: httpx.AsyncClient) -> GoogleIdTokenJwksVerifier:
    return GoogleIdTokenJwksVerifier(fake.google_settings(), client)


class Flow:
    """One authorization round trip, as OAuthLogin drives it."""

    def __init__(self, provider: OAuthProvider) -> None:
        self.provider = provider
        self.verifier = new_code_verifier()
        self.state = new_state()
        self.nonce = new_nonce()

    def url(self) -> str:
        return self.provider.authorization_url(
            state=self.state,
            code_challenge=code_challenge_s256(self.verifier),
            redirect_uri=REDIRECT,
            nonce=self.nonce,
        )

    async def run(self, fake: FakeOAuthServer, **overrides: str):  # type: ignore[no-untyped-def]
        callback = await fake.approve(self.url())
        assert callback.state == self.state
        options = {
            "code": callback.code,
            "code_verifier": self.verifier,
            "redirect_uri": REDIRECT,
            "nonce": self.nonce,
            **overrides,
        }
        return await self.provider.exchange_code(**options)  # type: ignore[arg-type]


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


async def failing(coro, code: str = "AUTH_OAUTH_FAILED") -> AuthenticationError:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationError) as caught:
        await coro
    assert caught.value.code == code
    return caught.value


# -- types -------------------------------------------------------------------------------


def test_adapters_satisfy_the_core_ports(
    github: GitHubOAuthProvider, google: GoogleOAuthProvider, verifier: GoogleIdTokenJwksVerifier
) -> None:
    """The adapters are the core's OAuthProvider / GoogleIdTokenVerifier (checked by mypy too)."""
    providers: list[OAuthProvider] = [github, google]
    checker: GoogleIdTokenVerifier = verifier
    assert all(isinstance(p, OAuthProvider) for p in providers)
    assert isinstance(checker, GoogleIdTokenVerifier)
    assert [p.name for p in providers] == ["github", "google"]


# -- authorization URLs ------------------------------------------------------------------


def test_github_authorization_url_carries_state_and_pkce_but_no_secret(
    github: GitHubOAuthProvider, fake: FakeOAuthServer
) -> None:
    """GitHub's authorize URL has client id, redirect, scopes, state and an S256 challenge."""
    flow = Flow(github)
    url = flow.url()
    assert url.startswith(f"{fake.base_url}/github/login/oauth/authorize?")
    query = query_of(url)
    assert query == {
        "client_id": fake.github.client_id,
        "redirect_uri": REDIRECT,
        "scope": "read:user user:email",
        "state": flow.state,
        "code_challenge": code_challenge_s256(flow.verifier),
        "code_challenge_method": "S256",
    }
    assert fake.github.client_secret not in url
    assert flow.verifier not in url


def test_google_authorization_url_is_openid_with_nonce(
    google: GoogleOAuthProvider, fake: FakeOAuthServer
) -> None:
    """Google's URL asks for a code with openid email profile and binds the nonce."""
    flow = Flow(google)
    query = query_of(flow.url())
    assert query["response_type"] == "code"
    assert query["scope"].split() == ["openid", "email", "profile"]
    assert query["nonce"] == flow.nonce
    assert query["code_challenge_method"] == "S256"
    assert fake.google.client_secret not in flow.url()


def test_configured_authorize_url_keeps_its_own_query(
    fake: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """Provider URLs are configurable, including ones that already carry a query."""
    settings = fake.google_settings(authorize_url="https://idp.example/auth?hd=example.com")
    url = GoogleOAuthProvider(settings, client).authorization_url(
        state="s" * 43, code_challenge="c" * 43, redirect_uri=REDIRECT, nonce=None
    )
    query = query_of(url)
    assert url.startswith("https://idp.example/auth?")
    assert query["hd"] == "example.com"
    assert "nonce" not in query


# -- GitHub --------------------------------------------------------------------------------


async def test_github_success_reads_the_verified_primary_email(
    github: GitHubOAuthProvider, fake: FakeOAuthServer
) -> None:
    """The subject is GitHub's numeric id; the email is the primary one, verified by GitHub."""
    fake.github.account = FakeAccount(
        "4242", "main@example.com", name=None, login="octo", other_emails=[("x@example.com", True)]
    )
    info = await Flow(github).run(fake)
    assert (info.provider, info.subject, info.email, info.email_verified, info.name) == (
        "github",
        "4242",
        "main@example.com",
        True,
        "octo",
    )
    token_request = next(r for r in fake.requests if r.path.endswith("/access_token"))
    assert token_request.form["client_secret"] == fake.github.client_secret
    assert token_request.headers["accept"] == "application/json"


async def test_github_unverified_primary_email_is_reported_unverified(
    github: GitHubOAuthProvider, fake: FakeOAuthServer
) -> None:
    """An unverified primary email stays unverified even when another address is verified."""
    fake.github.account = FakeAccount(
        "7", "main@example.com", email_verified=False, other_emails=[("other@example.com", True)]
    )
    info = await Flow(github).run(fake)
    assert (info.email, info.email_verified) == ("main@example.com", False)


async def test_github_without_email(github: GitHubOAuthProvider, fake: FakeOAuthServer) -> None:
    """No primary email: the info says so (the core then refuses with AUTH_OAUTH_NO_EMAIL)."""
    fake.github.account = FakeAccount("8", None)
    info = await Flow(github).run(fake)
    assert (info.email, info.email_verified) == (None, False)


async def test_github_refused_code_reported_with_http_200(
    github: GitHubOAuthProvider, fake: FakeOAuthServer
) -> None:
    """GitHub answers a bad verifier with 200 + error; it is still a failure."""
    flow = Flow(github)
    error = await failing(flow.run(fake, code_verifier=new_code_verifier()))
    assert error.details == {"provider": "github"}
    assert isinstance(error.__cause__, Exception)


async def test_github_replayed_code_fails(
    github: GitHubOAuthProvider, fake: FakeOAuthServer
) -> None:
    """A code is single-use at the provider."""
    flow = Flow(github)
    callback = await fake.approve(flow.url())
    options = {"code_verifier": flow.verifier, "redirect_uri": REDIRECT, "nonce": None}
    assert callback.code is not None
    await github.exchange_code(code=callback.code, **options)  # type: ignore[arg-type]
    await failing(github.exchange_code(code=callback.code, **options))  # type: ignore[arg-type]


async def test_github_wrong_redirect_uri_fails(
    github: GitHubOAuthProvider, fake: FakeOAuthServer
) -> None:
    """The token request must repeat the authorization request's redirect URI."""
    await failing(Flow(github).run(fake, redirect_uri="http://elsewhere.test/cb"))


@pytest.mark.parametrize(
    ("endpoint", "status", "body"),
    [
        ("token", 500, b"Internal Server Error"),
        ("token", 200, b"<html>not json</html>"),
        ("token", 200, b"[1, 2, 3]"),
        ("token", 200, b'{"token_type": "bearer"}'),
        ("user", 500, b'{"message": "boom"}'),
        ("user", 200, b'{"login": "no-id"}'),
        ("user", 200, b'{"id": "1001"}'),
        ("emails", 403, b'{"message": "Resource not accessible by integration"}'),
        ("emails", 200, b'{"emails": []}'),
        ("emails", 200, b"garbage"),
    ],
)
async def test_github_provider_errors_become_auth_oauth_failed(
    github: GitHubOAuthProvider, fake: FakeOAuthServer, endpoint: str, status: int, body: bytes
) -> None:
    """Error statuses, non-JSON and wrongly shaped answers all become AUTH_OAUTH_FAILED."""
    fake.github.fail(endpoint, status, body)
    await failing(Flow(github).run(fake))


async def test_oversized_answer_is_refused(
    github: GitHubOAuthProvider, fake: FakeOAuthServer
) -> None:
    """Answers are read with a size cap, not whole."""
    fake.github.fail("user", 200, b'{"id": 1, "pad": "' + b"x" * (2 << 20) + b'"}')
    await failing(Flow(github).run(fake))


async def test_unreachable_provider_fails_cleanly(client: httpx.AsyncClient) -> None:
    """A connection refused is a failed sign-in, not an httpx exception."""
    with FakeOAuthServer() as gone:
        settings = gone.github_settings()
    provider = GitHubOAuthProvider(settings, client)
    error = await failing(
        provider.exchange_code(code="c", code_verifier="v" * 43, redirect_uri=REDIRECT, nonce=None)
    )
    assert isinstance(error.__cause__, httpx.HTTPError)


async def test_slow_provider_times_out(fake: FakeOAuthServer) -> None:
    """The shared client's timeout bounds every request."""
    fake.github.stall("token", 2.0)
    async with httpx.AsyncClient(timeout=0.2) as quick:
        error = await failing(Flow(GitHubOAuthProvider(fake.github_settings(), quick)).run(fake))
    assert isinstance(error.__cause__, httpx.TimeoutException)


# -- Google code flow ----------------------------------------------------------------------


async def test_google_success_verifies_the_id_token(
    google: GoogleOAuthProvider, fake: FakeOAuthServer
) -> None:
    """The code is exchanged with the verifier; the ID token's claims name the user."""
    fake.google.account = FakeAccount("g-77", "g77@example.com", name="G Seventy")
    info = await Flow(google).run(fake)
    assert (info.provider, info.subject, info.email, info.email_verified, info.name) == (
        "google",
        "g-77",
        "g77@example.com",
        True,
        "G Seventy",
    )
    token_request = next(r for r in fake.requests if r.path == "/google/token")
    assert token_request.form["grant_type"] == "authorization_code"
    assert len(token_request.form["code_verifier"]) >= 43


async def test_google_unverified_email(google: GoogleOAuthProvider, fake: FakeOAuthServer) -> None:
    """``email_verified: false`` comes through as unverified."""
    fake.google.account = FakeAccount("g-8", "g8@example.com", email_verified=False)
    info = await Flow(google).run(fake)
    assert info.email_verified is False


async def test_google_bad_pkce_verifier(google: GoogleOAuthProvider, fake: FakeOAuthServer) -> None:
    """Google refuses a verifier that does not match the challenge: AUTH_OAUTH_FAILED."""
    await failing(Flow(google).run(fake, code_verifier=new_code_verifier()))


@pytest.mark.parametrize("flaw", list(IdTokenFlaw))
async def test_google_code_flow_refuses_every_bad_id_token(
    google: GoogleOAuthProvider, fake: FakeOAuthServer, flaw: IdTokenFlaw
) -> None:
    """In the callback flow a bad ID token is AUTH_OAUTH_FAILED (signature, iss, aud, exp,
    nonce, algorithm...)."""
    fake.google.id_token_flaw = flaw
    await failing(Flow(google).run(fake))


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b"oops"),
        (400, b'{"error": "invalid_grant"}'),
        (200, b'{"access_token": "x"}'),
        (200, b"{not json"),
    ],
)
async def test_google_token_endpoint_errors(
    google: GoogleOAuthProvider, fake: FakeOAuthServer, status: int, body: bytes
) -> None:
    """Provider errors and answers without an ID token: AUTH_OAUTH_FAILED."""
    fake.google.fail("token", status, body)
    await failing(Flow(google).run(fake))


# -- Google ID tokens presented by clients -------------------------------------------------


async def test_id_token_accepted(
    verifier: GoogleIdTokenJwksVerifier, fake: FakeOAuthServer
) -> None:
    """A genuine token passes; with and without a nonce to check."""
    info = await verifier.verify_id_token(fake.google.issue_id_token())
    assert (info.subject, info.email, info.email_verified) == ("g-1", "gina@example.com", True)
    with_nonce = fake.google.issue_id_token(nonce="n-123")
    assert (await verifier.verify_id_token(with_nonce, nonce="n-123")).subject == "g-1"


@pytest.mark.parametrize("flaw", list(IdTokenFlaw))
async def test_id_token_flaws_are_invalid_tokens(
    verifier: GoogleIdTokenJwksVerifier, fake: FakeOAuthServer, flaw: IdTokenFlaw
) -> None:
    """Every flaw is AUTH_GOOGLE_INVALID_TOKEN, never a raw exception."""
    token = fake.google.issue_id_token(nonce="n-1", flaw=flaw)
    await failing(verifier.verify_id_token(token, nonce="n-1"), "AUTH_GOOGLE_INVALID_TOKEN")


@pytest.mark.parametrize(
    "token", ["", "a.b.c", "x" * 100, "eyJhbGciOiJSUzI1NiJ9.e30.", "ünïcode.ä.ö"]
)
async def test_garbage_is_an_invalid_token(verifier: GoogleIdTokenJwksVerifier, token: str) -> None:
    """Whatever the string, the answer is AUTH_GOOGLE_INVALID_TOKEN."""
    await failing(verifier.verify_id_token(token), "AUTH_GOOGLE_INVALID_TOKEN")


async def test_id_token_time_is_judged_with_leeway(
    fake: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """``exp`` and ``iat`` are checked against the verifier's clock with a minute of leeway."""
    from bookshop_core.kernel.clock import SystemClock

    now = SystemClock().now().timestamp()
    verifier = GoogleIdTokenJwksVerifier(fake.google_settings(), client)
    recent = fake.google.issue_id_token(iat=int(now) - 3600, exp=int(now) - 30)
    assert (await verifier.verify_id_token(recent)).subject == "g-1"
    stale = fake.google.issue_id_token(iat=int(now) - 3600, exp=int(now) - 120)
    await failing(verifier.verify_id_token(stale), "AUTH_GOOGLE_INVALID_TOKEN")


async def test_id_token_both_issuer_spellings_and_string_email_verified(
    verifier: GoogleIdTokenJwksVerifier, fake: FakeOAuthServer
) -> None:
    """Google's two issuer spellings are accepted; ``"true"`` counts as verified, ``"false"``
    and a missing claim do not."""
    token = fake.google.issue_id_token(iss="accounts.google.com", email_verified="true")
    assert (await verifier.verify_id_token(token)).email_verified is True
    token = fake.google.issue_id_token(email_verified="false")
    assert (await verifier.verify_id_token(token)).email_verified is False
    token = fake.google.issue_id_token(email_verified=None)
    assert (await verifier.verify_id_token(token)).email_verified is False


async def test_id_token_audiences(fake: FakeOAuthServer, client: httpx.AsyncClient) -> None:
    """Extra audiences are accepted; with several audiences ``azp`` must be ours."""
    settings = fake.google_settings(extra_audiences=("web-client",))
    verifier = GoogleIdTokenJwksVerifier(settings, client)
    web = fake.google.issue_id_token(audience="web-client", azp="web-client")
    assert (await verifier.verify_id_token(web)).subject == "g-1"
    several = fake.google.issue_id_token(audience=["web-client", "other"], azp="web-client")
    assert (await verifier.verify_id_token(several)).subject == "g-1"
    foreign_azp = fake.google.issue_id_token(audience=["web-client", "other"], azp="other")
    await failing(verifier.verify_id_token(foreign_azp), "AUTH_GOOGLE_INVALID_TOKEN")


async def test_jwks_fetched_once_and_cached(
    verifier: GoogleIdTokenJwksVerifier, fake: FakeOAuthServer
) -> None:
    """Keys are cached between verifications, and concurrent misses share one fetch."""
    tokens = [fake.google.issue_id_token() for _ in range(5)]
    await asyncio.gather(*(verifier.verify_id_token(t) for t in tokens))
    await verifier.verify_id_token(tokens[0])
    assert sum(r.path == "/google/oauth2/v3/certs" for r in fake.requests) == 1


async def test_jwks_refetched_when_google_rotates_its_key(
    fake: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """An unknown ``kid`` refetches the JWKS, so a rotated key is picked up at once."""
    settings = fake.google_settings()
    keys = JwksKeyCache(client, settings.jwks_url, refetch_cooldown=timedelta(0))
    verifier = GoogleIdTokenJwksVerifier(settings, client, keys=keys)
    await verifier.verify_id_token(fake.google.issue_id_token())
    fake.google.rotate_key()
    assert (await verifier.verify_id_token(fake.google.issue_id_token())).subject == "g-1"
    assert sum(r.path == "/google/oauth2/v3/certs" for r in fake.requests) == 2


async def test_unknown_kids_cannot_hammer_the_jwks(
    verifier: GoogleIdTokenJwksVerifier, fake: FakeOAuthServer
) -> None:
    """Within the cooldown, tokens with made-up key ids cause no further fetches."""
    await verifier.verify_id_token(fake.google.issue_id_token())
    for _ in range(5):
        token = fake.google.issue_id_token(flaw=IdTokenFlaw.UNKNOWN_KEY)
        await failing(verifier.verify_id_token(token), "AUTH_GOOGLE_INVALID_TOKEN")
    assert sum(r.path == "/google/oauth2/v3/certs" for r in fake.requests) == 1


@pytest.mark.parametrize("body", [b"oops", b'{"keys": "nope"}', b'{"keys": [{"kty": "EC"}]}'])
async def test_broken_jwks_means_invalid_token(
    verifier: GoogleIdTokenJwksVerifier, fake: FakeOAuthServer, body: bytes
) -> None:
    """An unreachable, malformed or unusable JWKS fails verification cleanly."""
    fake.google.fail("jwks", 200 if body != b"oops" else 503, body)
    await failing(
        verifier.verify_id_token(fake.google.issue_id_token()), "AUTH_GOOGLE_INVALID_TOKEN"
    )


# -- settings and assembly -------------------------------------------------------------------


def test_settings_from_env(fake: FakeOAuthServer) -> None:
    """``BOOKSHOP_<PROVIDER>_*`` variables configure each provider; unset means off."""
    settings = OAuthSettings.from_env(fake.environ())
    assert settings.github == fake.github_settings()
    assert settings.google == fake.google_settings()
    assert OAuthSettings.from_env({}) == OAuthSettings()
    assert not OAuthSettings.from_env({}).any_configured
    only_id = {"BOOKSHOP_GITHUB_CLIENT_ID": "id"}
    with pytest.raises(ValueError, match="CLIENT_SECRET"):
        OAuthSettings.from_env(only_id)
    google = OAuthProviderSettings.from_env(
        "google",
        {
            "BOOKSHOP_GOOGLE_CLIENT_ID": "cid",
            "BOOKSHOP_GOOGLE_CLIENT_SECRET": "sec",
            "BOOKSHOP_GOOGLE_EXTRA_AUDIENCES": "web, ios",
            "BOOKSHOP_GOOGLE_REDIRECT_URI": "https://shop.example/auth/google/callback",
            "BOOKSHOP_OAUTH_TIMEOUT": "3.5",
        },
    )
    assert google is not None
    assert google.audiences == ("cid", "web", "ios")
    assert google.issuers == ("https://accounts.google.com", "accounts.google.com")
    assert google.token_url == "https://oauth2.googleapis.com/token"
    assert google.redirect_uri == "https://shop.example/auth/google/callback"
    assert google.timeout == 3.5


def test_client_secret_never_in_repr(fake: FakeOAuthServer) -> None:
    """Settings can be logged without leaking the secret."""
    assert fake.github.client_secret not in repr(fake.settings())


async def test_adapters_own_their_client_only_when_they_made_it(fake: FakeOAuthServer) -> None:
    """from_settings makes and closes a client; a borrowed client stays open."""
    adapters = OAuthAdapters.from_settings(fake.settings())
    assert sorted(adapters.providers) == ["github", "google"]
    assert adapters.google_id_tokens is not None
    assert adapters.http_client is not None
    await adapters.aclose()
    assert adapters.http_client.is_closed
    async with httpx.AsyncClient() as borrowed:
        async with OAuthAdapters.from_settings(fake.settings(), http_client=borrowed):
            pass
        assert not borrowed.is_closed
    empty = OAuthAdapters.from_settings(OAuthSettings())
    assert (empty.providers, empty.google_id_tokens, empty.http_client) == ({}, None, None)
