"""In-memory identity repositories: the reference model of the identity ports.

Transactions of the memory backend are serialised by the store's lock, so "locking" methods
(``lock``, ``lock_admins``, ``keep_family``) only read, and every compare-and-set trivially
holds; the SQL adapters get the same guarantees from row locks and conditional statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.identity.entities import (
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
from bookshop_core.identity.errors import (
    EmailConflict,
    OAuthAlreadyLinked,
    RefreshInvalid,
)
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.principal import Role

__all__ = [
    "MemoryExternalIdentityRepository",
    "MemoryLoginThrottleRepository",
    "MemoryRefreshTokenRepository",
    "MemoryUserRepository",
]


class MemoryUserRepository:
    """Accounts in the ``users`` table, with a unique index ``users_by_email``."""

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._rows: dict[int, User] = store.table("users")
        self._by_email: dict[str, int] = store.table("users_by_email")
        self._journal = journal

    async def add(self, user: NewUser) -> User:
        if user.email in self._by_email:
            raise EmailConflict()
        stored = User(
            id=self._store.next_id("users"),
            email=user.email,
            password_hash=user.password_hash,
            role=user.role,
            is_active=True,
            created_at=user.created_at,
            updated_at=user.created_at,
            full_name=user.full_name,
            display_name=user.display_name,
        )
        self._journal.put(self._rows, stored.id, stored)
        self._journal.put(self._by_email, stored.email, stored.id)
        return stored

    async def get(self, user_id: int) -> User | None:
        return self._rows.get(user_id)

    async def lock(self, user_id: int) -> User | None:
        return self._rows.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        user_id = self._by_email.get(email)
        return None if user_id is None else self._rows.get(user_id)

    async def list(self, query: UserQuery, page: PageRequest) -> Page[User]:
        found = [u for u in self._rows.values() if _matches(u, query)]
        found.sort(key=lambda u: (u.created_at, u.id), reverse=True)
        return Page.of(found[page.offset : page.offset + page.limit], len(found), page)

    def _change(self, user_id: int, **changes: Any) -> None:
        current = self._rows.get(user_id)
        if current is not None:
            self._journal.put(self._rows, user_id, attrs.evolve(current, **changes))

    async def set_active(self, user_id: int, active: bool, *, now: datetime) -> None:
        if active:
            self._change(user_id, is_active=True, updated_at=now)
        else:
            self._change(user_id, is_active=False, updated_at=now, deactivated_at=now)

    async def set_role(self, user_id: int, role: Role, *, now: datetime) -> None:
        self._change(user_id, role=role, updated_at=now)

    async def set_display_name(
        self, user_id: int, display_name: str | None, *, now: datetime
    ) -> None:
        self._change(user_id, display_name=display_name, updated_at=now)

    async def set_password_hash(
        self, user_id: int, password_hash: str, *, expected: str | None, now: datetime
    ) -> bool:
        current = self._rows.get(user_id)
        if current is None or current.password_hash != expected:
            return False
        self._change(user_id, password_hash=password_hash, updated_at=now)
        return True

    async def bump_token_version(self, user_id: int) -> None:
        current = self._rows.get(user_id)
        if current is not None:
            self._change(user_id, token_version=current.token_version + 1)

    async def lock_admins(self) -> Sequence[int]:
        return sorted(u.id for u in self._rows.values() if u.role is Role.ADMIN)


def _matches(user: User, query: UserQuery) -> bool:
    if query.role is not None and user.role is not query.role:
        return False
    if query.is_active is not None and user.is_active is not query.is_active:
        return False
    return query.email_contains is None or query.email_contains in user.email


class MemoryRefreshTokenRepository:
    """Refresh families and tokens, with a unique index ``refresh_tokens_by_hash``."""

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._families: dict[int, RefreshFamily] = store.table("refresh_families")
        self._tokens: dict[int, RefreshToken] = store.table("refresh_tokens")
        self._by_hash: dict[str, int] = store.table("refresh_tokens_by_hash")
        self._journal = journal

    async def start_family(self, user_id: int, *, now: datetime) -> RefreshFamily:
        family = RefreshFamily(self._store.next_id("refresh_families"), user_id, now)
        self._journal.put(self._families, family.id, family)
        return family

    async def get_family(self, family_id: int) -> RefreshFamily | None:
        return self._families.get(family_id)

    async def keep_family(self, family_id: int) -> RefreshFamily | None:
        family = self._families.get(family_id)
        return None if family is None or family.is_revoked else family

    async def add(self, token: NewRefreshToken) -> RefreshToken:
        if token.token_hash in self._by_hash:  # 256 random bits: never, but keep the invariant
            raise RefreshInvalid("Duplicate refresh token")
        stored = RefreshToken(
            id=self._store.next_id("refresh_tokens"),
            token_hash=token.token_hash,
            family_id=token.family_id,
            user_id=token.user_id,
            issued_at=token.issued_at,
            expires_at=token.expires_at,
        )
        self._journal.put(self._tokens, stored.id, stored)
        self._journal.put(self._by_hash, stored.token_hash, stored.id)
        return stored

    async def find(self, token_hash: str) -> RefreshToken | None:
        token_id = self._by_hash.get(token_hash)
        return None if token_id is None else self._tokens.get(token_id)

    async def claim(self, token_hash: str, *, now: datetime) -> RefreshToken | None:
        token = await self.find(token_hash)
        if (
            token is None
            or token.used_at is not None
            or token.revoked_at is not None
            or token.expires_at <= now
        ):
            return None
        claimed = attrs.evolve(token, used_at=now)
        self._journal.put(self._tokens, token.id, claimed)
        return claimed

    async def revoke_family(self, family_id: int, *, now: datetime, reason: RevokeReason) -> None:
        family = self._families.get(family_id)
        if family is not None and family.revoked_at is None:
            self._journal.put(
                self._families,
                family_id,
                attrs.evolve(family, revoked_at=now, revoke_reason=reason),
            )
        for token in list(self._tokens.values()):
            if token.family_id == family_id and token.revoked_at is None:
                self._journal.put(self._tokens, token.id, attrs.evolve(token, revoked_at=now))

    async def revoke_all(self, user_id: int, *, now: datetime, reason: RevokeReason) -> int:
        live = [f.id for f in self._families.values() if f.user_id == user_id and not f.is_revoked]
        for family_id in live:
            await self.revoke_family(family_id, now=now, reason=reason)
        return len(live)

    async def purge(self, *, before: datetime) -> int:
        expired = [t for t in self._tokens.values() if t.expires_at < before]
        for token in expired:
            self._journal.remove(self._tokens, token.id)
            self._journal.remove(self._by_hash, token.token_hash)
        in_use = {t.family_id for t in self._tokens.values()}
        for family_id in [f for f in self._families if f not in in_use]:
            self._journal.remove(self._families, family_id)
        return len(expired)


class MemoryLoginThrottleRepository:
    """Failed sign-ins per email key in the ``login_throttles`` table."""

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._rows: dict[str, LoginThrottle] = store.table("login_throttles")
        self._journal = journal

    async def get(self, key: str) -> LoginThrottle | None:
        return self._rows.get(key)

    async def save(self, throttle: LoginThrottle, *, expected_version: int | None) -> bool:
        current = self._rows.get(throttle.key)
        if expected_version is None:
            if current is not None:
                return False
            version = 0
        else:
            if current is None or current.version != expected_version:
                return False
            version = expected_version + 1
        self._journal.put(self._rows, throttle.key, attrs.evolve(throttle, version=version))
        return True

    async def clear(self, key: str) -> None:
        self._journal.remove(self._rows, key)

    async def purge(self, *, before: datetime) -> int:
        stale = [
            key
            for key, row in self._rows.items()
            if row.last_failure_at < before
            and (row.locked_until is None or row.locked_until <= before)
        ]
        for key in stale:
            self._journal.remove(self._rows, key)
        return len(stale)


class MemoryExternalIdentityRepository:
    """Provider links in ``external_identities``, unique by (provider, subject)."""

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._rows: dict[int, ExternalIdentity] = store.table("external_identities")
        self._by_key: dict[tuple[str, str], int] = store.table("external_identities_by_key")
        self._journal = journal

    async def get(self, provider: str, subject: str) -> ExternalIdentity | None:
        link_id = self._by_key.get((provider, subject))
        return None if link_id is None else self._rows.get(link_id)

    async def add(self, identity: NewExternalIdentity) -> ExternalIdentity:
        key = (identity.provider, identity.subject)
        if key in self._by_key:
            raise OAuthAlreadyLinked()
        stored = ExternalIdentity(
            id=self._store.next_id("external_identities"),
            user_id=identity.user_id,
            provider=identity.provider,
            subject=identity.subject,
            email=identity.email,
            created_at=identity.created_at,
        )
        self._journal.put(self._rows, stored.id, stored)
        self._journal.put(self._by_key, key, stored.id)
        return stored

    async def list_for_user(self, user_id: int) -> Sequence[ExternalIdentity]:
        return sorted((r for r in self._rows.values() if r.user_id == user_id), key=lambda r: r.id)
