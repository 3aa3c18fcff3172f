"""Identity contract, tokens: the bad-token corpus, refresh rotation, reuse detection,
concurrent refreshes, logout and "log out everywhere".

The fixtures come from ``bookshop_adapters.testing.pytest_plugin``: ``shop`` (fast test
hasher, test JWT secret), ``make_shop`` (more shops on the same store, with other settings),
``clock``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import jwt
import pytest

from bookshop_adapters import Shop
from bookshop_adapters.bootstrap import ShopSettings
from bookshop_adapters.testing.identity import TEST_PASSWORD, sign_up
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_adapters.testing.tokens import (
    TEST_JWT_SECRET,
    TokenContext,
    bad_access_tokens,
    forge_access_token,
)
from bookshop_core import AuthenticationError, ManualClock, ValidationError
from bookshop_core.identity import IdentitySettings, Login, TokenPair

__all__ = ["IdentityTokenContract"]


async def refresh_code(shop: Shop, token: object) -> str:
    with pytest.raises(AuthenticationError) as caught:
        await shop.identity.refresh(token)  # type: ignore[arg-type]
    return caught.value.code


async def access_code(shop: Shop, token: object) -> str:
    with pytest.raises((AuthenticationError,)) as caught:
        await shop.identity.authenticate(token)  # type: ignore[arg-type]
    return caught.value.code


def session_of(pair: TokenPair) -> int:
    sid = jwt.decode(pair.access_token, options={"verify_signature": False})["sid"]
    assert isinstance(sid, int)
    return sid


class IdentityTokenContract:
    """Tokens: the bad-token corpus, refresh rotation and reuse, concurrent refreshes, logout."""

    # -- access tokens ------------------------------------------------------------------------

    async def test_access_tokens_carry_sub_and_role_for_web_clients(self, shop: Shop) -> None:
        """sub is the user id as a string, role the account's role; 15 minutes by default."""
        principal, pair = await sign_up(shop, "web@example.com")
        claims = jwt.decode(pair.access_token, options={"verify_signature": False})
        assert claims["sub"] == str(principal.user_id)
        assert claims["role"] == "user"
        assert claims["exp"] - claims["iat"] == 15 * 60
        assert {"iss", "aud", "jti", "typ"} <= claims.keys()

    async def test_every_bad_token_of_the_corpus_is_refused(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Over forty forged, mangled or expired tokens for a real account and live session:
        each fails with AUTH_TOKEN_INVALID or AUTH_TOKEN_EXPIRED through authenticate."""
        principal, pair = await sign_up(shop, "target@example.com")
        context = TokenContext(
            TEST_JWT_SECRET, user_id=principal.user_id, session_id=session_of(pair), now=clock.now()
        )
        assert await shop.identity.authenticate(forge_access_token(context)) == principal
        corpus = bad_access_tokens(context)
        assert len(corpus) >= 30
        wrong = {
            bad.name: code
            for bad in corpus
            if (code := await access_code(shop, bad.token)) != bad.code
        }
        assert wrong == {}

    async def test_a_refresh_token_is_not_an_access_token(self, shop: Shop) -> None:
        """Presenting the refresh token as a bearer token is AUTH_TOKEN_INVALID."""
        _, pair = await sign_up(shop, "mix@example.com")
        assert await access_code(shop, pair.refresh_token) == "AUTH_TOKEN_INVALID"

    async def test_access_tokens_expire_after_their_lifetime(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Valid for 15 minutes by the shop's clock, then AUTH_TOKEN_EXPIRED."""
        principal, pair = await sign_up(shop, "late@example.com")
        clock.advance(minutes=14, seconds=59)
        assert await shop.identity.authenticate(pair.access_token) == principal
        clock.advance(minutes=1)
        assert await access_code(shop, pair.access_token) == "AUTH_TOKEN_EXPIRED"

    async def test_tokens_for_a_vanished_account_or_session_are_invalid(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Well-signed tokens naming an unknown user or someone else's session are refused."""
        alice, alice_pair = await sign_up(shop, "alice@example.com")
        bob, _ = await sign_up(shop, "bob@example.com")
        now = clock.now()
        ghost = TokenContext(
            TEST_JWT_SECRET, user_id=999_999, session_id=session_of(alice_pair), now=now
        )
        assert await access_code(shop, forge_access_token(ghost)) == "AUTH_TOKEN_INVALID"
        stolen = TokenContext(
            TEST_JWT_SECRET, user_id=bob.user_id, session_id=session_of(alice_pair), now=now
        )
        assert await access_code(shop, forge_access_token(stolen)) == "AUTH_TOKEN_INVALID"
        no_session = TokenContext(TEST_JWT_SECRET, user_id=alice.user_id, session_id=10**9, now=now)
        assert await access_code(shop, forge_access_token(no_session)) == "AUTH_TOKEN_INVALID"

    async def test_authorization_reads_the_role_from_the_account(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A validly signed token claiming role admin still yields the account's user role."""
        principal, pair = await sign_up(shop, "climber@example.com")
        context = TokenContext(
            TEST_JWT_SECRET,
            user_id=principal.user_id,
            session_id=session_of(pair),
            now=clock.now(),
            role="admin",
        )
        assert not (await shop.identity.authenticate(forge_access_token(context))).is_admin

    async def test_a_token_signed_by_another_shop_is_invalid(
        self, shop: Shop, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Shops with different secrets (or issuers) do not accept each other's tokens."""
        _, pair = await sign_up(shop, "visitor@example.com")
        settings = ShopSettings(identity=IdentitySettings(issuer="another-shop"))
        from bookshop_adapters.jwt import PyJwtTokenCodec

        async with make_shop(clock=clock, token_codec=PyJwtTokenCodec(b"q" * 32)) as other:
            assert await access_code(other, pair.access_token) == "AUTH_TOKEN_INVALID"
        async with make_shop(clock=clock, settings=settings) as other:
            assert await access_code(other, pair.access_token) == "AUTH_TOKEN_INVALID"

    # -- refresh ------------------------------------------------------------------------------

    async def test_refresh_rotates_within_the_family(self, shop: Shop) -> None:
        """A refresh spends the token and returns a new pair in the same session."""
        principal, first = await sign_up(shop, "rot@example.com")
        second = await shop.identity.refresh(first.refresh_token)
        third = await shop.identity.refresh(second.refresh_token)
        assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
        assert session_of(first) == session_of(second) == session_of(third)
        assert await shop.identity.authenticate(third.access_token) == principal

    async def test_refresh_tokens_have_256_bits_and_are_stored_hashed(self, shop: Shop) -> None:
        """43 URL-safe characters of randomness; the store keeps only its SHA-256."""
        import hashlib

        _, pair = await sign_up(shop, "bits@example.com")
        assert len(pair.refresh_token) >= 43
        async with shop.unit_of_work(read_only=True) as uow:
            assert await uow.refresh_tokens.find(pair.refresh_token) is None
            digest = hashlib.sha256(pair.refresh_token.encode()).hexdigest()
            stored = await uow.refresh_tokens.find(digest)
        assert stored is not None
        assert pair.refresh_token not in repr(stored)

    async def test_reusing_a_spent_token_revokes_the_whole_family(self, shop: Shop) -> None:
        """The spent token fails with AUTH_TOKEN_REUSE; the family's newest refresh token and its
        access tokens die with it; other sessions of the user live on."""
        principal, first = await sign_up(shop, "victim@example.com")
        other = await shop.identity.login(Login(email="victim@example.com", password=TEST_PASSWORD))
        second = await shop.identity.refresh(first.refresh_token)
        assert await refresh_code(shop, first.refresh_token) == "AUTH_TOKEN_REUSE"
        assert await refresh_code(shop, second.refresh_token) == "AUTH_REFRESH_INVALID"
        assert await access_code(shop, second.access_token) == "AUTH_TOKEN_INVALID"
        assert await refresh_code(shop, first.refresh_token) == "AUTH_TOKEN_REUSE"
        assert await shop.identity.authenticate(other.access_token) == principal
        await shop.identity.refresh(other.refresh_token)

    async def test_the_reuse_revocation_is_committed(
        self, shop: Shop, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Another shop on the same store sees the family revoked: the revocation was committed
        even though the call that made it failed."""
        _, first = await sign_up(shop, "durable@example.com")
        second = await shop.identity.refresh(first.refresh_token)
        assert await refresh_code(shop, first.refresh_token) == "AUTH_TOKEN_REUSE"
        async with make_shop(clock=clock) as other:
            assert await refresh_code(other, second.refresh_token) == "AUTH_REFRESH_INVALID"

    async def test_fifty_concurrent_refreshes_of_one_token_succeed_once(self, shop: Shop) -> None:
        """Exactly one of 50 simultaneous refreshes with one token wins; the others are reuse."""
        _, pair = await sign_up(shop, "race@example.com")
        results = await asyncio.gather(
            *(shop.identity.refresh(pair.refresh_token) for _ in range(50)), return_exceptions=True
        )
        wins = [r for r in results if isinstance(r, TokenPair)]
        codes = {
            getattr(r, "code", type(r).__name__) for r in results if not isinstance(r, TokenPair)
        }
        assert len(wins) == 1
        assert codes == {"AUTH_TOKEN_REUSE"}

    async def test_unknown_and_malformed_refresh_tokens(self, shop: Shop) -> None:
        """Anything that is not a live refresh token is AUTH_REFRESH_INVALID, never a crash."""
        await sign_up(shop, "junk@example.com")
        for junk in ["", "x", "a" * 43, "a" * 10_000, "\x00", "é" * 50, None, 42, b"bytes"]:
            assert await refresh_code(shop, junk) == "AUTH_REFRESH_INVALID"

    async def test_refresh_tokens_expire(self, make_shop: MakeShop, clock: ManualClock) -> None:
        """Past refresh_ttl a refresh token is AUTH_REFRESH_INVALID."""
        settings = ShopSettings(identity=IdentitySettings(refresh_ttl=timedelta(days=1)))
        async with make_shop(clock=clock, settings=settings) as shop:
            _, pair = await sign_up(shop, "old@example.com")
            clock.advance(days=1, seconds=1)
            assert await refresh_code(shop, pair.refresh_token) == "AUTH_REFRESH_INVALID"

    async def test_a_session_ends_at_its_maximum_age(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Refreshing daily cannot keep a session alive past session_max_age."""
        identity = IdentitySettings(
            refresh_ttl=timedelta(days=2), session_max_age=timedelta(days=3)
        )
        async with make_shop(clock=clock, settings=ShopSettings(identity=identity)) as shop:
            _, pair = await sign_up(shop, "aging@example.com")
            for _ in range(2):
                clock.advance(days=1)
                pair = await shop.identity.refresh(pair.refresh_token)
            clock.advance(days=1, seconds=1)
            assert await refresh_code(shop, pair.refresh_token) == "AUTH_REFRESH_INVALID"

    async def test_purge_deletes_expired_refresh_tokens(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Housekeeping removes expired tokens; live ones keep working."""
        _, old = await sign_up(shop, "purge@example.com")
        clock.advance(days=31)
        fresh = await shop.identity.login(Login(email="purge@example.com", password=TEST_PASSWORD))
        assert await shop.identity.purge_expired() == 1
        assert await refresh_code(shop, old.refresh_token) == "AUTH_REFRESH_INVALID"
        await shop.identity.refresh(fresh.refresh_token)

    # -- logout -------------------------------------------------------------------------------

    async def test_logout_revokes_the_family_and_its_access_tokens(self, shop: Shop) -> None:
        """After logout the session's refresh and access tokens fail; logout is idempotent."""
        principal, pair = await sign_up(shop, "bye@example.com")
        other = await shop.identity.login(Login(email="bye@example.com", password=TEST_PASSWORD))
        await shop.identity.logout(pair.refresh_token)
        await shop.identity.logout(pair.refresh_token)
        await shop.identity.logout("not a token at all")
        assert await refresh_code(shop, pair.refresh_token) == "AUTH_REFRESH_INVALID"
        assert await access_code(shop, pair.access_token) == "AUTH_TOKEN_INVALID"
        assert await shop.identity.authenticate(other.access_token) == principal

    async def test_logout_refuses_a_non_string(self, shop: Shop) -> None:
        """A malformed body is a validation error (422), not a crash."""
        with pytest.raises(ValidationError):
            await shop.identity.logout(None)  # type: ignore[arg-type]

    async def test_logout_all_revokes_every_session_of_the_caller_only(self, shop: Shop) -> None:
        """Every family and access token of the caller dies; other users are untouched; the
        caller can sign in again."""
        me, first = await sign_up(shop, "all@example.com")
        second = await shop.identity.login(Login(email="all@example.com", password=TEST_PASSWORD))
        neighbour, theirs = await sign_up(shop, "neighbour@example.com")
        await shop.identity.logout_all(me)
        for pair in (first, second):
            assert await refresh_code(shop, pair.refresh_token) == "AUTH_REFRESH_INVALID"
            assert await access_code(shop, pair.access_token) == "AUTH_TOKEN_INVALID"
        assert await shop.identity.authenticate(theirs.access_token) == neighbour
        await shop.identity.refresh(theirs.refresh_token)
        again = await shop.identity.login(Login(email="all@example.com", password=TEST_PASSWORD))
        assert await shop.identity.authenticate(again.access_token) == me
