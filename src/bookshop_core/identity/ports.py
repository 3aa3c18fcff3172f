"""The identity context's ports: repositories, the unit of work that carries them, the password
hasher and the token codec.

Every adapter (memory, SQLAlchemy, or an embedding app's own) implements these protocols and
passes the identity contract suite (``tests/contract/test_identity_*.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bookshop_core.identity.entities import (
    AccessClaims,
    ExternalIdentity,
    LoginThrottle,
    NewExternalIdentity,
    NewRefreshToken,
    NewUser,
    RefreshFamily,
    RefreshToken,
    RevokeReason,
    User,
    UserQuery,
)
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.principal import Role
from bookshop_core.kernel.uow import UnitOfWork

__all__ = [
    "ExternalIdentityRepository",
    "IdentityUnitOfWork",
    "LoginThrottleRepository",
    "PasswordHasher",
    "RefreshTokenRepository",
    "TokenCodec",
    "UserRepository",
]


class UserRepository(Protocol):
    """Stores accounts. Emails are stored normalised and are unique (a unique index)."""

    async def add(self, user: NewUser) -> User:
        """Store a new, active account and return it with its id (token version 0).

        Raises:
            Conflict: ``AUTH_EMAIL_CONFLICT`` (field ``email``) when the email is taken, even
                by a concurrent transaction (race-safe).
        """
        ...

    async def get(self, user_id: int) -> User | None: ...

    async def lock(self, user_id: int) -> User | None:
        """The account, locked against concurrent changes until the transaction ends
        (``SELECT ... FOR UPDATE``). Every use case that issues tokens or changes an account
        locks it first, so that a sign-in racing a deactivation cannot leave a live session."""
        ...

    async def get_by_email(self, email: str) -> User | None:
        """The account with this normalised email."""
        ...

    async def list(self, query: UserQuery, page: PageRequest) -> Page[User]:
        """One page of accounts matching ``query``, newest first, with the exact total."""
        ...

    async def set_active(self, user_id: int, active: bool, *, now: datetime) -> None:
        """Activate or deactivate; deactivating also sets ``deactivated_at``."""
        ...

    async def set_role(self, user_id: int, role: Role, *, now: datetime) -> None: ...

    async def set_display_name(
        self, user_id: int, display_name: str | None, *, now: datetime
    ) -> None:
        """Set (``None``: clear) the account's display name."""
        ...

    async def set_password_hash(
        self, user_id: int, password_hash: str, *, expected: str | None, now: datetime
    ) -> bool:
        """Replace the hash only if it is still ``expected`` (compare-and-set, for rehashing
        on sign-in without overwriting a concurrent change); ``True`` when written."""
        ...

    async def bump_token_version(self, user_id: int) -> None:
        """Atomically add one to the account's token version (``SET v = v + 1``), killing every
        access token issued before."""
        ...

    async def lock_admins(self) -> Sequence[int]:
        """The ids of every admin account, locked against concurrent changes until the
        transaction ends (``SELECT ... FOR UPDATE``), so that two admins demoting each other
        at once cannot leave the shop without one."""
        ...


class RefreshTokenRepository(Protocol):
    """Stores refresh-token families and their tokens (only as SHA-256 hashes)."""

    async def start_family(self, user_id: int, *, now: datetime) -> RefreshFamily:
        """Open a new family (one per login) and return it with its id."""
        ...

    async def get_family(self, family_id: int) -> RefreshFamily | None: ...

    async def keep_family(self, family_id: int) -> RefreshFamily | None:
        """The family, locked until the transaction ends, if it is not revoked; ``None`` when
        it is revoked or unknown. A refresh calls it after claiming its token, so that a
        concurrent revocation either waits for the refresh (and then revokes the new token
        too) or wins (and the refresh fails)."""
        ...

    async def add(self, token: NewRefreshToken) -> RefreshToken:
        """Store a new, unused token of an existing family."""
        ...

    async def claim(self, token_hash: str, *, now: datetime) -> RefreshToken | None:
        """Spend the token: mark it used if and only if it is unused, unrevoked and unexpired,
        in one conditional ``UPDATE ... RETURNING``, and return it. ``None`` when it was not
        claimable. Of concurrent claims of one token, exactly one gets it, on every backend.
        """
        ...

    async def find(self, token_hash: str) -> RefreshToken | None:
        """The token with this hash, whatever its state."""
        ...

    async def revoke_family(self, family_id: int, *, now: datetime, reason: RevokeReason) -> None:
        """Revoke the family and every token in it (idempotent: an earlier revocation's time
        and reason are kept)."""
        ...

    async def revoke_all(self, user_id: int, *, now: datetime, reason: RevokeReason) -> int:
        """Revoke every live family of the account; returns how many were revoked."""
        ...

    async def purge(self, *, before: datetime) -> int:
        """Delete tokens that expired before ``before`` and families left without tokens;
        returns how many tokens were deleted."""
        ...


class LoginThrottleRepository(Protocol):
    """Stores consecutive sign-in failures per email key."""

    async def get(self, key: str) -> LoginThrottle | None: ...

    async def save(self, throttle: LoginThrottle, *, expected_version: int | None) -> bool:
        """Write ``throttle`` with version ``expected_version + 1`` if the stored version is
        still ``expected_version`` (``None``: only if there is no row yet). ``False`` when a
        concurrent attempt got there first (the caller reads again and retries)."""
        ...

    async def clear(self, key: str) -> None:
        """Forget the failures of ``key`` (after a successful sign-in)."""
        ...

    async def purge(self, *, before: datetime) -> int:
        """Delete entries whose last failure is older than ``before`` and that are not locked
        at ``before``; returns how many were deleted."""
        ...


class ExternalIdentityRepository(Protocol):
    """Stores links between accounts and OAuth provider identities."""

    async def get(self, provider: str, subject: str) -> ExternalIdentity | None: ...

    async def add(self, identity: NewExternalIdentity) -> ExternalIdentity:
        """Store a link.

        Raises:
            Conflict: ``AUTH_OAUTH_ALREADY_LINKED`` when (provider, subject) is linked already
                (race-safe, a unique index).
        """
        ...

    async def list_for_user(self, user_id: int) -> Sequence[ExternalIdentity]:
        """Every link of an account, by id."""
        ...


class IdentityUnitOfWork(UnitOfWork, Protocol):
    """What the identity context's use cases need from a unit of work."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def refresh_tokens(self) -> RefreshTokenRepository: ...

    @property
    def login_throttles(self) -> LoginThrottleRepository: ...

    @property
    def external_identities(self) -> ExternalIdentityRepository: ...


class PasswordHasher(Protocol):
    """Hashes and verifies passwords (argon2id in ``bookshop_adapters.argon2``).

    Implementations do the slow work off the event loop.
    """

    async def hash(self, password: str) -> str:
        """A salted hash of ``password`` with the hasher's current parameters."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``; ``False`` (never an exception) for a
        mismatch or a malformed hash."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether ``password_hash`` was made with other parameters than the current ones."""
        ...


class TokenCodec(Protocol):
    """Signs and verifies access tokens (a PyJWT adapter in ``bookshop_adapters.jwt``)."""

    def encode(self, claims: AccessClaims) -> str:
        """The signed token for ``claims`` (with ``typ`` = ``access``)."""
        ...

    def decode(self, token: str, *, issuer: str, audience: str, now: datetime) -> AccessClaims:
        """Verify ``token`` completely and return its claims.

        The codec checks the signature with its pinned algorithm and keys, requires and
        verifies ``exp``, ``iat``, ``iss``, ``aud``, ``sub``, ``jti``, the type and the custom
        claims, and judges time against ``now`` (the shop's clock), with a small leeway.

        Raises:
            AuthenticationError: ``AUTH_TOKEN_EXPIRED`` for a genuine token past its expiry,
                ``AUTH_TOKEN_INVALID`` for anything else wrong with it. Never another
                exception, whatever ``token`` is.
        """
        ...
