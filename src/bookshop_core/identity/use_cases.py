"""The identity context's use cases, as one facade over three cohesive pieces.

- :class:`~bookshop_core.identity.accounts.Accounts`: opening accounts (registration,
  operators, OAuth sign-in) and the caller's own account;
- :class:`~bookshop_core.identity.sessions.Sessions`: password sign-in, refresh, logout and
  reading access tokens;
- :class:`~bookshop_core.identity.admin.UserAdmin`: admin user management.

``shop.identity`` is an :class:`Identity`; its methods are the pieces' methods (the pieces are
also reachable as ``shop.identity.accounts``, ``.sessions`` and ``.admin``).
"""

from __future__ import annotations

from bookshop_core.identity.accounts import Accounts
from bookshop_core.identity.admin import UserAdmin
from bookshop_core.identity.commands import (
    ChangeDisplayName,
    ChangeRole,
    ListUsers,
    Login,
    Register,
)
from bookshop_core.identity.entities import OAuthUserInfo, TokenPair, UserView
from bookshop_core.identity.ports import IdentityUnitOfWork, PasswordHasher, TokenCodec
from bookshop_core.identity.sessions import Sessions
from bookshop_core.identity.settings import IdentitySettings
from bookshop_core.identity.tokens import TokenIssuer
from bookshop_core.kernel.clock import Clock
from bookshop_core.kernel.pagination import Page
from bookshop_core.kernel.principal import Principal, Role
from bookshop_core.kernel.uow import Transactions

__all__ = ["Identity"]


class Identity:
    """The identity context's use cases (see the module docstring for the pieces).

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now" (token times, lockouts, timestamps).
        hasher: Hashes and verifies passwords (argon2id in production).
        codec: Signs and verifies access tokens (a pinned-algorithm JWT codec).
        settings: Lifetimes, issuer/audience, password policy and login throttling.
    """

    def __init__(
        self,
        transactions: Transactions[IdentityUnitOfWork],
        clock: Clock,
        *,
        hasher: PasswordHasher,
        codec: TokenCodec,
        settings: IdentitySettings | None = None,
    ) -> None:
        self.settings = settings or IdentitySettings()
        tokens = TokenIssuer(codec, self.settings)
        self.accounts = Accounts(
            transactions, clock, hasher=hasher, tokens=tokens, settings=self.settings
        )
        self.sessions = Sessions(
            transactions, clock, hasher=hasher, tokens=tokens, settings=self.settings
        )
        self.admin = UserAdmin(transactions, clock)

    # -- accounts -------------------------------------------------------------------------

    async def register(self, command: Register) -> TokenPair:
        """See :meth:`Accounts.register <bookshop_core.identity.accounts.Accounts.register>`."""
        return await self.accounts.register(command)

    async def create_account(
        self, email: str, password: str, *, role: Role = Role.USER
    ) -> UserView:
        """See :meth:`Accounts.create_account
        <bookshop_core.identity.accounts.Accounts.create_account>`."""
        return await self.accounts.create_account(email, password, role=role)

    async def create_admin(self, email: str, password: str) -> UserView:
        """See :meth:`Accounts.create_admin
        <bookshop_core.identity.accounts.Accounts.create_admin>`."""
        return await self.accounts.create_admin(email, password)

    async def me(self, principal: Principal) -> UserView:
        """See :meth:`Accounts.me <bookshop_core.identity.accounts.Accounts.me>`."""
        return await self.accounts.me(principal)

    async def set_display_name(self, principal: Principal, command: ChangeDisplayName) -> UserView:
        """See :meth:`Accounts.set_display_name
        <bookshop_core.identity.accounts.Accounts.set_display_name>`."""
        return await self.accounts.set_display_name(principal, command)

    async def sign_in_external(self, info: OAuthUserInfo) -> TokenPair:
        """See :meth:`Accounts.sign_in_external
        <bookshop_core.identity.accounts.Accounts.sign_in_external>`."""
        return await self.accounts.sign_in_external(info)

    # -- sessions and tokens --------------------------------------------------------------

    async def login(self, command: Login) -> TokenPair:
        """See :meth:`Sessions.login <bookshop_core.identity.sessions.Sessions.login>`."""
        return await self.sessions.login(command)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """See :meth:`Sessions.refresh <bookshop_core.identity.sessions.Sessions.refresh>`."""
        return await self.sessions.refresh(refresh_token)

    async def logout(self, refresh_token: str) -> None:
        """See :meth:`Sessions.logout <bookshop_core.identity.sessions.Sessions.logout>`."""
        await self.sessions.logout(refresh_token)

    async def logout_all(self, principal: Principal) -> None:
        """See :meth:`Sessions.logout_all
        <bookshop_core.identity.sessions.Sessions.logout_all>`."""
        await self.sessions.logout_all(principal)

    async def authenticate(self, access_token: str) -> Principal:
        """See :meth:`Sessions.authenticate
        <bookshop_core.identity.sessions.Sessions.authenticate>`."""
        return await self.sessions.authenticate(access_token)

    async def purge_expired(self) -> int:
        """See :meth:`Sessions.purge_expired
        <bookshop_core.identity.sessions.Sessions.purge_expired>`."""
        return await self.sessions.purge_expired()

    # -- administration -------------------------------------------------------------------

    async def list_users(
        self, principal: Principal, query: ListUsers | None = None
    ) -> Page[UserView]:
        """See :meth:`UserAdmin.list_users <bookshop_core.identity.admin.UserAdmin.list_users>`."""
        return await self.admin.list_users(principal, query)

    async def get_user(self, principal: Principal, user_id: int) -> UserView:
        """See :meth:`UserAdmin.get_user <bookshop_core.identity.admin.UserAdmin.get_user>`."""
        return await self.admin.get_user(principal, user_id)

    async def deactivate(self, principal: Principal, user_id: int) -> UserView:
        """See :meth:`UserAdmin.deactivate <bookshop_core.identity.admin.UserAdmin.deactivate>`."""
        return await self.admin.deactivate(principal, user_id)

    async def reactivate(self, principal: Principal, user_id: int) -> UserView:
        """See :meth:`UserAdmin.reactivate <bookshop_core.identity.admin.UserAdmin.reactivate>`."""
        return await self.admin.reactivate(principal, user_id)

    async def change_role(
        self, principal: Principal, user_id: int, command: ChangeRole
    ) -> UserView:
        """See :meth:`UserAdmin.change_role
        <bookshop_core.identity.admin.UserAdmin.change_role>`."""
        return await self.admin.change_role(principal, user_id, command)
