"""The hand-written baselines: the same four hot paths straight on the drivers.

Each baseline gives the guarantees our use case gives, with the code a careful person would
write by hand: single-statement reads run outside any explicit transaction; multi-statement
reads on SQLite share one snapshot (``BEGIN`` ... ``COMMIT``); the stock write locks the row,
then updates it ``RETURNING`` the book. One exception, in the baseline's favour: on PostgreSQL
our read-only units of work share one snapshot too (REPEATABLE READ), the baseline's two reads
do not (a transaction around them would cost it two more round trips).
Rows are mapped to plain dicts with the same Python values our entities hold (``Decimal``
prices, ``date``, aware UTC ``datetime``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
import jwt

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.sqlalchemy.engine import SQLITE_PRAGMAS

__all__ = ["RawPostgres", "RawSqlite", "Token"]

BOOK_COLUMNS: Final = (
    "id, title, author, price_cents, isbn, genre_id, description, cover_image_url, "
    "publish_date, stock_quantity, created_at, updated_at, review_count, rating_sum"
)
_NAMES: Final = [name.strip() for name in BOOK_COLUMNS.split(",")]
_CENT: Final = Decimal("0.01")
_REQUIRED: Final = ["exp", "iat", "iss", "aud", "sub", "jti", "typ", "role", "sid", "ver"]

# {n} is a placeholder, formatted per driver: "?" for SQLite, "$n" for asyncpg.
_GENRE_TREE: Final = (
    "WITH RECURSIVE genre_tree(id) AS ("
    " SELECT id FROM genres WHERE id = {1}"
    " UNION SELECT g.id FROM genres g JOIN genre_tree t ON g.parent_id = t.id) "
)
_LIST_SQL: Final = (
    _GENRE_TREE + f"SELECT {BOOK_COLUMNS} FROM books"
    " WHERE genre_id IN (SELECT id FROM genre_tree)"
    " ORDER BY price_cents, id LIMIT {2} OFFSET {3}"
)
_COUNT_SQL: Final = (
    _GENRE_TREE + "SELECT count(*) FROM books WHERE genre_id IN (SELECT id FROM genre_tree)"
)
_GET_SQL: Final = f"SELECT {BOOK_COLUMNS} FROM books WHERE id = {{1}}"
_LOCK_SQL: Final = "SELECT stock_quantity FROM books WHERE id = {1}"
_SET_SQL: Final = (
    f"UPDATE books SET stock_quantity = {{2}} WHERE id = {{1}} RETURNING {BOOK_COLUMNS}"
)
_USER_SQL: Final = "SELECT id, role, is_active, token_version FROM users WHERE id = {1}"
_FAMILY_SQL: Final = "SELECT user_id, revoked_at FROM refresh_families WHERE id = {1}"


def _sqlite(sql: str) -> str:
    return sql.format("", "?1", "?2", "?3")


def _postgres(sql: str) -> str:
    return sql.format("", "$1", "$2", "$3")


class Token:
    """Verifies an access token with PyJWT: signature, algorithm, issuer, audience, expiry and
    the presence of every claim, as ``PyJwtTokenCodec`` does."""

    def __init__(self, secret: str, issuer: str, audience: str) -> None:
        self._key = secret.encode()
        self._issuer = issuer
        self._audience = audience

    @classmethod
    def for_shop(cls, shop: Shop) -> Token:
        """Verifies the tokens ``shop`` issues (it must have a configured HS256 secret)."""
        identity = shop.settings.identity
        return cls(str(shop.settings.jwt_secret), identity.issuer, identity.audience)

    def claims(self, token: str) -> tuple[int, int, int]:
        """``(user id, session id, token version)`` of a valid access token."""
        payload = jwt.decode(
            token,
            self._key,
            algorithms=["HS256"],
            issuer=self._issuer,
            audience=self._audience,
            options={"require": _REQUIRED, "strict_aud": True},
        )
        if payload["typ"] != "access":
            raise PermissionError("not an access token")
        return int(payload["sub"]), payload["sid"], payload["ver"]


def _check_principal(user: Any, family: Any, session_user: int, version: int) -> tuple[int, str]:
    if user is None or not user[2] or user[3] != version:
        raise PermissionError("invalid token")
    if family is None or family[0] != session_user or family[1] is not None:
        raise PermissionError("invalid token")
    return user[0], user[1]


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(_CENT)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sqlite_book(row: Sequence[Any]) -> dict[str, Any]:
    book = dict(zip(_NAMES, row, strict=True))
    book["price"] = _money(book.pop("price_cents"))
    if book["publish_date"] is not None:
        book["publish_date"] = date.fromisoformat(book["publish_date"])
    book["created_at"] = _utc(book["created_at"])
    book["updated_at"] = _utc(book["updated_at"])
    return book


def _postgres_book(row: asyncpg.Record) -> dict[str, Any]:
    book = dict(row)
    book["price"] = _money(book.pop("price_cents"))
    return book


class RawSqlite:
    """The hot paths on one aiosqlite connection, configured like the engine's."""

    def __init__(self, connection: aiosqlite.Connection, token: Token) -> None:
        self._db = connection
        self._token = token

    @classmethod
    async def open(cls, path: str, token: Token) -> RawSqlite:
        connection = await aiosqlite.connect(path, isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            await connection.execute(pragma)
        return cls(connection, token)

    async def aclose(self) -> None:
        await self._db.close()

    async def server_version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    async def get_book(self, book_id: int) -> dict[str, Any]:
        rows = await self._db.execute_fetchall(_sqlite(_GET_SQL), (book_id,))
        return _sqlite_book(next(iter(rows)))

    async def list_books(self, genre_id: int, page: int, size: int) -> tuple[list[Any], int]:
        await self._db.execute("BEGIN")
        try:
            rows = await self._db.execute_fetchall(
                _sqlite(_LIST_SQL), (genre_id, size, (page - 1) * size)
            )
            (total,) = next(iter(await self._db.execute_fetchall(_sqlite(_COUNT_SQL), (genre_id,))))
        finally:
            await self._db.execute("COMMIT")
        return [_sqlite_book(row) for row in rows], total

    async def set_stock(self, book_id: int, quantity: int) -> tuple[int, dict[str, Any]]:
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            ((before,),) = await self._db.execute_fetchall(_sqlite(_LOCK_SQL), (book_id,))
            rows = await self._db.execute_fetchall(_sqlite(_SET_SQL), (book_id, quantity))
            await self._db.execute("COMMIT")
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise
        return before, _sqlite_book(next(iter(rows)))

    async def authenticate(self, token: str) -> tuple[int, str]:
        user_id, session_id, version = self._token.claims(token)
        await self._db.execute("BEGIN")
        try:
            users = await self._db.execute_fetchall(_sqlite(_USER_SQL), (user_id,))
            families = await self._db.execute_fetchall(_sqlite(_FAMILY_SQL), (session_id,))
        finally:
            await self._db.execute("COMMIT")
        return _check_principal(
            next(iter(users), None), next(iter(families), None), user_id, version
        )


class RawPostgres:
    """The hot paths on an asyncpg pool, configured like the engine's (JIT off)."""

    def __init__(self, pool: asyncpg.Pool, token: Token) -> None:
        self._pool = pool
        self._token = token

    @classmethod
    async def open(cls, dsn: str, token: Token) -> RawPostgres:
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=10, server_settings={"jit": "off"}
        )
        return cls(pool, token)

    async def aclose(self) -> None:
        await self._pool.close()

    async def server_version(self) -> str:
        return f"PostgreSQL {await self._pool.fetchval('SHOW server_version')}"

    async def get_book(self, book_id: int) -> dict[str, Any]:
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(_postgres(_GET_SQL), book_id)
        return _postgres_book(row)

    async def list_books(self, genre_id: int, page: int, size: int) -> tuple[list[Any], int]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_postgres(_LIST_SQL), genre_id, size, (page - 1) * size)
            total = await connection.fetchval(_postgres(_COUNT_SQL), genre_id)
        return [_postgres_book(row) for row in rows], total

    async def set_stock(self, book_id: int, quantity: int) -> tuple[int, dict[str, Any]]:
        async with self._pool.acquire() as connection, connection.transaction():
            before = await connection.fetchval(_postgres(_LOCK_SQL) + " FOR UPDATE", book_id)
            row = await connection.fetchrow(_postgres(_SET_SQL), book_id, quantity)
        return before, _postgres_book(row)

    async def authenticate(self, token: str) -> tuple[int, str]:
        user_id, session_id, version = self._token.claims(token)
        async with self._pool.acquire() as connection:
            user = await connection.fetchrow(_postgres(_USER_SQL), user_id)
            family = await connection.fetchrow(_postgres(_FAMILY_SQL), session_id)
        return _check_principal(user, family, user_id, version)
