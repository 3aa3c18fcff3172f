"""Sessions and tokens: sign-in with a password, refresh, logout, and reading access tokens.

Sign-in is shaped against account discovery and guessing: an unknown email, a wrong password
and an account without a password get the same answer (``AUTH_INVALID_CREDENTIALS``) after the
same work (a password verification, against a dummy hash when there is no real one). Only
failures count towards the lock (``AUTH_TOO_MANY_ATTEMPTS``), so that correct sign-ins never
lock each other out; the lock is checked before the password and again before answering, so a
guess that was in flight when concurrent failures locked the email learns nothing either.

Locks are always taken in one order, account first, then refresh family, so that concurrent
sign-ins, refreshes, logouts and deactivations never deadlock and never leave a live session
behind a deactivation.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Final

from bookshop_core.errors import AuthenticationError, StoreBusy, ValidationError
from bookshop_core.identity.commands import Login
from bookshop_core.identity.entities import (
    AccessClaims,
    LoginThrottle,
    RefreshToken,
    RefreshTokenReused,
    RevokeReason,
    TokenPair,
    User,
)
from bookshop_core.identity.errors import (
    AccountDeactivated,
    InvalidCredentials,
    TokenInvalid,
    TokenReuse,
    TooManyAttempts,
    UserInactive,
    UserNotFound,
)
from bookshop_core.identity.passwords import normalize_password
from bookshop_core.identity.ports import IdentityUnitOfWork, PasswordHasher
from bookshop_core.identity.settings import IdentitySettings
from bookshop_core.identity.tokens import (
    TokenIssuer,
    refresh_hash_or_invalid,
    refresh_invalid,
    throttle_key,
)
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.ids import MAX_ID
from bookshop_core.kernel.principal import Principal
from bookshop_core.kernel.uow import Transaction, Transactions

__all__ = ["Sessions"]

log = logging.getLogger("bookshop.identity")

#: Compare-and-set rounds on one login counter before giving up with ``STORE_BUSY``.
_THROTTLE_RETRIES: Final = 8
_MAX_ID_DIGITS: Final = len(str(MAX_ID))


class Sessions:
    """Sign-in with a password, token refresh and revocation, and access-token reading.

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now" (token times, lockouts).
        hasher: Verifies passwords (and rehashes them when its parameters changed).
        tokens: Issues and reads tokens.
        settings: Login throttling.
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
        self._dummy_hash: str | None = None

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
        async with self._tx.read() as uow:
            _refuse_if_locked(await uow.login_throttles.get(key), self._clock.now())
            user = await uow.users.get_by_email(command.email)
        verified = await self._verify(user, command.password)
        if not verified or user is None or user.password_hash is None:
            await self._count_failure(key)
            raise InvalidCredentials()
        if not user.is_active:
            raise AccountDeactivated()
        new_hash: str | None = None
        if self._hasher.needs_rehash(user.password_hash):
            new_hash = await self._hasher.hash(command.password)
        now = self._clock.now()
        async with self._tx.write() as tx:
            throttle = await tx.uow.login_throttles.get(key)
            _refuse_if_locked(throttle, now)  # concurrent failures locked it meanwhile
            current = await tx.uow.users.lock(user.id)
            if current is None or current.password_hash != user.password_hash:
                raise InvalidCredentials()  # deleted, or the password changed meanwhile
            if not current.is_active:
                raise AccountDeactivated()
            if throttle is not None:
                await tx.uow.login_throttles.clear(key)
            if new_hash is not None:
                await tx.uow.users.set_password_hash(
                    current.id, new_hash, expected=current.password_hash, now=now
                )
            family, secret = await self._tokens.open_session(tx.uow, current, now)
            await tx.commit()
        return self._tokens.pair(current, family, secret, now)

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
                raise UserNotFound(f"User {principal.user_id} not found")
            await tx.uow.users.bump_token_version(user.id)
            await tx.uow.refresh_tokens.revoke_all(user.id, now=now, reason=RevokeReason.LOGOUT_ALL)
            await tx.commit()

    async def authenticate(self, access_token: str) -> Principal:
        """Turn a bearer access token into the :class:`Principal` acting: how every frontend
        authenticates a request. The role comes from the account, not from the token.

        Raises:
            AuthenticationError: ``AUTH_TOKEN_EXPIRED``; ``AUTH_TOKEN_INVALID`` for anything
                else wrong (forged, malformed, ids no store could hold, revoked by logout or
                "log out everywhere", issued before a deactivation, unknown account).
            PermissionDenied: ``AUTH_ACCOUNT_DEACTIVATED`` while the account is deactivated.
        """
        claims = self._tokens.read_access_token(access_token, self._clock.now())
        user_id, session_id = _claimed_ids(claims)
        async with self._tx.read() as uow:
            user = await uow.users.get(user_id)
            family = await uow.refresh_tokens.get_family(session_id)
        if user is None:
            raise TokenInvalid()
        if not user.is_active:
            raise AccountDeactivated()
        if not user.accepts(claims, family):
            raise TokenInvalid()
        return Principal(user_id=user.id, role=user.role)

    async def purge_expired(self) -> int:
        """Housekeeping for operators: delete expired refresh tokens (and their empty
        families) and stale login-failure counters.

        Returns:
            How many refresh tokens were deleted.
        """
        now = self._clock.now()
        async with self._tx.write() as tx:
            purged = await tx.uow.refresh_tokens.purge(before=now)
            await tx.uow.login_throttles.purge(before=now - self._settings.login_throttling.window)
            await tx.commit()
        return purged

    # -- helpers --------------------------------------------------------------------------

    async def _count_failure(self, key: str) -> None:
        """Count one failed sign-in for ``key`` (compare-and-set, so that concurrent failures
        are all counted) and commit it.

        Raises:
            RateLimited: ``AUTH_TOO_MANY_ATTEMPTS`` when concurrent failures locked the key
                while this attempt was being checked (then it is not counted).
        """
        policy = self._settings.login_throttling
        now = self._clock.now()
        async with self._tx.write() as tx:
            for _ in range(_THROTTLE_RETRIES):
                current = await tx.uow.login_throttles.get(key)
                _refuse_if_locked(current, now)
                if current is None:
                    updated = LoginThrottle.first_failure(key, now, policy)
                else:
                    updated = current.after_failure(now, policy)
                expected = current.version if current is not None else None
                if await tx.uow.login_throttles.save(updated, expected_version=expected):
                    await tx.commit()
                    return
        raise StoreBusy()

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


def _refuse_if_locked(throttle: LoginThrottle | None, now: datetime) -> None:
    if throttle is not None and throttle.is_locked(now):
        raise TooManyAttempts(details={"retry_after": throttle.retry_after(now)})


def _claimed_ids(claims: AccessClaims) -> tuple[int, int]:
    """The account and session ids a token names, when a store could hold them; whatever
    codec decoded it, an id out of range is a bad token, never a query.

    Raises:
        AuthenticationError: ``AUTH_TOKEN_INVALID``.
    """
    subject = claims.subject
    if not (
        isinstance(subject, str)
        and 0 < len(subject) <= _MAX_ID_DIGITS
        and subject.isascii()
        and subject.isdigit()
    ):
        raise TokenInvalid()
    user_id = int(subject)
    session_id = claims.session_id
    if not 1 <= user_id <= MAX_ID or isinstance(session_id, bool):
        raise TokenInvalid()
    if not isinstance(session_id, int) or not 1 <= session_id <= MAX_ID:
        raise TokenInvalid()
    return user_id, session_id
