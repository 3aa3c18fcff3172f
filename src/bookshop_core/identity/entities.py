"""Identity entities and values: accounts, refresh-token families, login throttling, OAuth links.

Secrets never appear in a ``repr``: password hashes, refresh-token hashes and issued tokens are
declared with ``repr=False`` so that logging an entity cannot leak them.
"""

from __future__ import annotations

import enum
import math
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from attrs import field, frozen

from bookshop_core.identity.errors import (
    CannotDeactivateAdmin,
    LastAdmin,
    UserInactiveForAdmin,
)
from bookshop_core.kernel.events import DomainEvent
from bookshop_core.kernel.principal import Role

if TYPE_CHECKING:
    from bookshop_core.identity.settings import LoginThrottling

__all__ = [
    "AccessClaims",
    "ExternalIdentity",
    "ExternalIdentityLinked",
    "LoginThrottle",
    "NewExternalIdentity",
    "NewRefreshToken",
    "NewUser",
    "OAuthUserInfo",
    "RefreshFamily",
    "RefreshToken",
    "RefreshTokenReused",
    "RevokeReason",
    "TokenPair",
    "User",
    "UserDeactivated",
    "UserQuery",
    "UserReactivated",
    "UserRegistered",
    "UserRoleChanged",
    "UserView",
    "default_display_name",
]


def default_display_name(user_id: int) -> str:
    """The neutral public name of an account without a display name: ``"Reader #<id>"``
    (never anything derived from its email)."""
    return f"Reader #{user_id}"


@frozen
class NewUser:
    """An account as it is first written; the store assigns its id.

    ``email`` is already normalised (see :func:`~bookshop_core.identity.normalize_email`);
    ``password_hash`` is ``None`` for accounts that only sign in through an OAuth provider.
    """

    email: str
    password_hash: str | None = field(repr=False)
    role: Role
    created_at: datetime
    full_name: str | None = None
    display_name: str | None = None


@frozen
class User:
    """A stored account.

    Attributes:
        email: The normalised email (lower case), unique.
        password_hash: An argon2id PHC string, or ``None`` for OAuth-only accounts.
        token_version: Bumped whenever every outstanding access token of the account must die
            (deactivation, "log out everywhere"); access tokens carry the version they were
            issued under and are refused when it no longer matches.
        deactivated_at: When the account was last deactivated (``None`` while never).
        display_name: The name others see (reviews), chosen by the owner; ``None`` shows
            :func:`default_display_name`.
    """

    id: int
    email: str
    password_hash: str | None = field(repr=False)
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime
    full_name: str | None = None
    token_version: int = 0
    deactivated_at: datetime | None = None
    display_name: str | None = None

    @property
    def public_name(self) -> str:
        """The name others see: the display name, else ``"Reader #<id>"``."""
        return self.display_name or default_display_name(self.id)

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def check_can_deactivate(self) -> None:
        """Raises: PermissionDenied ``ADMN_CANNOT_DEACTIVATE_ADMIN``: admins are demoted
        first, so that deactivating can never leave the shop without an admin."""
        if self.is_admin:
            raise CannotDeactivateAdmin()

    def check_role_change(self, role: Role, *, by_user_id: int, admins: int) -> None:
        """Whether this account may be given ``role`` by the admin ``by_user_id`` while the
        shop has ``admins`` admin accounts (counted under lock).

        Raises:
            Conflict: ``ADMN_USER_INACTIVE`` (promoting a deactivated account);
                ``ADMN_LAST_ADMIN`` (demoting yourself, or the last admin).
        """
        if role is self.role:
            return
        if role is Role.ADMIN:
            if not self.is_active:
                raise UserInactiveForAdmin()
        elif self.id == by_user_id:
            raise LastAdmin("You cannot demote yourself")
        elif admins <= 1:
            raise LastAdmin("The last admin cannot be demoted")

    def accepts(self, claims: AccessClaims, family: RefreshFamily | None) -> bool:
        """Whether an access token with ``claims``, issued in ``family``, still speaks for
        this account: same token version (no deactivation or "log out everywhere" since)
        and a live session of this account."""
        return (
            claims.version == self.token_version
            and family is not None
            and family.user_id == self.id
            and not family.is_revoked
        )


@frozen
class UserView:
    """What callers see of an account: never a hash, never a token version.

    ``display_name`` is the account's public name (:attr:`User.public_name`).
    """

    id: int
    email: str
    full_name: str | None
    role: Role
    is_active: bool
    created_at: datetime
    display_name: str | None = None

    @classmethod
    def of(cls, user: User) -> UserView:
        """The public view of ``user``."""
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            is_active=user.is_active,
            created_at=user.created_at,
            display_name=user.public_name,
        )


@frozen
class UserQuery:
    """Filters (AND-combined) for listing accounts, as repositories receive them.

    ``email_contains`` is a lower-case substring matched literally (``%`` and ``_`` are not
    wildcards). Order: newest first (``created_at`` descending), then id descending.
    """

    role: Role | None = None
    is_active: bool | None = None
    email_contains: str | None = None


class RevokeReason(enum.StrEnum):
    """Why a refresh-token family was revoked (kept for audit)."""

    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    REUSE = "reuse"
    DEACTIVATED = "deactivated"


@frozen
class RefreshFamily:
    """The refresh tokens of one login, rotated one after the other.

    A family dies as a whole: logout, reuse of a spent token, or deactivation of the account
    sets ``revoked_at``, after which no token of the family refreshes and no access token issued
    for it (claim ``sid``) is accepted.
    """

    id: int
    user_id: int
    created_at: datetime
    revoked_at: datetime | None = None
    revoke_reason: RevokeReason | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


@frozen
class NewRefreshToken:
    """A refresh token as it is first written: only the SHA-256 of the secret is stored."""

    token_hash: str = field(repr=False)
    family_id: int
    user_id: int
    issued_at: datetime
    expires_at: datetime


@frozen
class RefreshToken:
    """A stored refresh token. ``used_at`` is set when it was spent on a refresh."""

    id: int
    token_hash: str = field(repr=False)
    family_id: int
    user_id: int
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@frozen
class AccessClaims:
    """The claims of an access token (a JWT), as the :class:`TokenCodec` port sees them.

    Attributes:
        subject: ``sub``: the user id as a decimal string.
        role: ``role``: the role when the token was issued; clients may decode it, but
            authorization always reads the role from the account.
        issuer: ``iss``.
        audience: ``aud``.
        issued_at: ``iat``.
        expires_at: ``exp``.
        token_id: ``jti``: a random id, unique per token.
        session_id: ``sid``: the id of the refresh family the token was issued for.
        version: ``ver``: the account's token version at issue time.
    """

    #: The ``typ`` claim of every access token; other token types are never accepted.
    TOKEN_TYPE: ClassVar[str] = "access"

    subject: str
    role: Role
    issuer: str
    audience: str
    issued_at: datetime
    expires_at: datetime
    token_id: str
    session_id: int
    version: int

    @property
    def user_id(self) -> int:
        return int(self.subject)


@frozen
class TokenPair:
    """What a successful sign-in returns: a short-lived access token and a refresh token.

    ``token_type`` is always ``"bearer"``.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_type: str = "bearer"


@frozen
class LoginThrottle:
    """Consecutive failed sign-ins for one email key, and until when sign-in is refused.

    ``key`` is a SHA-256 of the normalised email, so the store keeps no plain address for
    emails that name no account. ``version`` makes updates compare-and-set.
    """

    key: str
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None
    version: int = 0

    @classmethod
    def first_failure(cls, key: str, now: datetime, policy: LoginThrottling) -> LoginThrottle:
        """The counter of ``key`` after its first failure (to store as a new row)."""
        return cls._counted(key, 1, now, policy, version=0)

    def is_locked(self, now: datetime) -> bool:
        """Whether sign-in for this key is refused at ``now``."""
        return self.locked_until is not None and self.locked_until > now

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until sign-in is allowed again: at least 1 while locked, else 0."""
        if self.locked_until is None or not self.is_locked(now):
            return 0
        return max(1, math.ceil((self.locked_until - now).total_seconds()))

    def after_failure(self, now: datetime, policy: LoginThrottling) -> LoginThrottle:
        """The counter after one more failure at ``now``: consecutive failures go on counting
        while they come within ``policy.window`` of the last failure or lock (else the count
        starts over), and the lock is the policy's backoff for the new count."""
        quiet_since = max(self.last_failure_at, self.locked_until or self.last_failure_at)
        failures = self.failures + 1 if now - quiet_since <= policy.window else 1
        return self._counted(self.key, failures, now, policy, version=self.version + 1)

    @classmethod
    def _counted(
        cls, key: str, failures: int, now: datetime, policy: LoginThrottling, *, version: int
    ) -> LoginThrottle:
        lock = policy.lock_after(failures)
        return cls(
            key=key,
            failures=failures,
            last_failure_at=now,
            locked_until=now + lock if lock else None,
            version=version,
        )


@frozen
class OAuthUserInfo:
    """What an OAuth / OpenID provider says about the person signing in (already verified by
    the provider adapter).

    Args:
        provider: The provider's key (``"github"``, ``"google"``).
        subject: The provider's stable id for the person.
        email: Their email, when the provider shares one.
        email_verified: Whether the provider vouches that the email belongs to them.
        name: A display name, when known.
    """

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None


@frozen
class NewExternalIdentity:
    """A link between an account and a provider identity, as it is first written."""

    user_id: int
    provider: str
    subject: str
    email: str | None
    created_at: datetime


@frozen
class ExternalIdentity:
    """An account's link to a provider identity; (``provider``, ``subject``) is unique."""

    id: int
    user_id: int
    provider: str
    subject: str
    email: str | None
    created_at: datetime


@frozen
class UserRegistered(DomainEvent):
    """A new account exists (by registration, OAuth sign-in or an operator)."""

    user_id: int
    email: str


@frozen
class UserDeactivated(DomainEvent):
    """An admin deactivated an account; its tokens are dead."""

    user_id: int
    by_user_id: int


@frozen
class UserReactivated(DomainEvent):
    """An admin reactivated an account (old tokens stay dead)."""

    user_id: int
    by_user_id: int


@frozen
class UserRoleChanged(DomainEvent):
    """An admin changed an account's role."""

    user_id: int
    role: Role
    by_user_id: int


@frozen
class RefreshTokenReused(DomainEvent):
    """A spent refresh token was presented again; its family was revoked (possible theft)."""

    user_id: int
    family_id: int


@frozen
class ExternalIdentityLinked(DomainEvent):
    """A provider identity was linked to an account."""

    user_id: int
    provider: str
