"""The hand-written baseline: each report as one SQL statement written by hand, run with the
raw drivers (asyncpg with a pool, aiosqlite on one connection), rows mapped to the same Python
values as ours (``Decimal`` money, ``None`` for a deleted book's id).

The statements do the same work as the library's: revenue of both spans in one conditional
aggregate over ``orders``; top sellers ranked in an aggregate subquery joined to ``books`` for
the kept rows only; low stock with ``COUNT(*) OVER ()``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]

from bookshop_adapters.sqlalchemy.engine import SQLITE_PRAGMAS

__all__ = ["RawPostgresReports", "RawSqliteReports"]

_SOLD = "('confirmed', 'delivered', 'shipped')"

_SUMMARY = f"""
SELECT SUM(CASE WHEN created_at >= {{s0}} AND created_at < {{e0}} THEN total_cents END),
       COUNT(CASE WHEN created_at >= {{s0}} AND created_at < {{e0}} THEN id END),
       SUM(CASE WHEN created_at >= {{s1}} AND created_at < {{e1}} THEN total_cents END),
       COUNT(CASE WHEN created_at >= {{s1}} AND created_at < {{e1}} THEN id END)
FROM orders
WHERE status IN {_SOLD} AND created_at >= {{low}} AND created_at < {{high}}
"""

_TOP = f"""
SELECT top.book_id, COALESCE(books.title, top.title), COALESCE(books.author, top.author),
       top.revenue_cents, top.units
FROM (
    SELECT oi.book_id, MAX(oi.title) AS title, MAX(oi.author) AS author,
           SUM(oi.quantity * oi.unit_price_cents) AS revenue_cents, SUM(oi.quantity) AS units
    FROM order_items oi JOIN orders o ON o.id = oi.order_id
    WHERE o.status IN {_SOLD} {{span}}
    GROUP BY oi.book_id, CASE WHEN oi.book_id IS NULL THEN oi.title END,
             CASE WHEN oi.book_id IS NULL THEN oi.author END
    ORDER BY {{metric}} DESC, oi.book_id IS NULL, oi.book_id,
             MAX(oi.title){{c}}, MAX(oi.author){{c}}
    LIMIT {{limit}}
) AS top LEFT JOIN books ON books.id = top.book_id
ORDER BY top.{{outer_metric}} DESC, top.book_id IS NULL, top.book_id, top.title{{c}},
         top.author{{c}}
"""

_LOW = """
SELECT id, title, author, stock_quantity, COUNT(*) OVER () FROM books
WHERE stock_quantity <= {threshold} ORDER BY stock_quantity, id LIMIT {limit}
"""

Spans = tuple[tuple[datetime, datetime], tuple[datetime, datetime]]


def _cents(value: Any) -> Decimal:
    return (Decimal(0 if value is None else int(value)) / 100).quantize(Decimal("0.01"))


def _summary(row: Any) -> tuple[Decimal, int, Decimal, int]:
    return _cents(row[0]), int(row[1]), _cents(row[2]), int(row[3])


def _top(rows: Any) -> list[tuple[int | None, str, str, Decimal, int]]:
    return [(r[0], r[1], r[2], _cents(r[3]), int(r[4])) for r in rows]


def _low(rows: Any) -> tuple[int, list[tuple[int, str, str, int]]]:
    total = rows[0][4] if rows else 0
    return total, [(r[0], r[1], r[2], r[3]) for r in rows]


def _metric(sort_by: str) -> tuple[str, str]:
    if sort_by == "revenue":
        return "SUM(oi.quantity * oi.unit_price_cents)", "revenue_cents"
    return "SUM(oi.quantity)", "units"


class RawPostgresReports:
    """The reports with asyncpg (a pool; JIT off, as the library's engine sets it)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        metric = {name: _metric(name) for name in ("revenue", "volume")}
        self._top = {
            (name, bool(span)): _TOP.format(
                span="AND o.created_at >= $2 AND o.created_at < $3" if span else "",
                metric=metric[name][0],
                outer_metric=metric[name][1],
                c=' COLLATE "C"',
                limit="$1",
            )
            for name in metric
            for span in (False, True)
        }
        self._summary = _SUMMARY.format(s0="$1", e0="$2", s1="$3", e1="$4", low="$5", high="$6")
        self._low = _LOW.format(threshold="$1", limit="$2")

    @classmethod
    async def open(cls, dsn: str) -> RawPostgresReports:
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=2, server_settings={"jit": "off"}
        )
        return cls(pool)

    async def aclose(self) -> None:
        await self._pool.close()

    async def summary(self, spans: Spans) -> tuple[Decimal, int, Decimal, int]:
        (s0, e0), (s1, e1) = spans
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(self._summary, s0, e0, s1, e1, min(s0, s1), max(e0, e1))
        return _summary(row)

    async def top(
        self, sort_by: str, limit: int, span: tuple[datetime, datetime] | None
    ) -> list[tuple[int | None, str, str, Decimal, int]]:
        args = (limit,) if span is None else (limit, *span)
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(self._top[sort_by, span is not None], *args)
        return _top(rows)

    async def low(self, threshold: int, limit: int) -> tuple[int, list[tuple[int, str, str, int]]]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(self._low, threshold, limit)
        return _low(rows)


def _sqlite_time(instant: datetime) -> str:
    """An instant as the library stores it on SQLite: naive UTC, fixed width."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class RawSqliteReports:
    """The reports with aiosqlite on one connection (the library's PRAGMAs)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        metric = {name: _metric(name) for name in ("revenue", "volume")}
        self._top = {
            (name, bool(span)): _TOP.format(
                span="AND o.created_at >= ? AND o.created_at < ?" if span else "",
                metric=metric[name][0],
                outer_metric=metric[name][1],
                c="",
                limit="?",
            )
            for name in metric
            for span in (False, True)
        }
        self._summary = _SUMMARY.format(
            s0=":s0", e0=":e0", s1=":s1", e1=":e1", low=":low", high=":high"
        )
        self._low = _LOW.format(threshold="?", limit="?")

    @classmethod
    async def open(cls, path: str) -> RawSqliteReports:
        db = await aiosqlite.connect(path)
        for pragma in SQLITE_PRAGMAS:
            await db.execute(pragma)
        return cls(db)

    async def aclose(self) -> None:
        await self._db.close()

    async def summary(self, spans: Spans) -> tuple[Decimal, int, Decimal, int]:
        (s0, e0), (s1, e1) = spans
        names = ("s0", "e0", "s1", "e1", "low", "high")
        instants = (s0, e0, s1, e1, min(s0, s1), max(e0, e1))
        args = {name: _sqlite_time(t) for name, t in zip(names, instants, strict=True)}
        async with self._db.execute(self._summary, args) as cursor:
            row = await cursor.fetchone()
        return _summary(row)

    async def top(
        self, sort_by: str, limit: int, span: tuple[datetime, datetime] | None
    ) -> list[tuple[int | None, str, str, Decimal, int]]:
        # The LIMIT comes first in the text only in the PostgreSQL spelling; here the span's
        # placeholders come before it.
        args: list[Any] = [] if span is None else [_sqlite_time(t) for t in span]
        async with self._db.execute(self._top[sort_by, span is not None], [*args, limit]) as cur:
            rows = await cur.fetchall()
        return _top(rows)

    async def low(self, threshold: int, limit: int) -> tuple[int, list[tuple[int, str, str, int]]]:
        async with self._db.execute(self._low, (threshold, limit)) as cursor:
            rows = await cursor.fetchall()
        return _low(rows)
