"""Identity helpers for test suites: a fast shop, accounts in one line.

Tests hash many passwords; :func:`open_test_shop` builds a shop whose argon2id hasher uses
trivially weak parameters (:meth:`Argon2PasswordHasher.insecure_fast`) and whose HS256 secret is
:data:`~bookshop_adapters.testing.tokens.TEST_JWT_SECRET`, so tests stay fast and can forge
tokens with :mod:`bookshop_adapters.testing.tokens`. Never use either outside tests.
"""

from __future__ import annotations

from typing import Any, Final

from bookshop_adapters.argon2 import Argon2PasswordHasher
from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_adapters.jwt import PyJwtTokenCodec
from bookshop_adapters.testing.tokens import TEST_JWT_SECRET
from bookshop_core.identity.commands import Login, Register
from bookshop_core.identity.entities import TokenPair
from bookshop_core.kernel.principal import Principal, Role

__all__ = [
    "TEST_PASSWORD",
    "fast_password_hasher",
    "fixed_token_codec",
    "open_test_shop",
    "sign_up",
]

#: A password every default policy accepts.
TEST_PASSWORD: Final = "correct horse battery staple"


def fast_password_hasher() -> Argon2PasswordHasher:
    """argon2id with test-only parameters (fast, insecure)."""
    return Argon2PasswordHasher.insecure_fast()


def fixed_token_codec() -> PyJwtTokenCodec:
    """HS256 with :data:`TEST_JWT_SECRET`."""
    return PyJwtTokenCodec(TEST_JWT_SECRET)


def open_test_shop(url: str, **overrides: Any) -> Any:
    """``build_shop(url, ...)`` with the fast hasher and the test secret (overridable).

    Returns:
        What :func:`~bookshop_adapters.build_shop` returns: await it or ``async with`` it.
    """
    overrides.setdefault("password_hasher", fast_password_hasher())
    overrides.setdefault("token_codec", fixed_token_codec())
    return build_shop(url, **overrides)


async def sign_up(
    shop: Shop, email: str, *, password: str = TEST_PASSWORD, role: Role = Role.USER
) -> tuple[Principal, TokenPair]:
    """Create an account with ``role`` and sign it in.

    Returns:
        The account's principal and a fresh token pair.
    """
    if role is Role.USER:
        pair = await shop.identity.register(Register(email=email, password=password))
    else:
        await shop.identity.create_account(email, password, role=role)
        pair = await shop.identity.login(Login(email=email, password=password))
    principal = await shop.identity.authenticate(pair.access_token)
    return principal, pair
