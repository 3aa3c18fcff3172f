"""User administration: admins list, inspect, deactivate, reactivate and re-role accounts.

The rules about whom may be changed live on :class:`~bookshop_core.identity.User`
(``check_can_deactivate``, ``check_role_change``); this module takes the locks they need.
"""

from __future__ import annotations

import logging

from bookshop_core.identity.commands import ChangeRole, ListUsers
from bookshop_core.identity.entities import (
    RevokeReason,
    User,
    UserDeactivated,
    UserQuery,
    UserReactivated,
    UserRoleChanged,
    UserView,
)
from bookshop_core.identity.errors import UserNotFound
from bookshop_core.identity.ports import IdentityUnitOfWork
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.pagination import Page
from bookshop_core.kernel.principal import Principal, require_admin
from bookshop_core.kernel.uow import Transaction, Transactions

__all__ = ["UserAdmin"]

log = logging.getLogger("bookshop.identity")


def _user_not_found(user_id: int) -> UserNotFound:
    return UserNotFound(f"User {user_id} not found")


class UserAdmin:
    """Admin user management; every method requires an admin ``Principal``
    (``AUTH_FORBIDDEN`` otherwise).

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now" for timestamps.
    """

    def __init__(self, transactions: Transactions[IdentityUnitOfWork], clock: Clock) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)

    async def list_users(
        self, principal: Principal, query: ListUsers | None = None
    ) -> Page[UserView]:
        """One page of accounts, newest first, filtered by role, active flag and email text.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN`` for non-admins.
        """
        require_admin(principal)
        query = query or ListUsers()
        repo_query = UserQuery(role=query.role, is_active=query.is_active, email_contains=query.q)
        async with self._tx.read() as uow:
            page = await uow.users.list(repo_query, query.page_request)
        return page.map(UserView.of)

    async def get_user(self, principal: Principal, user_id: int) -> UserView:
        """One account, for admins.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``USER_NOT_FOUND``.
        """
        require_admin(principal)
        check_id(user_id, "user_id")
        async with self._tx.read() as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise _user_not_found(user_id)
        return UserView.of(user)

    async def deactivate(self, principal: Principal, user_id: int) -> UserView:
        """Deactivate an account: every refresh family revoked and every access token issued
        before refused at once. Idempotent.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN`` for non-admins; ``ADMN_CANNOT_DEACTIVATE_ADMIN``
                for an admin account (demote it first).
            NotFound: ``USER_NOT_FOUND``.
        """
        require_admin(principal)
        check_id(user_id, "user_id")
        now = self._clock.now()
        async with self._tx.write() as tx:
            user = await _locked_user(tx, user_id)
            user.check_can_deactivate()
            if user.is_active:
                await tx.uow.users.set_active(user_id, False, now=now)
                await tx.uow.users.bump_token_version(user_id)
                tx.record(UserDeactivated(user_id, principal.user_id))
            # Always: revoking is idempotent, and it sweeps up any family opened in a race.
            await tx.uow.refresh_tokens.revoke_all(
                user_id, now=now, reason=RevokeReason.DEACTIVATED
            )
            user = await _locked_user(tx, user_id)
            await tx.commit()
        log.info("user %d deactivated by %d", user_id, principal.user_id)
        return UserView.of(user)

    async def reactivate(self, principal: Principal, user_id: int) -> UserView:
        """Reactivate an account. Tokens issued before the deactivation stay dead: the user
        signs in again. Idempotent.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``USER_NOT_FOUND``.
        """
        require_admin(principal)
        check_id(user_id, "user_id")
        now = self._clock.now()
        async with self._tx.write() as tx:
            user = await _locked_user(tx, user_id)
            if not user.is_active:
                await tx.uow.users.set_active(user_id, True, now=now)
                tx.record(UserReactivated(user_id, principal.user_id))
                user = await _locked_user(tx, user_id)
            await tx.commit()
        return UserView.of(user)

    async def change_role(
        self, principal: Principal, user_id: int, command: ChangeRole
    ) -> UserView:
        """Give an account another role. Nobody demotes themselves, and the last admin is
        never demoted (checked under a lock on every admin account, so two admins demoting
        each other at once cannot both succeed).

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``USER_NOT_FOUND``.
            Conflict: ``ADMN_LAST_ADMIN`` (yourself, or the last admin);
                ``ADMN_USER_INACTIVE`` when promoting a deactivated account.
        """
        require_admin(principal)
        check_id(user_id, "user_id")
        now = self._clock.now()
        async with self._tx.write() as tx:
            admins = await tx.uow.users.lock_admins()  # admins first, in id order
            user = await _locked_user(tx, user_id)
            if user.role is not command.role:
                user.check_role_change(
                    command.role, by_user_id=principal.user_id, admins=len(admins)
                )
                await tx.uow.users.set_role(user_id, command.role, now=now)
                tx.record(UserRoleChanged(user_id, command.role, principal.user_id))
                user = await _locked_user(tx, user_id)
            await tx.commit()
        return UserView.of(user)


async def _locked_user(tx: Transaction[IdentityUnitOfWork], user_id: int) -> User:
    user = await tx.uow.users.lock(user_id)
    if user is None:
        raise _user_not_found(user_id)
    return user
