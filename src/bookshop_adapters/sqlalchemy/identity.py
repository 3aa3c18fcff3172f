"""SQL repositories of the identity context (its row classes are in ``tables.py``).

Race-safety comes from the database, never from a read-then-write in Python:

- emails and (provider, subject) links are unique constraints; a lost race is a violation that
  the constraint table of ``errors.py`` turns into its ``Conflict`` (``AUTH_EMAIL_CONFLICT``,
  ``AUTH_OAUTH_ALREADY_LINKED``), as for every other context;
- spending a refresh token is one conditional ``UPDATE ... WHERE used_at IS NULL AND
  revoked_at IS NULL AND expires_at > :now RETURNING``: of concurrent claims exactly one
  matches (PostgreSQL re-checks the condition after the row lock; SQLite serialises writers);
- accounts, admins and refresh families are locked with ``SELECT ... FOR UPDATE`` on
  PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` already serialises writing transactions);
- login-failure counters are compare-and-set on a version column.

Statement budgets: every method is one statement, except ``list`` (two: page and count) and
``revoke_family``/``revoke_all``/``purge`` (two: families, then tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Row,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import (
    ExternalIdentityRow,
    LoginThrottleRow,
    RefreshFamilyRow,
    RefreshTokenRow,
    UserRow,
    table_of,
)
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
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.principal import Role

__all__ = [
    "SqlExternalIdentityRepository",
    "SqlLoginThrottleRepository",
    "SqlRefreshTokenRepository",
    "SqlUserRepository",
]

# -- helpers ------------------------------------------------------------------------------


_users: Final = table_of(UserRow)
_families: Final = table_of(RefreshFamilyRow)
_tokens: Final = table_of(RefreshTokenRow)
_throttles: Final = table_of(LoginThrottleRow)
_links: Final = table_of(ExternalIdentityRow)


def _insert(dialect_name: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    """A dialect INSERT that supports ``ON CONFLICT DO NOTHING``."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


_USER_COLUMNS: Final = (
    _users.c.id,
    _users.c.email,
    _users.c.password_hash,
    _users.c.role,
    _users.c.is_active,
    _users.c.full_name,
    _users.c.token_version,
    _users.c.created_at,
    _users.c.updated_at,
    _users.c.deactivated_at,
    _users.c.display_name,
)


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        password_hash=row.password_hash,
        role=Role(row.role),
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        full_name=row.full_name,
        token_version=row.token_version,
        deactivated_at=row.deactivated_at,
        display_name=row.display_name,
    )


_FAMILY_COLUMNS: Final = (
    _families.c.id,
    _families.c.user_id,
    _families.c.created_at,
    _families.c.revoked_at,
    _families.c.revoke_reason,
)


def _family(row: Row[Any]) -> RefreshFamily:
    return RefreshFamily(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        revoke_reason=RevokeReason(row.revoke_reason) if row.revoke_reason else None,
    )


_TOKEN_COLUMNS: Final = (
    _tokens.c.id,
    _tokens.c.token_hash,
    _tokens.c.family_id,
    _tokens.c.user_id,
    _tokens.c.issued_at,
    _tokens.c.expires_at,
    _tokens.c.used_at,
    _tokens.c.revoked_at,
)


def _token(row: Row[Any]) -> RefreshToken:
    return RefreshToken(
        id=row.id,
        token_hash=row.token_hash,
        family_id=row.family_id,
        user_id=row.user_id,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


_THROTTLE_COLUMNS: Final = (
    _throttles.c.key,
    _throttles.c.failures,
    _throttles.c.last_failure_at,
    _throttles.c.locked_until,
    _throttles.c.version,
)

_LINK_COLUMNS: Final = (
    _links.c.id,
    _links.c.user_id,
    _links.c.provider,
    _links.c.subject,
    _links.c.email,
    _links.c.created_at,
)


def _link(row: Row[Any]) -> ExternalIdentity:
    return ExternalIdentity(
        id=row.id,
        user_id=row.user_id,
        provider=row.provider,
        subject=row.subject,
        email=row.email,
        created_at=row.created_at,
    )


# The fixed-shape statements of authentication, sign-in and refresh, built once with bound
# parameters: executing the same statement object lets SQLAlchemy reuse its cache key and
# compiled form as they are, instead of walking a new statement on every call (about 0.1 ms).

_GET_USER: Final = select(*_USER_COLUMNS).where(_users.c.id == bindparam("user_id"))
_LOCK_USER: Final = _GET_USER.with_for_update()
_GET_USER_BY_EMAIL: Final = select(*_USER_COLUMNS).where(_users.c.email == bindparam("email"))
_GET_FAMILY: Final = select(*_FAMILY_COLUMNS).where(_families.c.id == bindparam("family_id"))
_KEEP_FAMILY: Final = (
    select(*_FAMILY_COLUMNS)
    .where(_families.c.id == bindparam("family_id"), _families.c.revoked_at.is_(None))
    .with_for_update()
)
_FIND_TOKEN: Final = select(*_TOKEN_COLUMNS).where(_tokens.c.token_hash == bindparam("hash"))
# (In an UPDATE, SQLAlchemy reserves the table's column names for the SET clause's own
# parameters, hence "hash" rather than "token_hash".)
_CLAIM_TOKEN: Final = (
    update(_tokens)
    .where(
        _tokens.c.token_hash == bindparam("hash"),
        _tokens.c.used_at.is_(None),
        _tokens.c.revoked_at.is_(None),
        _tokens.c.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
    .returning(*_TOKEN_COLUMNS)
)
_GET_THROTTLE: Final = select(*_THROTTLE_COLUMNS).where(_throttles.c.key == bindparam("key"))


# -- repositories -------------------------------------------------------------------------


class SqlUserRepository(SqlRepository):
    """Accounts in ``users``."""

    async def add(self, user: NewUser) -> User:
        statement = (
            insert(_users)
            .values(
                email=user.email,
                password_hash=user.password_hash,
                role=user.role.value,
                is_active=True,
                full_name=user.full_name,
                display_name=user.display_name,
                token_version=0,
                created_at=user.created_at,
                updated_at=user.created_at,
            )
            .returning(*_USER_COLUMNS)
        )
        # A taken email violates uq_users_email: AUTH_EMAIL_CONFLICT through CONSTRAINT_ERRORS.
        return _user((await self._execute(statement)).one())

    async def get(self, user_id: int) -> User | None:
        row = (await self._execute(_GET_USER, {"user_id": user_id})).first()
        return None if row is None else _user(row)

    async def lock(self, user_id: int) -> User | None:
        row = (await self._execute(_LOCK_USER, {"user_id": user_id})).first()
        return None if row is None else _user(row)

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._execute(_GET_USER_BY_EMAIL, {"email": email})).first()
        return None if row is None else _user(row)

    async def list(self, query: UserQuery, page: PageRequest) -> Page[User]:
        conditions: list[ColumnElement[bool]] = []
        if query.role is not None:
            conditions.append(_users.c.role == query.role.value)
        if query.is_active is not None:
            conditions.append(_users.c.is_active.is_(query.is_active))
        if query.email_contains is not None:
            conditions.append(_users.c.email.contains(query.email_contains, autoescape=True))
        rows = await self._execute(
            select(*_USER_COLUMNS)
            .where(*conditions)
            .order_by(_users.c.created_at.desc(), _users.c.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [_user(row) for row in rows]
        total = (
            await self._execute(select(func.count()).select_from(UserRow).where(*conditions))
        ).scalar_one()
        return Page.of(items, total, page)

    async def set_active(self, user_id: int, active: bool, *, now: datetime) -> None:
        values: dict[str, Any] = {"is_active": active, "updated_at": now}
        if not active:
            values["deactivated_at"] = now
        await self._execute(update(_users).where(_users.c.id == user_id).values(**values))

    async def set_role(self, user_id: int, role: Role, *, now: datetime) -> None:
        await self._execute(
            update(_users).where(_users.c.id == user_id).values(role=role.value, updated_at=now)
        )

    async def set_display_name(
        self, user_id: int, display_name: str | None, *, now: datetime
    ) -> None:
        await self._execute(
            update(_users)
            .where(_users.c.id == user_id)
            .values(display_name=display_name, updated_at=now)
        )

    async def set_password_hash(
        self, user_id: int, password_hash: str, *, expected: str | None, now: datetime
    ) -> bool:
        same = (
            _users.c.password_hash.is_(None)
            if expected is None
            else _users.c.password_hash == expected
        )
        result = await self._execute(
            update(_users)
            .where(_users.c.id == user_id, same)
            .values(password_hash=password_hash, updated_at=now)
            .returning(_users.c.id)
        )
        return result.first() is not None

    async def bump_token_version(self, user_id: int) -> None:
        await self._execute(
            update(_users)
            .where(_users.c.id == user_id)
            .values(token_version=_users.c.token_version + 1)
        )

    async def lock_admins(self) -> Sequence[int]:
        rows = await self._execute(
            select(_users.c.id)
            .where(_users.c.role == Role.ADMIN.value)
            .order_by(_users.c.id)
            .with_for_update()
        )
        return [row.id for row in rows]


class SqlRefreshTokenRepository(SqlRepository):
    """Refresh families in ``refresh_families``, tokens in ``refresh_tokens``."""

    async def start_family(self, user_id: int, *, now: datetime) -> RefreshFamily:
        row = (
            await self._execute(
                insert(_families)
                .values(user_id=user_id, created_at=now)
                .returning(*_FAMILY_COLUMNS)
            )
        ).one()
        return _family(row)

    async def get_family(self, family_id: int) -> RefreshFamily | None:
        row = (await self._execute(_GET_FAMILY, {"family_id": family_id})).first()
        return None if row is None else _family(row)

    async def keep_family(self, family_id: int) -> RefreshFamily | None:
        row = (await self._execute(_KEEP_FAMILY, {"family_id": family_id})).first()
        return None if row is None else _family(row)

    async def add(self, token: NewRefreshToken) -> RefreshToken:
        row = (
            await self._execute(
                insert(_tokens)
                .values(
                    token_hash=token.token_hash,
                    family_id=token.family_id,
                    user_id=token.user_id,
                    issued_at=token.issued_at,
                    expires_at=token.expires_at,
                )
                .returning(*_TOKEN_COLUMNS)
            )
        ).one()
        return _token(row)

    async def claim(self, token_hash: str, *, now: datetime) -> RefreshToken | None:
        parameters = {"hash": token_hash, "now": now}
        row = (await self._execute(_CLAIM_TOKEN, parameters)).first()
        return None if row is None else _token(row)

    async def find(self, token_hash: str) -> RefreshToken | None:
        row = (await self._execute(_FIND_TOKEN, {"hash": token_hash})).first()
        return None if row is None else _token(row)

    async def revoke_family(self, family_id: int, *, now: datetime, reason: RevokeReason) -> None:
        # The family row first (it is the lock a concurrent refresh holds), then its tokens:
        # the second statement sees any token that refresh committed meanwhile.
        await self._execute(
            update(_families)
            .where(_families.c.id == family_id, _families.c.revoked_at.is_(None))
            .values(revoked_at=now, revoke_reason=reason.value)
        )
        await self._execute(
            update(_tokens)
            .where(_tokens.c.family_id == family_id, _tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_all(self, user_id: int, *, now: datetime, reason: RevokeReason) -> int:
        revoked = (
            await self._execute(
                update(_families)
                .where(_families.c.user_id == user_id, _families.c.revoked_at.is_(None))
                .values(revoked_at=now, revoke_reason=reason.value)
                .returning(_families.c.id)
            )
        ).all()
        await self._execute(
            update(_tokens)
            .where(_tokens.c.user_id == user_id, _tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return len(revoked)

    async def purge(self, *, before: datetime) -> int:
        result = await self._execute(
            delete(_tokens).where(_tokens.c.expires_at < before).returning(_tokens.c.id)
        )
        purged = len(result.all())
        await self._execute(
            delete(_families).where(~exists().where(_tokens.c.family_id == _families.c.id))
        )
        return purged


class SqlLoginThrottleRepository(SqlRepository):
    """Failed sign-ins per email key in ``login_throttles``."""

    async def get(self, key: str) -> LoginThrottle | None:
        row = (await self._execute(_GET_THROTTLE, {"key": key})).first()
        if row is None:
            return None
        return LoginThrottle(
            key=row.key,
            failures=row.failures,
            last_failure_at=row.last_failure_at,
            locked_until=row.locked_until,
            version=row.version,
        )

    async def save(self, throttle: LoginThrottle, *, expected_version: int | None) -> bool:
        values = {
            "failures": throttle.failures,
            "last_failure_at": throttle.last_failure_at,
            "locked_until": throttle.locked_until,
        }
        if expected_version is None:
            statement: Any = (
                _insert(self._dialect_name, _throttles)
                .values(key=throttle.key, version=0, **values)
                .on_conflict_do_nothing(index_elements=[_throttles.c.key])
                .returning(_throttles.c.key)
            )
        else:
            statement = (
                update(_throttles)
                .where(
                    _throttles.c.key == throttle.key,
                    _throttles.c.version == expected_version,
                )
                .values(version=expected_version + 1, **values)
                .returning(_throttles.c.key)
            )
        return (await self._execute(statement)).first() is not None

    async def clear(self, key: str) -> None:
        await self._execute(delete(_throttles).where(_throttles.c.key == key))

    async def purge(self, *, before: datetime) -> int:
        result = await self._execute(
            delete(_throttles)
            .where(
                _throttles.c.last_failure_at < before,
                (_throttles.c.locked_until.is_(None)) | (_throttles.c.locked_until <= before),
            )
            .returning(_throttles.c.key)
        )
        return len(result.all())


class SqlExternalIdentityRepository(SqlRepository):
    """Provider links in ``external_identities``."""

    async def get(self, provider: str, subject: str) -> ExternalIdentity | None:
        row = (
            await self._execute(
                select(*_LINK_COLUMNS).where(
                    _links.c.provider == provider,
                    _links.c.subject == subject,
                )
            )
        ).first()
        return None if row is None else _link(row)

    async def add(self, identity: NewExternalIdentity) -> ExternalIdentity:
        statement = (
            insert(_links)
            .values(
                user_id=identity.user_id,
                provider=identity.provider,
                subject=identity.subject,
                email=identity.email,
                created_at=identity.created_at,
            )
            .returning(*_LINK_COLUMNS)
        )
        # A taken (provider, subject) violates uq_external_identities_provider_subject:
        # AUTH_OAUTH_ALREADY_LINKED through CONSTRAINT_ERRORS.
        return _link((await self._execute(statement)).one())

    async def list_for_user(self, user_id: int) -> Sequence[ExternalIdentity]:
        rows = await self._execute(
            select(*_LINK_COLUMNS).where(_links.c.user_id == user_id).order_by(_links.c.id)
        )
        return [_link(row) for row in rows]
