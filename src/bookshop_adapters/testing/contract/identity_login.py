"""Identity contract, sign-in edges: concurrent correct sign-ins, input no store can hold,
token ids beyond any id column, and how password-policy refusals are shaped.

The fixtures come from ``bookshop_adapters.testing.pytest_plugin``: ``shop`` (fast test
hasher, test JWT secret) and ``clock``.
"""

from __future__ import annotations

import asyncio

import jwt
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.identity import TEST_PASSWORD, sign_up
from bookshop_adapters.testing.tokens import TEST_JWT_SECRET, TokenContext, forge_access_token
from bookshop_core.errors import AuthenticationError, RateLimited, ValidationError
from bookshop_core.identity import Login, Register, TokenPair
from bookshop_core.kernel.clock import ManualClock

__all__ = ["IdentityLoginContract"]

#: Text no store can hold or no email can contain: a lone surrogate (JSON's "\ud800"), NUL
#: (PostgreSQL refuses it in text), other control characters.
UNSTORABLE_EMAILS = [
    pytest.param("\ud800@example.com", id="lone-surrogate"),
    pytest.param("a\udfff@example.com", id="lone-low-surrogate"),
    pytest.param("nul\x00@example.com", id="nul"),
    pytest.param("bell\x07@example.com", id="control"),
]


def _session_of(pair: TokenPair) -> int:
    sid = jwt.decode(pair.access_token, options={"verify_signature": False})["sid"]
    assert isinstance(sid, int)
    return sid


@pytest.mark.asyncio
class IdentityLoginContract:
    """Sign-in edges: concurrency, unstorable input, out-of-range token ids, policy shape."""

    # -- only failures count ------------------------------------------------------------------

    async def test_concurrent_correct_logins_all_succeed(self, shop: Shop) -> None:
        """Ten simultaneous sign-ins with the right password each open a session: successes
        are never charged against the lock."""
        principal, _ = await sign_up(shop, "busy@example.com")
        right = Login(email="busy@example.com", password=TEST_PASSWORD)
        pairs = await asyncio.gather(*(shop.identity.login(right) for _ in range(10)))
        assert len({pair.refresh_token for pair in pairs}) == 10
        for pair in pairs:
            assert await shop.identity.authenticate(pair.access_token) == principal

    async def test_failures_still_lock_after_concurrent_successes(self, shop: Shop) -> None:
        """Successes count for nothing, failures still do: five wrong passwords after a burst
        of right ones lock sign-in, for the right password too."""
        await sign_up(shop, "mixed@example.com")
        right = Login(email="mixed@example.com", password=TEST_PASSWORD)
        wrong = Login(email="mixed@example.com", password="not the password")
        await asyncio.gather(*(shop.identity.login(right) for _ in range(10)))
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                await shop.identity.login(wrong)
        with pytest.raises(RateLimited) as locked:
            await shop.identity.login(right)
        assert locked.value.code == "AUTH_TOO_MANY_ATTEMPTS"

    # -- input no store can hold ------------------------------------------------------------------

    @pytest.mark.parametrize("email", UNSTORABLE_EMAILS)
    async def test_login_refuses_an_unstorable_email(self, shop: Shop, email: str) -> None:
        """A sign-in email with a lone surrogate or a control character is VALIDATION_ERROR
        on email, before any adapter sees it."""
        with pytest.raises(ValidationError) as caught:
            await shop.identity.login(Login(email=email, password=TEST_PASSWORD))
        assert caught.value.field == "email"

    @pytest.mark.parametrize("email", UNSTORABLE_EMAILS)
    async def test_register_refuses_an_unstorable_email(self, shop: Shop, email: str) -> None:
        """Registration refuses the same emails as VALIDATION_ERROR on email."""
        with pytest.raises(ValidationError) as caught:
            await shop.identity.register(Register(email=email, password=TEST_PASSWORD))
        assert caught.value.field == "email"

    async def test_a_password_with_a_lone_surrogate_is_just_wrong(self, shop: Shop) -> None:
        """A sign-in password that is not valid Unicode is wrong credentials, not a crash."""
        await sign_up(shop, "surrogate@example.com")
        with pytest.raises(AuthenticationError) as caught:
            await shop.identity.login(Login(email="surrogate@example.com", password="pw\ud800xyz"))
        assert caught.value.code == "AUTH_INVALID_CREDENTIALS"

    # -- token ids ------------------------------------------------------------------------------

    @pytest.mark.parametrize("subject", [str(2**63), str(2**63 - 1), "9" * 19])
    async def test_a_signed_token_naming_an_id_beyond_the_store_is_invalid(
        self, shop: Shop, clock: ManualClock, subject: str
    ) -> None:
        """A well-signed token whose ``sub`` no account can have (up to and past 2**63) is
        AUTH_TOKEN_INVALID."""
        _, pair = await sign_up(shop, "ids@example.com")
        context = TokenContext(
            TEST_JWT_SECRET, user_id=1, session_id=_session_of(pair), now=clock.now()
        )
        with pytest.raises(AuthenticationError) as caught:
            await shop.identity.authenticate(forge_access_token(context, sub=subject))
        assert caught.value.code == "AUTH_TOKEN_INVALID"

    async def test_a_signed_token_naming_a_session_beyond_the_store_is_invalid(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A well-signed token whose ``sid`` is past 2**63 is AUTH_TOKEN_INVALID."""
        principal, _ = await sign_up(shop, "sid@example.com")
        context = TokenContext(
            TEST_JWT_SECRET, user_id=principal.user_id, session_id=2**63, now=clock.now()
        )
        with pytest.raises(AuthenticationError) as caught:
            await shop.identity.authenticate(forge_access_token(context))
        assert caught.value.code == "AUTH_TOKEN_INVALID"

    # -- the shape of a policy refusal --------------------------------------------------------

    @pytest.mark.parametrize(
        ("password", "why"),
        [
            ("password123", "too common"),
            ("abababababab", "too repetitive"),
            ("policy-owner-2024", "email"),
        ],
    )
    async def test_password_policy_refusals_are_rule_refusals(
        self, shop: Shop, password: str, why: str
    ) -> None:
        """Common, repetitive or email-made passwords are VALIDATION_ERROR refused by a rule
        (the flat wire form) on field password, with one sentence saying why."""
        with pytest.raises(ValidationError) as caught:
            await shop.identity.register(
                Register(email="policy-owner@example.com", password=password)
            )
        error = caught.value
        assert (error.code, error.field, error.rule) == ("VALIDATION_ERROR", "password", True)
        assert error.message.startswith("Password ")
        assert why in error.message
        assert error.to_dict() == {
            "detail": error.message,
            "code": "VALIDATION_ERROR",
            "field": "password",
        }
