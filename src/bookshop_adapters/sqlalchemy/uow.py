"""The SQL unit of work: one connection, one transaction, every context's repositories.

Adding a context's repositories is one line per repository in :class:`SqlUnitOfWork`::

    carts = repository(SqlCartRepository)

A repository class takes the unit of work's ``AsyncConnection`` (subclass
:class:`~bookshop_adapters.sqlalchemy.repository.SqlRepository`); it is built on first use
and lives as long as the transaction.

SQLite writers queue in the process (:class:`WriterQueue`): a writing unit of work on a SQLite
engine first waits its turn behind this process's other writers on the engine, first come,
first served, and only then checks a connection out and emits ``BEGIN IMMEDIATE``. Without
it, every waiting writer would sit in SQLite's busy handler, which sleeps between tries (up to
100 ms a nap), so the lock would often stand free while the next writer slept; with it the
next writer begins the moment the previous one ends, and a waiting writer holds no pooled
connection. The busy timeout still bounds waiting for writers of other processes sharing the
file, and the queue is bounded by the same ``StoreTimeouts.lock`` (then ``STORE_BUSY``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, Generic, Self, TypeVar, cast, overload

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

from bookshop_adapters.sqlalchemy.analytics import SqlReportRepository
from bookshop_adapters.sqlalchemy.catalog import SqlBookRepository, SqlGenreRepository
from bookshop_adapters.sqlalchemy.commerce import (
    SqlCartRepository,
    SqlOrderRepository,
    SqlWishlistRepository,
)
from bookshop_adapters.sqlalchemy.errors import store_busy, translating_errors
from bookshop_adapters.sqlalchemy.identity import (
    SqlExternalIdentityRepository,
    SqlLoginThrottleRepository,
    SqlRefreshTokenRepository,
    SqlUserRepository,
)
from bookshop_adapters.sqlalchemy.oauth import SqlOAuthStateRepository
from bookshop_adapters.sqlalchemy.outbox import SqlOutboxRepository
from bookshop_adapters.sqlalchemy.prebooking import SqlPreBookingRepository
from bookshop_adapters.sqlalchemy.reviews import SqlReviewRepository
from bookshop_adapters.sqlalchemy.search import SqlSearchIndex

__all__ = [
    "NO_TRANSACTION_OPTION",
    "READ_ONLY_OPTION",
    "SqlUnitOfWork",
    "WriterQueue",
    "queue_writers",
    "repository",
]

log = logging.getLogger("bookshop.sqlalchemy")

#: Connection execution option marking a read-only transaction. On SQLite the engine's
#: ``begin`` hook reads it to emit a plain ``BEGIN`` instead of ``BEGIN IMMEDIATE``.
READ_ONLY_OPTION: Final = "bookshop_read_only"

#: Connection execution option marking a read without a snapshot (``snapshot=False``): on
#: SQLite the engine's ``begin`` hook emits no ``BEGIN``, so each statement runs on its own.
#: (SQLAlchemy's ``isolation_level="AUTOCOMMIT"`` does that on PostgreSQL; on SQLite it would
#: reset the driver's isolation level when the connection goes back to the pool, and the driver
#: would then begin transactions of its own.)
NO_TRANSACTION_OPTION: Final = "bookshop_no_transaction"

R = TypeVar("R")


class WriterQueue:
    """This process's writers of one SQLite engine, let through one at a time, first come,
    first served (see the module docstring).

    Args:
        patience: How long a writer waits for its turn (``StoreTimeouts.lock``) before
            giving up with ``STORE_BUSY``.
    """

    def __init__(self, patience: float) -> None:
        self.patience = patience
        # One lock per event loop: an asyncio.Lock belongs to the loop it first waited in,
        # and an engine may outlive a loop (tests, a CLI running several asyncio.run calls).
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def turn(self) -> asyncio.Lock:
        """Wait for this writer's turn; the caller releases the returned lock when its
        transaction is over.

        Raises:
            Unavailable: ``STORE_BUSY`` when the turn does not come within ``patience``.
        """
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        try:
            async with asyncio.timeout(self.patience):
                await lock.acquire()
        except TimeoutError:
            raise store_busy() from None
        return lock


#: The writer queue of each SQLite engine made by ``create_engine_for_url``.
_WRITER_QUEUES: Final[weakref.WeakKeyDictionary[Engine, WriterQueue]] = weakref.WeakKeyDictionary()


def queue_writers(engine: AsyncEngine, patience: float) -> None:
    """Make the writing units of work on ``engine`` (SQLite) queue in this process first.

    Args:
        engine: A SQLite engine.
        patience: How long a writer waits for its turn before ``STORE_BUSY``.
    """
    _WRITER_QUEUES[engine.sync_engine] = WriterQueue(patience)


class repository(Generic[R]):
    """Declares a repository attribute of :class:`SqlUnitOfWork`.

    Args:
        factory: Builds the repository from the unit of work's connection (usually the class).
    """

    def __init__(self, factory: Callable[[AsyncConnection], R]) -> None:
        self._factory = factory
        self._name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, instance: SqlUnitOfWork, owner: type[Any]) -> R: ...

    def __get__(self, instance: SqlUnitOfWork | None, owner: type[Any]) -> Self | R:
        if instance is None:
            return self
        cache = instance._repositories
        if self._name not in cache:
            cache[self._name] = self._factory(instance.connection)
        return cast(R, cache[self._name])


def _open(engine: Engine, options: dict[str, Any]) -> Connection:
    """A pooled connection with ``options``, its transaction begun.

    Run in one greenlet (``greenlet_spawn``): through ``AsyncConnection`` checking out,
    setting the options and beginning would take a greenlet each (about 8 µs apiece).
    """
    connection = engine.connect()
    try:
        if options:
            connection.execution_options(**options)
        connection.begin()
    except BaseException:
        connection.close()
        raise
    return connection


class SqlUnitOfWork:
    """One transaction on an SQL store; rolls back unless ``commit()`` was called.

    ``async with`` checks a connection out of the pool and begins the transaction (on SQLite
    ``BEGIN IMMEDIATE`` for writes, plain ``BEGIN`` when ``read_only``; on PostgreSQL ``BEGIN``
    at READ COMMITTED for writes, ``BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`` when
    ``read_only``); leaving it rolls back whatever was not committed and returns the
    connection.

    A read-only unit of work with ``snapshot=False`` begins no transaction: no ``BEGIN``, no
    ``ROLLBACK`` (on PostgreSQL the connection is in autocommit, SQLAlchemy's
    ``isolation_level="AUTOCOMMIT"``; on SQLite the ``begin`` hook emits nothing), so each
    statement reads the data committed when it starts. Both settings belong to this checkout
    of the connection only: SQLAlchemy restores the connection's isolation level when it goes
    back to the pool, and the SQLite option lives on this unit of work's ``Connection``
    object, so the next unit of work on the same pooled connection is transactional again.

    Args:
        engine: The backend's engine.
        read_only: Promise not to write: SQLite takes no write lock, PostgreSQL refuses writes
            (except with ``snapshot=False``: autocommit has no read-only transaction to
            enforce it). With ``snapshot`` every statement reads the same snapshot of the
            database.
        snapshot: Only with ``read_only`` (a write is always one transaction): ``False`` runs
            the statements without a transaction, each reading its own snapshot (see
            :class:`~bookshop_core.kernel.uow.UnitOfWorkFactory`).
    """

    books = repository(SqlBookRepository)
    genres = repository(SqlGenreRepository)
    users = repository(SqlUserRepository)
    refresh_tokens = repository(SqlRefreshTokenRepository)
    login_throttles = repository(SqlLoginThrottleRepository)
    external_identities = repository(SqlExternalIdentityRepository)
    oauth_states = repository(SqlOAuthStateRepository)
    search_index = repository(SqlSearchIndex)
    outbox = repository(SqlOutboxRepository)
    prebookings = repository(SqlPreBookingRepository)
    reports = repository(SqlReportRepository)
    carts = repository(SqlCartRepository)
    orders = repository(SqlOrderRepository)
    wishlist = repository(SqlWishlistRepository)
    reviews = repository(SqlReviewRepository)

    def __init__(
        self, engine: AsyncEngine, *, read_only: bool = False, snapshot: bool = True
    ) -> None:
        self._engine = engine
        self.read_only = read_only
        self.snapshot = snapshot or not read_only
        self._connection: AsyncConnection | None = None
        self._repositories: dict[str, object] = {}
        self._writers = None if read_only else _WRITER_QUEUES.get(engine.sync_engine)
        self._turn: asyncio.Lock | None = None

    @property
    def connection(self) -> AsyncConnection:
        """The connection of the open transaction (for repositories)."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open; use it with 'async with'")
        return self._connection

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("a unit of work can be entered only once at a time")
        # Only a read-only unit of work sets options: a write needs none (the option's absence
        # means a write), which spares every write transaction a trip through the options.
        options: dict[str, Any] = {}
        if not self.snapshot:
            # Each statement on its own (see the class docstring); nothing to roll back.
            if self._engine.dialect.name == "postgresql":
                options["isolation_level"] = "AUTOCOMMIT"
            else:
                options[NO_TRANSACTION_OPTION] = True
        elif self.read_only:
            options[READ_ONLY_OPTION] = True
            if self._engine.dialect.name == "postgresql":
                # One snapshot for the whole unit of work (at READ COMMITTED, each statement
                # takes its own, so a list's total could disagree with its page).
                options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        turn = None if self._writers is None else await self._writers.turn()
        try:
            with translating_errors():
                opened = await greenlet_spawn(_open, self._engine.sync_engine, options)
        except BaseException:
            if turn is not None:
                turn.release()
            raise
        self._connection = AsyncConnection(self._engine, opened)
        self._turn = turn
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        turn, self._turn = self._turn, None
        try:
            await self._close(exc)
        finally:
            if turn is not None:  # the next writer's turn, once this one's lock is gone
                turn.release()

    async def _close(self, exc: BaseException | None) -> None:
        connection, self._connection = self._connection, None
        self._repositories.clear()
        if connection is None:
            return
        try:
            # Closing rolls back a transaction still open and returns the connection to the
            # pool, which then knows it needs no reset (rollback() first would make the pool
            # roll back once more).
            await connection.close()
        except Exception as cleanup_error:
            # The rollback failed. Older SQLAlchemy versions then keep the connection: closing
            # again hands it to the pool, which resets or discards it (a no-op otherwise).
            with contextlib.suppress(Exception):
                await connection.close()
            if exc is None:
                with translating_errors():
                    raise
            # Already failing: the original error matters more than a failed rollback.
            log.warning("rollback failed while handling %r: %r", exc, cleanup_error)

    async def commit(self) -> None:
        """Make every change durable. Statements after it start a new transaction."""
        with translating_errors():
            await self.connection.commit()

    async def rollback(self) -> None:
        """Discard every change since the transaction began."""
        with translating_errors():
            await self.connection.rollback()
