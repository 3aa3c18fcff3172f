"""Demo accounts for ``bookshop seed-demo``: one admin and one customer to try the shop with.

Passwords are random unless given, and are returned once so the operator can print them: a
seeded database never ships with a well-known admin password. An operator who lost them gets new
ones with :func:`reset_demo_passwords` (``bookshop seed-demo --reset-passwords``).
"""

from __future__ import annotations

import secrets
from typing import Final

from attrs import field, frozen

from bookshop_adapters.bootstrap import Shop
from bookshop_core.errors import Conflict, NotFound
from bookshop_core.identity.commands import normalize_email
from bookshop_core.kernel.principal import Role

__all__ = [
    "DEMO_ADMIN_EMAIL",
    "DEMO_CUSTOMER_EMAIL",
    "DemoCredentials",
    "DemoUsers",
    "create_demo_users",
    "reset_demo_passwords",
]

DEMO_ADMIN_EMAIL: Final = "admin@example.com"
DEMO_CUSTOMER_EMAIL: Final = "customer@example.com"


@frozen
class DemoCredentials:
    """How to sign in as one demo account.

    Attributes:
        email: The account's email.
        password: Its password, or ``None`` when the account existed already and its
            password was left alone (so is not known here).
        role: ``admin`` or ``user``.
        created: Whether this call created the account.
    """

    email: str
    password: str | None = field(repr=False)
    role: Role
    created: bool


@frozen
class DemoUsers:
    """The demo admin and customer."""

    admin: DemoCredentials
    customer: DemoCredentials


def _random_password() -> str:
    return secrets.token_urlsafe(18)  # 144 bits, never on a common-password list


async def _ensure(shop: Shop, email: str, password: str | None, role: Role) -> DemoCredentials:
    email = normalize_email(email)
    chosen = password or _random_password()
    try:
        await shop.identity.create_account(email, chosen, role=role)
    except Conflict as exc:
        if exc.code != "AUTH_EMAIL_CONFLICT":
            raise
        return DemoCredentials(email, None, role, created=False)
    return DemoCredentials(email, chosen, role, created=True)


async def create_demo_users(
    shop: Shop,
    *,
    admin_email: str = DEMO_ADMIN_EMAIL,
    customer_email: str = DEMO_CUSTOMER_EMAIL,
    admin_password: str | None = None,
    customer_password: str | None = None,
) -> DemoUsers:
    """Create the demo admin and customer unless they exist (idempotent).

    Args:
        shop: The shop to seed (its schema must exist).
        admin_email: The demo admin's email.
        customer_email: The demo customer's email.
        admin_password: The admin's password (default: a random one).
        customer_password: The customer's password (default: a random one).

    Returns:
        Both accounts' credentials; a password is ``None`` for an account that already existed.

    Raises:
        ValidationError: a given email or password is refused by the shop's policy.
    """
    admin = await _ensure(shop, admin_email, admin_password, Role.ADMIN)
    customer = await _ensure(shop, customer_email, customer_password, Role.USER)
    return DemoUsers(admin=admin, customer=customer)


async def _reset(shop: Shop, email: str, password: str | None, role: Role) -> DemoCredentials:
    email = normalize_email(email)
    chosen = password or _random_password()
    try:
        await shop.identity.accounts.reset_password(email, chosen)
    except NotFound:
        return await _ensure(shop, email, chosen, role)
    return DemoCredentials(email, chosen, role, created=False)


async def reset_demo_passwords(
    shop: Shop,
    *,
    admin_email: str = DEMO_ADMIN_EMAIL,
    customer_email: str = DEMO_CUSTOMER_EMAIL,
    admin_password: str | None = None,
    customer_password: str | None = None,
) -> DemoUsers:
    """Give the demo admin and customer new passwords (creating either that is missing).

    Each account is signed out everywhere: only the new password opens a session. An account's
    role is left as it is.

    Args:
        shop: The seeded shop.
        admin_email: The demo admin's email.
        customer_email: The demo customer's email.
        admin_password: The admin's new password (default: a random one).
        customer_password: The customer's new password (default: a random one).

    Returns:
        Both accounts' credentials, each with its new password (``created`` says whether the
        account had to be created).

    Raises:
        ValidationError: a given email or password is refused by the shop's policy.
    """
    admin = await _reset(shop, admin_email, admin_password, Role.ADMIN)
    customer = await _reset(shop, customer_email, customer_password, Role.USER)
    return DemoUsers(admin=admin, customer=customer)
