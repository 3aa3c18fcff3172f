"""Engines for the two supported SQL stores, and the backend object that owns one.

SQLite (``sqlite+aiosqlite:///path.db``, the embedded default)
    Every new connection runs ``PRAGMA busy_timeout=30000`` (wait for a lock instead of failing
    at once), ``foreign_keys=ON``, ``journal_mode=WAL`` (readers never block the writer) and
    ``synchronous=NORMAL`` (durable at checkpoints, safe with WAL). The driver is put in
    autocommit mode (``isolation_level = None``) and SQLAlchemy's ``begin`` event emits the
    ``BEGIN`` itself (straight on the driver), so that we choose its kind:

    - a **writing** unit of work emits ``BEGIN IMMEDIATE``: it takes SQLite's single write lock
      up front, waiting up to the busy timeout for it. A deferred ``BEGIN`` would start as a
      reader and fail with ``SQLITE_BUSY`` (no waiting possible) when it tries to upgrade to
      a writer while another connection writes; with ``IMMEDIATE`` concurrent writers simply
      queue, and a read-then-write (check stock, then decrement) is serialised as a whole.
    - a **read-only** unit of work (``unit_of_work(read_only=True)``) emits a plain ``BEGIN``:
      it reads one consistent WAL snapshot and never blocks or waits for writers.

    One engine (one pool) serves both; the kind travels as the connection execution option
    :data:`~bookshop_adapters.sqlalchemy.uow.READ_ONLY_OPTION`, read in the ``begin`` hook.
    A connection returned to the pool is rolled back only if SQLite says a transaction is
    still open (each rollback is a trip to aiosqlite's worker thread).
    In-memory SQLite is refused: each pooled connection would see its own empty database
    (use ``memory://`` for an in-memory shop).

PostgreSQL (``postgresql+asyncpg://...``)
    READ COMMITTED, a pool of 10 (+10 overflow), connections recycled after 30 minutes, JIT off
    (it only slows the short statements a shop runs). Race safety comes from row locks
    (``SELECT ... FOR UPDATE``) and guarded atomic updates, not from a stricter isolation
    level. Read-only units of work run ``BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY``:
    all their statements read one snapshot (a list's page and its total agree). For a short
    read-only transaction this costs nothing measurable, and it cannot fail to serialise.

Any keyword given to :func:`create_engine_for_url` overrides these defaults.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from types import TracebackType
from typing import Any, Final, Self

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState
from sqlalchemy.util import await_

from bookshop_adapters.sqlalchemy.errors import store_unavailable, translate_error
from bookshop_adapters.sqlalchemy.uow import READ_ONLY_OPTION, SqlUnitOfWork

__all__ = [
    "PING_TIMEOUT",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_PRAGMAS",
    "SqlBackend",
    "create_engine_for_url",
    "open_sql_backend",
]

log = logging.getLogger("bookshop.sqlalchemy")

#: How long a SQLite connection waits for a lock before giving up with ``STORE_BUSY``.
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000

#: Run on every new SQLite connection, in this order (the timeout first, so that switching
#: to WAL waits for a lock rather than failing).
SQLITE_PRAGMAS: Final = (
    f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
)

#: How long :meth:`SqlBackend.ping` waits for the store before calling it unavailable.
PING_TIMEOUT: Final = 5.0

_POSTGRES_DEFAULTS: Final[dict[str, Any]] = {
    "pool_size": 10,
    "max_overflow": 10,
    "pool_timeout": 30,
    "pool_recycle": 1800,
    "isolation_level": "READ COMMITTED",
    "connect_args": {
        "timeout": 10,
        "server_settings": {"application_name": "bookshop", "jit": "off"},
    },
}

_SQLITE_DEFAULTS: Final[dict[str, Any]] = {
    "pool_size": 5,
    "max_overflow": 15,
    "pool_timeout": 60,
    # The pool's reset is the engine's "reset" hook: a rollback only when one is needed.
    "pool_reset_on_return": None,
}


def create_engine_for_url(url: str, **engine_kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``, configured as described in this module's docstring.

    Args:
        url: ``sqlite+aiosqlite:///PATH`` or ``postgresql+asyncpg://USER:PASSWORD@HOST/DB``.
        **engine_kwargs: Passed to :func:`sqlalchemy.ext.asyncio.create_async_engine`,
            overriding the defaults.

    Raises:
        ValueError: any other scheme or driver, an unparsable URL, or in-memory SQLite.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {url!r}") from exc
    if parsed.drivername == "sqlite+aiosqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or "mode=memory" in database:
            raise ValueError(
                "in-memory SQLite cannot be shared by a connection pool; "
                "use a file (sqlite+aiosqlite:///shop.db) or memory://"
            )
        engine = create_async_engine(parsed, **{**_SQLITE_DEFAULTS, **engine_kwargs})
        _install_sqlite_hooks(engine)
        return engine
    if parsed.drivername == "postgresql+asyncpg":
        return create_async_engine(parsed, **{**_POSTGRES_DEFAULTS, **engine_kwargs})
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}; "
        "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST/DB"
    )


def _execute_while_locked(cursor: Any, statement: str) -> None:
    """Run a connection-setup pragma, retrying while the file is locked.

    Switching a new file to WAL needs a lock that SQLite refuses at once, without its busy
    handler, while another connection sets the file up (several processes starting together).
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute(statement)
            return
        except Exception as exc:
            if "database is locked" not in str(exc) or time.monotonic() > deadline:
                raise
        await_(asyncio.sleep(pause))
        pause = min(pause * 2, 0.2)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _configure_connection(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Driver-level autocommit: the sqlite3 module must not issue its own BEGINs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                _execute_while_locked(cursor, pragma)
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        # Straight on the driver: one hand-off to aiosqlite's worker thread, where
        # exec_driver_sql takes three (cursor, execute, close).
        driver: Any = connection.connection.driver_connection
        try:
            await_(driver.execute_fetchall(statement))
        except sqlite3.Error as exc:
            # As exec_driver_sql would wrap it, for errors.py (a busy timeout is STORE_BUSY).
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc

    @event.listens_for(sync_engine, "reset")
    def _reset(dbapi_connection: Any, record: ConnectionPoolEntry, state: PoolResetState) -> None:
        # Replaces the pool's unconditional rollback on return: after a commit, or once the
        # unit of work has rolled back, SQLite has no transaction left to end.
        if state.terminate_only or not state.asyncio_safe:
            return
        if dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()


class SqlBackend:
    """An SQL store: its engine, its pool, and the units of work that use them.

    Args:
        engine: From :func:`create_engine_for_url`; the backend owns it and disposes of it in
            :meth:`aclose`.

    Attributes:
        engine: The one engine, for reads and writes alike (so
            :func:`~bookshop_adapters.sqlalchemy.statements.count_statements` sees every
            statement).
        dialect_name: ``"sqlite"`` or ``"postgresql"``.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect_name: str = engine.dialect.name

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """A new unit of work (a ``UnitOfWorkFactory``: pass ``backend.unit_of_work``)."""
        return SqlUnitOfWork(self.engine, read_only=read_only)

    async def ping(self) -> bool:
        """Whether the store answers ``SELECT 1`` within :data:`PING_TIMEOUT` seconds
        (for health checks); never raises."""
        try:
            async with asyncio.timeout(PING_TIMEOUT), self.engine.connect() as connection:
                # Read-only: on SQLite a plain BEGIN, so a health check never queues for the
                # write lock behind a long write.
                await connection.execution_options(**{READ_ONLY_OPTION: True})
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("store ping failed: %r", exc)
            return False
        return True

    async def aclose(self) -> None:
        """Close every pooled connection; the backend is unusable afterwards."""
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def open_sql_backend(url: str, **engine_kwargs: Any) -> SqlBackend:
    """Open the SQL store at ``url`` and check that it answers.

    The schema is not touched: run :func:`~bookshop_adapters.sqlalchemy.migrate.migrate`
    first (``build_shop(url, migrate=True)`` does).

    Raises:
        ValueError: an unsupported URL (see :func:`create_engine_for_url`).
        Unavailable: ``STORE_UNAVAILABLE`` when the store cannot be reached.
    """
    engine = create_engine_for_url(url, **engine_kwargs)
    try:
        # Connecting once runs the dialect's first-connect initialisation now, not inside the
        # first unit of work (where statement counters would see it).
        async with engine.connect():
            pass
    except Exception as exc:
        await engine.dispose()
        raise (translate_error(exc) or store_unavailable()) from exc
    return SqlBackend(engine)
