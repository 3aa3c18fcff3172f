"""Identity use cases: accounts, sign-in, token refresh and revocation, admin user management.

Sign-in is shaped against account discovery and guessing: an unknown email, a wrong password
and an account without a password get the same answer (``AUTH_INVALID_CREDENTIALS``) after the
same work (a password verification, against a dummy hash when there is no real one), and every
attempt is counted per email before the password is checked (``AUTH_TOO_MANY_ATTEMPTS``).

Locks are always taken in one order, account first, then refresh family, so that concurrent
sign-ins, refreshes, logouts and deactivations never deadlock and never leave a live session
behind a deactivation.
"""

from __future__ import annotations

import logging
import math
import secrets
from datetime import datetime

from bookshop_core.errors import (
    AuthenticationError,
    Conflict,
    StoreBusy,
    ValidationError,
)
from bookshop_core.identity.commands import ChangeRole, ListUsers, Login, Register, normalize_email
from bookshop_core.identity.entities import (
    ExternalIdentityLinked,
    LoginThrottle,
    NewExternalIdentity,
    NewUser,
    OAuthUserInfo,
    RefreshToken,
    RefreshTokenReused,
    RevokeReason,
    TokenPair,
    User,
    UserDeactivated,
    UserQuery,
    UserReactivated,
    UserRegistered,
    UserRoleChanged,
    UserView,
)
from bookshop_core.identity.errors import (
    AccountDeactivated,
    CannotDeactivateAdmin,
    EmailConflict,
    InvalidCredentials,
    LastAdmin,
    OAuthAlreadyLinked,
    OAuthEmailUnverified,
    OAuthFailed,
    OAuthNoEmail,
    TokenInvalid,
    TokenReuse,
    TooManyAttempts,
    UserInactive,
    UserInactiveForAdmin,
    UserNotFound,
)
from bookshop_core.identity.passwords import normalize_password
from bookshop_core.identity.ports import IdentityUnitOfWork, PasswordHasher, TokenCodec
from bookshop_core.identity.settings import IdentitySettings
from bookshop_core.identity.tokens import (
    TokenIssuer,
    refresh_hash_or_invalid,
    refresh_invalid,
    throttle_key,
)
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.pagination import Page
from bookshop_core.kernel.principal import Principal, Role, require_admin
from bookshop_core.kernel.uow import Transaction, Transactions

__all__ = ["Identity"]

log = logging.getLogger("bookshop.identity")

_THROTTLE_RETRIES = 8
_PROVIDER_MAX = 64
_SUBJECT_MAX = 255
_NAME_MAX = 255


def _user_not_found(user_id: int) -> UserNotFound:
    return UserNotFound(f"User {user_id} not found")


class Identity:
    """The identity context's use cases.

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
        self._tx = transactions
        self._clock = utc_clock(clock)
        self._hasher = hasher
        self.settings = settings or IdentitySettings()
        self._tokens = TokenIssuer(codec, self.settings)
        self._dummy_hash: str | None = None

    # -- accounts -------------------------------------------------------------------------

    async def register(self, command: Register) -> TokenPair:
        """Open a plain user account and sign it in.

        Raises:
            ValidationError: the password breaks the shop's password policy (field
                ``password``).
            Conflict: ``AUTH_EMAIL_CONFLICT`` (field ``email``) when the email is taken,
                case-insensitively, even by a concurrent registration.
        """
        self._check_policy(command.password, command.email)
        password_hash = await self._hasher.hash(command.password)
        now = self._clock.now()
        async with self._tx.write() as tx:
            if await tx.uow.users.get_by_email(command.email) is not None:
                raise EmailConflict()
            user = await tx.uow.users.add(
                NewUser(command.email, password_hash, Role.USER, created_at=now)
            )
            tx.record(UserRegistered(user.id, user.email))
            family, secret = await self._tokens.open_session(tx.uow, user, now)
            await tx.commit()
        return self._tokens.pair(user, family, secret, now)

    async def create_admin(self, email: str, password: str) -> UserView:
        """Create an admin account: how an operator makes the first admin
        (``bookshop create-admin``). No principal: whoever can run this controls the store.

        Raises:
            ValidationError: a bad email or a password that breaks the policy.
            Conflict: ``AUTH_EMAIL_CONFLICT`` when the email is taken.
        """
        return await self.create_account(email, password, role=Role.ADMIN)

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
        command = Register(email=email, password=password)
        role = Role(role)
        self._check_policy(command.password, command.email)
        password_hash = await self._hasher.hash(command.password)
        now = self._clock.now()
        async with self._tx.write() as tx:
            if await tx.uow.users.get_by_email(command.email) is not None:
                raise EmailConflict()
            user = await tx.uow.users.add(
                NewUser(command.email, password_hash, role, created_at=now)
            )
            tx.record(UserRegistered(user.id, user.email))
            await tx.commit()
        log.info("%s account %d created by an operator", role.value, user.id)
        return UserView.of(user)

    async def me(self, principal: Principal) -> UserView:
        """The caller's own account.

        Raises:
            NotFound: ``USER_NOT_FOUND`` when the principal names no account.
        """
        async with self._tx.read() as uow:
            user = await uow.users.get(principal.user_id) if principal.user_id > 0 else None
        if user is None:
            raise _user_not_found(principal.user_id)
        return UserView.of(user)

    # -- sign-in --------------------------------------------------------------------------

    async def login(self, command: Login) -> TokenPair:
        """Sign in with email and password; opens a new refresh family.

        Raises:
            RateLimited: ``AUTH_TOO_MANY_ATTEMPTS`` while sign-in for this email is locked
                after repeated failures (``details["retry_after"]``: seconds), whether or not
                an account has this email.
            AuthenticationError: ``AUTH_INVALID_CREDENTIALS``, the same for an unknown email,
                a wrong password and an account that has no password (OAuth only).
            PermissionDenied: ``AUTH_ACCOUNT_DEACTIVATED``, only after a correct password.
        """
        key = throttle_key(command.email)
        async with self._tx.write() as tx:
            await self._charge_attempt(tx, key, self._clock.now())
            user = await tx.uow.users.get_by_email(command.email)
            await tx.commit()
        verified = await self._verify(user, command.password)
        if not verified or user is None or user.password_hash is None:
            raise InvalidCredentials()
        if not user.is_active:
            raise AccountDeactivated()
        new_hash: str | None = None
        if self._hasher.needs_rehash(user.password_hash):
            new_hash = await self._hasher.hash(command.password)
        now = self._clock.now()
        async with self._tx.write() as tx:
            current = await tx.uow.users.lock(user.id)
            if current is None or current.password_hash != user.password_hash:
                raise InvalidCredentials()  # deleted, or the password changed meanwhile
            if not current.is_active:
                raise AccountDeactivated()
            await tx.uow.login_throttles.clear(key)
            if new_hash is not None:
                await tx.uow.users.set_password_hash(
                    current.id, new_hash, expected=current.password_hash, now=now
                )
            family, secret = await self._tokens.open_session(tx.uow, current, now)
            await tx.commit()
        return self._tokens.pair(current, family, secret, now)

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
                    user = await tx.uow.users.add(
                        NewUser(email, None, Role.USER, created_at=now, full_name=name)
                    )
                    tx.record(UserRegistered(user.id, user.email))
                await tx.uow.external_identities.add(
                    NewExternalIdentity(user.id, provider, subject, email, created_at=now)
                )
                tx.record(ExternalIdentityLinked(user.id, provider))
            if not user.is_active:
                raise UserInactive()
            family, secret = await self._tokens.open_session(tx.uow, user, now)
            await tx.commit()
        return self._tokens.pair(user, family, secret, now)

    # -- tokens ---------------------------------------------------------------------------

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Spend a refresh token for a new pair in the same family (rotation).

        Presenting a token that was already spent is taken as theft: the whole family is
        revoked, the revocation is committed, and the call fails. Of concurrent refreshes with
        one token, at most one succeeds.

        Raises:
            AuthenticationError: ``AUTH_REFRESH_INVALID`` (unknown, expired, revoked),
                ``AUTH_TOKEN_REUSE`` (already spent: family revoked), ``AUTH_USER_INACTIVE``.
        """
        token_hash = refresh_hash_or_invalid(refresh_token)
        now = self._clock.now()
        reused: RefreshToken | None = None
        pair: TokenPair | None = None
        async with self._tx.write() as tx:
            found = await tx.uow.refresh_tokens.find(token_hash)
            if found is None:
                raise refresh_invalid()
            user = await tx.uow.users.lock(found.user_id)  # account first: the lock order
            claimed = await tx.uow.refresh_tokens.claim(token_hash, now=now)
            if claimed is None:
                reused = await self._refused_refresh(tx, token_hash, user, now)
            else:
                family = await tx.uow.refresh_tokens.keep_family(claimed.family_id)
                if family is None or user is None:
                    raise refresh_invalid()
                if not user.is_active:
                    raise UserInactive()
                if self._tokens.refresh_expiry(family, now) <= now:
                    raise refresh_invalid()  # the session reached its maximum age
                secret = await self._tokens.add_refresh_token(tx.uow, family, now)
                await tx.commit()
                pair = self._tokens.pair(user, family, secret, now)
        if pair is None:
            assert reused is not None
            log.warning(
                "refresh token reuse: family %d of user %d revoked",
                reused.family_id,
                reused.user_id,
            )
            raise TokenReuse()
        return pair

    async def _refused_refresh(
        self,
        tx: Transaction[IdentityUnitOfWork],
        token_hash: str,
        user: User | None,
        now: datetime,
    ) -> RefreshToken:
        """A token that could not be claimed: raise why, or, when it was spent already,
        revoke its family, commit that, and return it (the caller then fails with reuse)."""
        current = await tx.uow.refresh_tokens.find(token_hash)
        if current is None:
            raise refresh_invalid()
        if current.used_at is None:  # expired or revoked, never spent
            if user is not None and not user.is_active:
                raise UserInactive()
            raise refresh_invalid()
        await tx.uow.refresh_tokens.revoke_family(
            current.family_id, now=now, reason=RevokeReason.REUSE
        )
        tx.record(RefreshTokenReused(current.user_id, current.family_id))
        await tx.commit()
        return current

    async def logout(self, refresh_token: str) -> None:
        """Revoke the refresh family of ``refresh_token`` (and so its access tokens).
        Idempotent: an unknown or already revoked token is not an error.

        Raises:
            ValidationError: ``refresh_token`` is not a string.
        """
        if not isinstance(refresh_token, str):
            raise ValidationError.single("refresh_token", "must be a string", "type_error")
        try:
            token_hash = refresh_hash_or_invalid(refresh_token)
        except AuthenticationError:
            return
        now = self._clock.now()
        async with self._tx.write() as tx:
            found = await tx.uow.refresh_tokens.find(token_hash)
            if found is None:
                return
            await tx.uow.refresh_tokens.revoke_family(
                found.family_id, now=now, reason=RevokeReason.LOGOUT
            )
            await tx.commit()

    async def logout_all(self, principal: Principal) -> None:
        """Log the caller out everywhere: every refresh family revoked, every access token
        issued so far refused from now on.

        Raises:
            NotFound: ``USER_NOT_FOUND`` when the principal names no account.
        """
        now = self._clock.now()
        async with self._tx.write() as tx:
            user = await tx.uow.users.lock(principal.user_id) if principal.user_id > 0 else None
            if user is None:
                raise _user_not_found(principal.user_id)
            await tx.uow.users.bump_token_version(user.id)
            await tx.uow.refresh_tokens.revoke_all(user.id, now=now, reason=RevokeReason.LOGOUT_ALL)
            await tx.commit()

    async def authenticate(self, access_token: str) -> Principal:
        """Turn a bearer access token into the :class:`Principal` acting: how every frontend
        authenticates a request. The role comes from the account, not from the token.

        Raises:
            AuthenticationError: ``AUTH_TOKEN_EXPIRED``; ``AUTH_TOKEN_INVALID`` for anything
                else wrong (forged, malformed, revoked by logout or "log out everywhere",
                issued before a deactivation, unknown account).
            PermissionDenied: ``AUTH_ACCOUNT_DEACTIVATED`` while the account is deactivated.
        """
        claims = self._tokens.read_access_token(access_token, self._clock.now())
        async with self._tx.read() as uow:
            user = await uow.users.get(claims.user_id)
            family = await uow.refresh_tokens.get_family(claims.session_id)
        if user is None:
            raise TokenInvalid()
        if not user.is_active:
            raise AccountDeactivated()
        if (
            claims.version != user.token_version
            or family is None
            or family.user_id != user.id
            or family.is_revoked
        ):
            raise TokenInvalid()
        return Principal(user_id=user.id, role=user.role)

    # -- administration -------------------------------------------------------------------

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
            user = await self._locked_user(tx, user_id)
            if user.is_admin:
                raise CannotDeactivateAdmin()
            if user.is_active:
                await tx.uow.users.set_active(user_id, False, now=now)
                await tx.uow.users.bump_token_version(user_id)
                tx.record(UserDeactivated(user_id, principal.user_id))
            # Always: revoking is idempotent, and it sweeps up any family opened in a race.
            await tx.uow.refresh_tokens.revoke_all(
                user_id, now=now, reason=RevokeReason.DEACTIVATED
            )
            user = await self._locked_user(tx, user_id)
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
            user = await self._locked_user(tx, user_id)
            if not user.is_active:
                await tx.uow.users.set_active(user_id, True, now=now)
                tx.record(UserReactivated(user_id, principal.user_id))
                user = await self._locked_user(tx, user_id)
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
            user = await self._locked_user(tx, user_id)
            if user.role is not command.role:
                if command.role is Role.ADMIN:
                    if not user.is_active:
                        raise UserInactiveForAdmin()
                elif user.id == principal.user_id:
                    raise LastAdmin("You cannot demote yourself")
                elif len(admins) <= 1:
                    raise LastAdmin("The last admin cannot be demoted")
                await tx.uow.users.set_role(user_id, command.role, now=now)
                tx.record(UserRoleChanged(user_id, command.role, principal.user_id))
                user = await self._locked_user(tx, user_id)
            await tx.commit()
        return UserView.of(user)

    async def purge_expired(self) -> int:
        """Housekeeping for operators: delete expired refresh tokens (and their empty
        families) and stale login-failure counters.

        Returns:
            How many refresh tokens were deleted.
        """
        now = self._clock.now()
        async with self._tx.write() as tx:
            purged = await tx.uow.refresh_tokens.purge(before=now)
            await tx.uow.login_throttles.purge(before=now - self.settings.login_throttling.window)
            await tx.commit()
        return purged

    # -- helpers --------------------------------------------------------------------------

    def _check_policy(self, password: str, email: str) -> None:
        reasons = self.settings.password_policy.problems(password, email=email)
        if reasons:
            raise ValidationError.single("password", "; ".join(reasons))

    async def _locked_user(self, tx: Transaction[IdentityUnitOfWork], user_id: int) -> User:
        user = await tx.uow.users.lock(user_id)
        if user is None:
            raise _user_not_found(user_id)
        return user

    async def _verify(self, user: User | None, password: str) -> bool:
        """Verify the password, doing the same work whether or not there is a hash."""
        password = normalize_password(password)
        if user is None or user.password_hash is None:
            await self._hasher.verify(await self._dummy(), password)
            return False
        return await self._hasher.verify(user.password_hash, password)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._hasher.hash(secrets.token_urlsafe(24))
        return self._dummy_hash

    async def _charge_attempt(
        self, tx: Transaction[IdentityUnitOfWork], key: str, now: datetime
    ) -> None:
        """Count a sign-in attempt as a failure before checking it (a success clears it).

        Raises:
            RateLimited: ``AUTH_TOO_MANY_ATTEMPTS`` while the key is locked.
        """
        policy = self.settings.login_throttling
        for _ in range(_THROTTLE_RETRIES):
            current = await tx.uow.login_throttles.get(key)
            if current is not None and current.locked_until and current.locked_until > now:
                wait = (current.locked_until - now).total_seconds()
                raise TooManyAttempts(details={"retry_after": max(1, math.ceil(wait))})
            failures = 1
            if current is not None:
                quiet_since = max(
                    current.last_failure_at, current.locked_until or current.last_failure_at
                )
                if now - quiet_since <= policy.window:
                    failures = current.failures + 1
            lock = policy.lock_after(failures)
            updated = LoginThrottle(
                key=key,
                failures=failures,
                last_failure_at=now,
                locked_until=now + lock if lock else None,
                version=current.version + 1 if current is not None else 0,
            )
            expected = current.version if current is not None else None
            if await tx.uow.login_throttles.save(updated, expected_version=expected):
                return
        raise StoreBusy()


def _check_external(info: OAuthUserInfo) -> tuple[str, str, str | None]:
    def plain(value: object, limit: int) -> bool:
        return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()

    if not plain(info.provider, _PROVIDER_MAX) or not plain(info.subject, _SUBJECT_MAX):
        raise OAuthFailed("Sign-in failed")
    name = info.name.strip()[:_NAME_MAX] if isinstance(info.name, str) else None
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
