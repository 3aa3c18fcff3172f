"""The hand-written baseline: checkout straight on the drivers, on the library's schema.

It does the work ``shop.orders.checkout`` does, with the guarantees it gives, in the same two
transactions with the payment call between them and no transaction open during it:

1. Transaction 1 (PostgreSQL: READ COMMITTED; SQLite: ``BEGIN IMMEDIATE``, after waiting for
   this process's other writers on an ``asyncio.Lock``, as the engine does): read the cart's
   lines joined to their books, locking both in book id order (``ORDER BY c.book_id FOR
   UPDATE OF c, b``; SQLite holds the database's write lock already); check that there are
   open lines and that the stock covers each; insert the pending order (``RETURNING id``);
   insert its lines and take the stock with one set-based statement each (``INSERT ...
   SELECT`` / ``UPDATE ... FROM`` over the cart's open lines, so their cost does not grow with
   the number of lines); hold the cart's lines for the order. 5 statements on SQLite; on
   PostgreSQL the order, its lines and the stock are one statement of data-modifying ``WITH``
   queries (as the library's ``add_pending`` does there), so 3.
2. The payment gateway's ``charge`` (the same no-op gateway object ours calls).
3. Transaction 2: confirm the order if it is still pending (``UPDATE ... WHERE status =
   'pending'``), delete the lines it held, and queue the confirmation email in the outbox, the
   buyer's address read by the ``INSERT ... SELECT`` itself. 3 statements.

8 statements per checkout on SQLite, 6 on PostgreSQL.

A careful person writing this by hand would write it so; it is what the library's
repositories are measured against. Timestamps, money and JSON are written in the formats the
library's column types use, so both sides' rows read back the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
from attrs import frozen

from bookshop_adapters.sqlalchemy.engine import SQLITE_PRAGMAS
from bookshop_core.commerce.ports import PaymentGateway, PaymentRequest

__all__ = ["RawOrder", "RawPostgresCheckout", "RawSqliteCheckout"]

_CENT: Final = Decimal("0.01")


class RawCheckoutError(Exception):
    """The cart is empty, or the stock does not cover it (the benchmark never causes it)."""


@frozen
class RawOrder:
    """What the baseline's checkout returns."""

    id: int
    total_cents: int
    lines: int


def _money(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(_CENT))


def _fingerprint(lines: Sequence[Any]) -> str:
    """The library's cart fingerprint: sha256 of the sorted ``{book}x{quantity}`` pairs."""
    canonical = ",".join(f"{book}x{quantity}" for book, quantity in sorted(lines))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _variables(order_id: int, created_at: datetime, lines: Sequence[Any], total: int) -> str:
    """The confirmation email's variables, as the library queues them."""
    return json.dumps(
        {
            "order_id": order_id,
            "created_at": created_at.isoformat(),
            "items": [
                {"title": title, "quantity": quantity, "unit_price": _money(price)}
                for _, _, quantity, title, price in lines
            ],
            "total": _money(total),
        }
    )


def _open_lines(rows: Iterable[Any]) -> list[tuple[int, int, int, str, int]]:
    """``(book_id, stock, quantity, title, price_cents)`` of the open lines, checked."""
    lines = [(r[1], r[6], r[2], r[4], r[5]) for r in rows if r[3] is None]
    if not lines:
        raise RawCheckoutError("empty cart (or a checkout holds it)")
    if any(quantity > stock for _, stock, quantity, _, _ in lines):
        raise RawCheckoutError("insufficient stock")
    return lines


# {n}: "$n" for asyncpg, "?n" for SQLite.
_LOCK_LINES: Final = (
    "SELECT c.id, c.book_id, c.quantity, c.held_by_order_id, b.title, b.price_cents,"
    " b.stock_quantity FROM cart_items c JOIN books b ON b.id = c.book_id"
    " WHERE c.user_id = {1} ORDER BY c.book_id"
)
_INSERT_ORDER: Final = (
    "INSERT INTO orders (user_id, status, total_cents, created_at, updated_at,"
    " idempotency_key, cart_fingerprint, payment_reference, failure_reason)"
    " VALUES ({1}, 'pending', {2}, {3}, {3}, NULL, {4}, NULL, NULL) RETURNING id"
)
_INSERT_LINES: Final = (
    "INSERT INTO order_items (order_id, book_id, title, author, quantity, unit_price_cents)"
    " SELECT {1}, c.book_id, b.title, b.author, c.quantity, b.price_cents"
    " FROM cart_items c JOIN books b ON b.id = c.book_id"
    " WHERE c.user_id = {2} AND c.held_by_order_id IS NULL"
)
_TAKE_STOCK: Final = (
    "UPDATE books SET stock_quantity = books.stock_quantity - c.quantity FROM cart_items c"
    " WHERE c.book_id = books.id AND c.user_id = {1} AND c.held_by_order_id IS NULL"
)
#: PostgreSQL: the order, its lines and the stock in one statement (the cart's rows and its
#: books are locked by the lines' read already; every part reads the statement's snapshot).
_RESERVE_PG: Final = (
    "WITH new_order AS ("
    " INSERT INTO orders (user_id, status, total_cents, created_at, updated_at,"
    " idempotency_key, cart_fingerprint, payment_reference, failure_reason)"
    " VALUES ($1, 'pending', $2, $3, $3, NULL, $4, NULL, NULL) RETURNING id"
    "), new_lines AS ("
    " INSERT INTO order_items (order_id, book_id, title, author, quantity, unit_price_cents)"
    " SELECT new_order.id, c.book_id, b.title, b.author, c.quantity, b.price_cents"
    " FROM new_order, cart_items c JOIN books b ON b.id = c.book_id"
    " WHERE c.user_id = $1 AND c.held_by_order_id IS NULL ORDER BY c.book_id"
    "), taken AS ("
    " UPDATE books SET stock_quantity = books.stock_quantity - c.quantity FROM cart_items c"
    " WHERE c.book_id = books.id AND c.user_id = $1 AND c.held_by_order_id IS NULL"
    ") SELECT id FROM new_order"
)
_HOLD: Final = (
    "UPDATE cart_items SET held_by_order_id = {2} WHERE user_id = {1} AND held_by_order_id IS NULL"
)
_CONFIRM: Final = (
    "UPDATE orders SET status = 'confirmed', payment_reference = {2}, updated_at = {3}"
    " WHERE id = {1} AND status = 'pending' RETURNING user_id"
)
_FILL: Final = (
    "INSERT INTO cart_items (user_id, book_id, quantity, added_at, held_by_order_id)"
    " VALUES ({1}, {2}, {3}, {4}, NULL)"
)
_REMOVE_HELD: Final = "DELETE FROM cart_items WHERE held_by_order_id = {1}"
_QUEUE: Final = (
    "INSERT INTO outbox_messages (message_id, kind, recipients, variables, status, attempts,"
    " next_attempt_at, claimed_until, last_error, created_at, sent_at)"
    " SELECT {2}, 'order_confirmation', {json_array}(email), {3}, 'pending', 0, {4}, NULL,"
    " NULL, {4}, NULL FROM users WHERE id = {1}"
)


def _pg(sql: str) -> str:
    return sql.format("", "$1", "$2", "$3", "$4", json_array="json_build_array")


def _lite(sql: str) -> str:
    return sql.format("", "?1", "?2", "?3", "?4", json_array="json_array")


def _sqlite_time(instant: datetime) -> str:
    """``UTCDateTime`` on SQLite: the naive UTC wall time as fixed-width text."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _request(order_id: int, user_id: int, total_cents: int) -> PaymentRequest:
    return PaymentRequest(
        order_id=order_id,
        user_id=user_id,
        amount=(Decimal(total_cents) / 100).quantize(_CENT),
        currency="USD",
    )


class RawPostgresCheckout:
    """Checkout on an asyncpg pool sized like the engine's (up to 20, kept open), JIT off."""

    #: Statements per checkout (transaction control not counted, as ``count_statements``).
    STATEMENTS: Final = 6

    LOCK_LINES: Final = _pg(_LOCK_LINES) + " FOR UPDATE OF c, b"
    RESERVE: Final = _RESERVE_PG
    HOLD: Final = _pg(_HOLD)
    CONFIRM: Final = _pg(_CONFIRM)
    REMOVE_HELD: Final = _pg(_REMOVE_HELD)
    QUEUE: Final = _pg(_QUEUE)

    def __init__(self, pool: asyncpg.Pool, gateway: PaymentGateway) -> None:
        self._pool = pool
        self._gateway = gateway

    @classmethod
    async def open(cls, dsn: str, gateway: PaymentGateway, size: int) -> RawPostgresCheckout:
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=size, server_settings={"jit": "off"}
        )
        return cls(pool, gateway)

    async def aclose(self) -> None:
        await self._pool.close()

    async def server_version(self) -> str:
        return f"PostgreSQL {await self._pool.fetchval('SHOW server_version')}"

    async def checkout(self, user_id: int) -> RawOrder:
        now = datetime.now(UTC)
        async with self._pool.acquire() as db, db.transaction():
            lines = _open_lines(await db.fetch(self.LOCK_LINES, user_id))
            total = sum(quantity * price for _, _, quantity, _, price in lines)
            fingerprint = _fingerprint([(book, quantity) for book, _, quantity, _, _ in lines])
            order_id = await db.fetchval(self.RESERVE, user_id, total, now, fingerprint)
            await db.execute(self.HOLD, user_id, order_id)
        result = await self._gateway.charge(_request(order_id, user_id, total))
        settled = datetime.now(UTC)
        async with self._pool.acquire() as db, db.transaction():
            buyer = await db.fetchval(self.CONFIRM, order_id, result.reference, settled)
            if buyer is None:
                raise RawCheckoutError("settled meanwhile")
            await db.execute(self.REMOVE_HELD, order_id)
            variables = _variables(order_id, now, lines, total)
            await db.execute(self.QUEUE, user_id, uuid.uuid4().hex, variables, settled)
        return RawOrder(order_id, total, len(lines))

    async def fill_carts(self, lines: Sequence[tuple[int, int, int]]) -> None:
        """Put ``(user_id, book_id, quantity)`` lines in carts (the set-up of a round)."""
        now = datetime.now(UTC)
        async with self._pool.acquire() as db:
            await db.executemany(_pg(_FILL), [(*line, now) for line in lines])

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self._pool.acquire() as db:
            return [tuple(row) for row in await db.fetch(sql, *args)]


class RawSqliteCheckout:
    """Checkout on a pool of aiosqlite connections (as many as the engine's pool may open),
    configured like the engine's: the same PRAGMAs (WAL, ``busy_timeout``), autocommit
    driver, ``BEGIN IMMEDIATE`` for the writing transactions, and writers queued first in
    the process on an ``asyncio.Lock`` (as the engine's writer queue does), so that waiting
    writers do not nap in SQLite's busy handler."""

    #: Statements per checkout (transaction control not counted, as ``count_statements``).
    STATEMENTS: Final = 8

    LOCK_LINES: Final = _lite(_LOCK_LINES)
    INSERT_ORDER: Final = _lite(_INSERT_ORDER)
    INSERT_LINES: Final = _lite(_INSERT_LINES)
    TAKE_STOCK: Final = _lite(_TAKE_STOCK)
    HOLD: Final = _lite(_HOLD)
    CONFIRM: Final = _lite(_CONFIRM)
    REMOVE_HELD: Final = _lite(_REMOVE_HELD)
    QUEUE: Final = _lite(_QUEUE)

    def __init__(self, connections: list[aiosqlite.Connection], gateway: PaymentGateway) -> None:
        self._all = connections
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for connection in connections:
            self._idle.put_nowait(connection)
        self._gateway = gateway
        self._writers = asyncio.Lock()

    @classmethod
    async def open(cls, path: str, gateway: PaymentGateway, size: int) -> RawSqliteCheckout:
        connections = []
        for _ in range(size):
            connection = await aiosqlite.connect(path, isolation_level=None)
            for pragma in SQLITE_PRAGMAS:
                await connection.execute(pragma)
            connections.append(connection)
        return cls(connections, gateway)

    async def aclose(self) -> None:
        for connection in self._all:
            await connection.close()

    async def server_version(self) -> str:
        async with self._connection() as db:
            ((version,),) = await db.execute_fetchall("SELECT sqlite_version()")
        return f"SQLite {version}"

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiosqlite.Connection]:
        connection = await self._idle.get()
        try:
            yield connection
        finally:
            self._idle.put_nowait(connection)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._writers, self._connection() as db:
            await db.execute_fetchall("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute_fetchall("ROLLBACK")
                raise
            await db.execute_fetchall("COMMIT")

    async def checkout(self, user_id: int) -> RawOrder:
        now = datetime.now(UTC)
        stamp = _sqlite_time(now)
        async with self._write() as db:
            lines = _open_lines(await db.execute_fetchall(self.LOCK_LINES, (user_id,)))
            total = sum(quantity * price for _, _, quantity, _, price in lines)
            fingerprint = _fingerprint([(book, quantity) for book, _, quantity, _, _ in lines])
            ((order_id,),) = await db.execute_fetchall(
                self.INSERT_ORDER, (user_id, total, stamp, fingerprint)
            )
            await db.execute_fetchall(self.INSERT_LINES, (order_id, user_id))
            await db.execute_fetchall(self.TAKE_STOCK, (user_id,))
            await db.execute_fetchall(self.HOLD, (user_id, order_id))
        result = await self._gateway.charge(_request(order_id, user_id, total))
        stamp = _sqlite_time(datetime.now(UTC))
        async with self._write() as db:
            confirmed = await db.execute_fetchall(self.CONFIRM, (order_id, result.reference, stamp))
            if not confirmed:
                raise RawCheckoutError("settled meanwhile")
            await db.execute_fetchall(self.REMOVE_HELD, (order_id,))
            variables = _variables(order_id, now, lines, total)
            await db.execute_fetchall(self.QUEUE, (user_id, uuid.uuid4().hex, variables, stamp))
        return RawOrder(order_id, total, len(lines))

    async def fill_carts(self, lines: Sequence[tuple[int, int, int]]) -> None:
        """Put ``(user_id, book_id, quantity)`` lines in carts (the set-up of a round)."""
        stamp = _sqlite_time(datetime.now(UTC))
        async with self._write() as db:
            await db.executemany(_lite(_FILL), [(*line, stamp) for line in lines])

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self._connection() as db:
            return [tuple(row) for row in await db.execute_fetchall(sql.replace("$", "?"), args)]
