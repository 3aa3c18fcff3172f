"""Accounts: how an account comes to exist (registration, operators, a provider's word) and
what its owner sees of it.

Every account is opened through one path, :meth:`Accounts._open` for passwords and
:func:`open_account` underneath it for every kind: the email's uniqueness is the store's
(a unique index), and :class:`~bookshop_core.identity.UserRegistered` is recorded once.
"""

from __future__ import annotations

import logging

import attrs

from bookshop_core.errors import Conflict, ValidationError
from bookshop_core.identity.commands import ChangeDisplayName, Register, normalize_email
from bookshop_core.identity.entities import (
    ExternalIdentityLinked,
    NewExternalIdentity,
    NewUser,
    OAuthUserInfo,
    RevokeReason,
    TokenPair,
    User,
    UserRegistered,
    UserView,
)
from bookshop_core.identity.errors import (
    EmailConflict,
    OAuthAlreadyLinked,
    OAuthEmailUnverified,
    OAuthFailed,
    OAuthNoEmail,
    UserInactive,
    UserNotFound,
)
from bookshop_core.identity.ports import IdentityUnitOfWork, PasswordHasher
from bookshop_core.identity.settings import IdentitySettings
from bookshop_core.identity.tokens import TokenIssuer
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.principal import Principal, Role
from bookshop_core.kernel.uow import Transaction, Transactions
from bookshop_core.kernel.validation import has_lone_surrogates

__all__ = ["Accounts", "open_account"]

log = logging.getLogger("bookshop.identity")

_PROVIDER_MAX = 64
_SUBJECT_MAX = 255
_NAME_MAX = 255


async def open_account(tx: Transaction[IdentityUnitOfWork], new: NewUser) -> User:
    """Store a new account in ``tx`` and record that it exists (not committed).

    Raises:
        Conflict: ``AUTH_EMAIL_CONFLICT`` when the email is taken, even by a concurrent
            transaction (the store's unique index decides).
    """
    user = await tx.uow.users.add(new)
    tx.record(UserRegistered(user.id, user.email))
    return user


class Accounts:
    """Opening accounts, and the caller's own account.

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now".
        hasher: Hashes new passwords.
        tokens: Opens the session of an account that is signed in at once.
        settings: The password policy.
    """

    def __init__(
        self,
        transactions: Transactions[IdentityUnitOfWork],
        clock: Clock,
        *,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        settings: IdentitySettings,
    ) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)
        self._hasher = hasher
        self._tokens = tokens
        self._settings = settings

    async def register(self, command: Register) -> TokenPair:
        """Open a plain user account and sign it in.

        Raises:
            ValidationError: the password breaks the shop's password policy (field
                ``password``, the flat form: a domain rule refused a well-formed value).
            Conflict: ``AUTH_EMAIL_CONFLICT`` (field ``email``) when the email is taken,
                case-insensitively, even by a concurrent registration.
        """
        _, pair = await self._open(command, Role.USER, sign_in=True)
        assert pair is not None
        return pair

    async def create_account(
        self, email: str, password: str, *, role: Role = Role.USER
    ) -> UserView:
        """Create an account without signing it in, for operator tooling (seeding, imports).
        No principal: only trusted code that controls the store calls this.

        Args:
            email: The account's email (normalised here).
            password: Its password (the shop's policy applies).
            role: Its role.

        Raises:
            ValidationError: a bad email or a password that breaks the policy.
            Conflict: ``AUTH_EMAIL_CONFLICT`` when the email is taken.
        """
        role = Role(role)
        user, _ = await self._open(Register(email=email, password=password), role, sign_in=False)
        log.info("%s account %d created by an operator", role.value, user.id)
        return UserView.of(user)

    async def create_admin(self, email: str, password: str) -> UserView:
        """Create an admin account: how an operator makes the first admin
        (``bookshop create-admin``). No principal: whoever can run this controls the store.

        Raises:
            ValidationError: a bad email or a password that breaks the policy.
            Conflict: ``AUTH_EMAIL_CONFLICT`` when the email is taken.
        """
        return await self.create_account(email, password, role=Role.ADMIN)

    async def reset_password(self, email: str, password: str) -> UserView:
        """Give an account a new password and sign it out everywhere, for operator tooling
        (``bookshop seed-demo --reset-passwords``). No principal: only trusted code that
        controls the store calls this.

        Every outstanding access token dies (the token version is bumped) and every refresh
        family is revoked, so only the new password opens a session.

        Raises:
            ValidationError: a bad email or a password that breaks the policy.
            NotFound: ``USER_NOT_FOUND`` when no account has this email.
        """
        command = Register(email=email, password=password)
        self._check_policy(command)
        password_hash = await self._hasher.hash(command.password)
        now = self._clock.now()
        async with self._tx.write() as tx:
            user = await tx.uow.users.get_by_email(command.email)
            if user is None:
                raise UserNotFound(f"No account has the email {command.email}", field="email")
            await tx.uow.users.set_password_hash(
                user.id, password_hash, expected=user.password_hash, now=now
            )
            await tx.uow.users.bump_token_version(user.id)
            await tx.uow.refresh_tokens.revoke_all(user.id, now=now, reason=RevokeReason.LOGOUT_ALL)
            await tx.commit()
        log.info("password of account %d reset by an operator", user.id)
        return UserView.of(user)

    async def me(self, principal: Principal) -> UserView:
        """The caller's own account.

        Raises:
            NotFound: ``USER_NOT_FOUND`` when the principal names no account.
        """
        async with self._tx.read() as uow:
            user = await uow.users.get(principal.user_id) if principal.user_id > 0 else None
        if user is None:
            raise UserNotFound(f"User {principal.user_id} not found")
        return UserView.of(user)

    async def set_display_name(self, principal: Principal, command: ChangeDisplayName) -> UserView:
        """Set the caller's display name, the name others see on their reviews (``None``
        goes back to ``"Reader #<id>"``).

        Raises:
            NotFound: ``USER_NOT_FOUND`` when the principal names no account.
        """
        async with self._tx.write() as tx:
            user = await tx.uow.users.lock(principal.user_id) if principal.user_id > 0 else None
            if user is None:
                raise UserNotFound(f"User {principal.user_id} not found")
            now = self._clock.now()
            await tx.uow.users.set_display_name(user.id, command.display_name, now=now)
            await tx.commit()
        return UserView.of(attrs.evolve(user, display_name=command.display_name, updated_at=now))

    async def sign_in_external(self, info: OAuthUserInfo) -> TokenPair:
        """Sign in with an identity an OAuth provider vouched for.

        The account is found by (provider, subject); failing that, an existing account with
        the same email is linked, but only when the provider says the email is verified;
        failing that, a new account without a password is created (verified email required
        too, so nobody can squat an address they do not own).

        Raises:
            AuthenticationError: ``AUTH_OAUTH_NO_EMAIL`` (no usable email for a first
                sign-in), ``AUTH_OAUTH_EMAIL_UNVERIFIED``, ``AUTH_USER_INACTIVE``, or
                ``AUTH_OAUTH_FAILED`` for a malformed provider identity.
        """
        provider, subject, name = _check_external(info)
        for attempt in range(2):
            try:
                return await self._sign_in_external_once(info, provider, subject, name)
            except Conflict as exc:
                # A concurrent first sign-in created the account or the link: try once more,
                # and the second pass finds what the other one wrote.
                if attempt or not isinstance(exc, EmailConflict | OAuthAlreadyLinked):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the one way in -------------------------------------------------------------------

    async def _open(
        self, command: Register, role: Role, *, sign_in: bool
    ) -> tuple[User, TokenPair | None]:
        """Check the policy, hash, store the account and (``sign_in``) open its session."""
        self._check_policy(command)
        password_hash = await self._hasher.hash(command.password)
        now = self._clock.now()
        async with self._tx.write() as tx:
            # Checked first so that the usual case is a plain answer, not a failed INSERT; the
            # unique index still decides a race.
            if await tx.uow.users.get_by_email(command.email) is not None:
                raise EmailConflict()
            new = NewUser(
                command.email,
                password_hash,
                role,
                now,
                display_name=self._display_name(command),
            )
            user = await open_account(tx, new)
            session = await self._tokens.open_session(tx.uow, user, now) if sign_in else None
            await tx.commit()
        if session is None:
            return user, None
        family, secret = session
        return user, self._tokens.pair(user, family, secret, now)

    def _display_name(self, command: Register) -> str | None:
        """The name chosen at registration; else, only when the shop is configured so, the
        email's local part; else none (the account shows as ``"Reader #<id>"``)."""
        if command.display_name is not None:
            return command.display_name
        if self._settings.display_name_from_email:
            return command.email.split("@", 1)[0]
        return None

    def _check_policy(self, command: Register) -> None:
        reasons = self._settings.password_policy.problems(command.password, email=command.email)
        if reasons:
            raise ValidationError.refused("password", "Password " + "; ".join(reasons))

    async def _sign_in_external_once(
        self, info: OAuthUserInfo, provider: str, subject: str, name: str | None
    ) -> TokenPair:
        now = self._clock.now()
        async with self._tx.write() as tx:
            link = await tx.uow.external_identities.get(provider, subject)
            user: User | None
            if link is not None:
                user = await tx.uow.users.lock(link.user_id)
                if user is None:
                    raise OAuthFailed("Sign-in failed")
            else:
                email = _external_email(info)
                found = await tx.uow.users.get_by_email(email)
                if found is not None:
                    user = await tx.uow.users.lock(found.id)
                    assert user is not None
                else:
                    user = await open_account(
                        tx, NewUser(email, None, Role.USER, created_at=now, full_name=name)
                    )
                await tx.uow.external_identities.add(
                    NewExternalIdentity(user.id, provider, subject, email, created_at=now)
                )
                tx.record(ExternalIdentityLinked(user.id, provider))
            if not user.is_active:
                raise UserInactive()
            family, secret = await self._tokens.open_session(tx.uow, user, now)
            await tx.commit()
        return self._tokens.pair(user, family, secret, now)


def _check_external(info: OAuthUserInfo) -> tuple[str, str, str | None]:
    def plain(value: object, limit: int) -> bool:
        return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()

    if not plain(info.provider, _PROVIDER_MAX) or not plain(info.subject, _SUBJECT_MAX):
        raise OAuthFailed("Sign-in failed")
    name = info.name.strip()[:_NAME_MAX] if isinstance(info.name, str) else None
    if name and (has_lone_surrogates(name) or not name.isprintable()):
        name = None  # a display name is optional; one no store could hold is dropped
    return info.provider, info.subject, name or None


def _external_email(info: OAuthUserInfo) -> str:
    if not info.email:
        raise OAuthNoEmail()
    if info.email_verified is not True:
        raise OAuthEmailUnverified()
    try:
        return normalize_email(info.email)
    except ValidationError:
        raise OAuthNoEmail("The provider did not share a usable email address") from None
