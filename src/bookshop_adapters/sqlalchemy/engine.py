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
      Writers of this process queue before that, in the event loop, first come, first served
      (:class:`~bookshop_adapters.sqlalchemy.uow.WriterQueue`, bounded by
      ``StoreTimeouts.lock``): SQLite's busy handler naps up to 100 ms between tries, so
      writers left to it leave the lock idle; the busy timeout remains for other processes.
    - a **read-only** unit of work (``unit_of_work(read_only=True)``) emits a plain ``BEGIN``:
      it reads one consistent WAL snapshot and never blocks or waits for writers. A deferred
      ``BEGIN`` takes no snapshot until the first read, so it is sent with the transaction's
      first statement, in that statement's hand-off to aiosqlite's worker thread (one
      hand-off fewer per read; see :mod:`~bookshop_adapters.sqlalchemy._aiosqlite`).
    - a read-only unit of work **without a snapshot** (``unit_of_work(read_only=True,
      snapshot=False)``) emits no ``BEGIN``: each statement is its own implicit transaction,
      reading the latest commit, and there is nothing to roll back.

    One engine (one pool) serves all three; the kind travels as the connection execution
    options :data:`~bookshop_adapters.sqlalchemy.uow.READ_ONLY_OPTION` and
    :data:`~bookshop_adapters.sqlalchemy.uow.NO_TRANSACTION_OPTION`, read in the ``begin``
    hook; they live on one checkout's ``Connection``, never on the pooled connection.
    A connection returned to the pool is rolled back only if SQLite says a transaction is
    still open (each rollback is a trip to aiosqlite's worker thread).
    In-memory SQLite is refused: each pooled connection would see its own empty database
    (use ``memory://`` for an in-memory shop).

PostgreSQL (``postgresql+asyncpg://...``)
    READ COMMITTED, a pool of up to 20 connections, each kept open once opened (no overflow
    connections: SQLAlchemy closes those as they come back, so every burst above the pool's
    size would open and close connections, several milliseconds of this process's CPU each),
    recycled after 30 minutes, JIT off (it only slows the short statements a shop runs).
    Connecting and every statement are bounded
    (:class:`~bookshop_adapters.sqlalchemy.timeouts.StoreTimeouts`: the server's
    ``statement_timeout``, asyncpg's connect ``timeout`` and ``command_timeout``), so a server
    that stops answering gives ``STORE_UNAVAILABLE`` instead of hanging requests. Race
    safety comes from row locks (``SELECT ... FOR UPDATE``) and guarded atomic updates, not
    from a stricter isolation level. Read-only units of work run
    ``BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY``: all their statements read one
    snapshot (a list's page and its total agree). For a short read-only transaction this
    costs nothing measurable, and it cannot fail to serialise. A read-only unit of work
    without a snapshot (``snapshot=False``) runs in autocommit (SQLAlchemy's
    ``isolation_level="AUTOCOMMIT"``): no ``BEGIN``, no ``ROLLBACK``, two round trips fewer,
    each statement with its own snapshot; SQLAlchemy puts the connection back to
    READ COMMITTED when it returns to the pool.

The waits (connecting, statements, the pool, SQLite's lock) come from a
:class:`~bookshop_adapters.sqlalchemy.timeouts.StoreTimeouts`; any other keyword given to
:func:`create_engine_for_url` overrides these defaults.

Health (:meth:`SqlBackend.ping`) says the store is usable: it answers within the ping bound,
its schema is at this code's newest revision (a missing or older schema would fail requests
with ``STORE_SCHEMA_MISSING``), and it accepts writes. The write check costs no write: on
SQLite a ``BEGIN IMMEDIATE`` with a zero busy timeout, rolled back at once (a read-only file
fails it at once with ``SQLITE_READONLY``, before any lock; a write lock held by someone else
means the file is writable, so it does not queue behind writers); on PostgreSQL the
``transaction_read_only`` setting of a read-write transaction (on for a standby). Each ping is
one small query of the version table, plus the SQLite probe.
"""

from __future__ import annotations

import asyncio
import functools
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

from bookshop_adapters.extras import require
from bookshop_adapters.sqlalchemy._aiosqlite import (
    begin_with_next_statement,
    forget_pending_begin,
    use_one_trip_cursors,
)
from bookshop_adapters.sqlalchemy.errors import store_unavailable, translate_error
from bookshop_adapters.sqlalchemy.timeouts import StoreTimeouts
from bookshop_adapters.sqlalchemy.uow import (
    NO_TRANSACTION_OPTION,
    READ_ONLY_OPTION,
    SqlUnitOfWork,
    queue_writers,
)

__all__ = [
    "PING_TIMEOUT",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_PRAGMAS",
    "SqlBackend",
    "StoreTimeouts",
    "create_engine_for_url",
    "open_sql_backend",
]

log = logging.getLogger("bookshop.sqlalchemy")

#: How long a SQLite connection waits for a lock by default (``StoreTimeouts().lock``)
#: before giving up with ``STORE_BUSY``.
SQLITE_BUSY_TIMEOUT_MS: Final = StoreTimeouts().lock_ms

#: Run on every new SQLite connection, in this order (the timeout first, so that switching
#: to WAL waits for a lock rather than failing); the busy timeout is ``StoreTimeouts.lock``.
SQLITE_PRAGMAS: Final = (
    f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
)

#: How long :meth:`SqlBackend.ping` waits by default (``StoreTimeouts().ping``).
PING_TIMEOUT: Final = StoreTimeouts().ping


def _postgres_defaults(timeouts: StoreTimeouts) -> dict[str, Any]:
    return {
        "pool_size": 20,
        "max_overflow": 0,
        "pool_timeout": timeouts.pool,
        "pool_recycle": 1800,
        "isolation_level": "READ COMMITTED",
        "connect_args": {
            "timeout": timeouts.connect,
            # Client side: a server that does not answer at all (the connection is discarded).
            "command_timeout": timeouts.client_statement,
            "server_settings": {
                "application_name": "bookshop",
                "jit": "off",
                # Server side: a slow statement is cancelled, the connection stays usable.
                "statement_timeout": str(timeouts.statement_ms),
            },
        },
    }


def _sqlite_defaults(timeouts: StoreTimeouts) -> dict[str, Any]:
    return {
        "pool_size": 5,
        "max_overflow": 15,
        # A pooled connection may be held by a writer queueing up to `lock` for the lock.
        "pool_timeout": timeouts.pool + timeouts.lock,
        # The pool's reset is the engine's "reset" hook: a rollback only when one is needed.
        "pool_reset_on_return": None,
    }


def _merged(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` over ``defaults``, with ``connect_args`` and its ``server_settings`` merged
    key by key (adding a server setting keeps the timeouts)."""
    merged = {**defaults, **given}
    if "connect_args" in given:
        connect_args = {**defaults["connect_args"], **given["connect_args"]}
        connect_args["server_settings"] = {
            **defaults["connect_args"]["server_settings"],
            **given["connect_args"].get("server_settings", {}),
        }
        merged["connect_args"] = connect_args
    return merged


def _sqlite_pragmas(timeouts: StoreTimeouts) -> tuple[str, ...]:
    return (f"PRAGMA busy_timeout = {timeouts.lock_ms}", *SQLITE_PRAGMAS[1:])


def create_engine_for_url(
    url: str, *, timeouts: StoreTimeouts | None = None, **engine_kwargs: Any
) -> AsyncEngine:
    """An async engine for ``url``, configured as described in this module's docstring.

    Args:
        url: ``sqlite+aiosqlite:///PATH`` or ``postgresql+asyncpg://USER:PASSWORD@HOST/DB``.
        timeouts: The bounds on every wait (default: ``StoreTimeouts()``).
        **engine_kwargs: Passed to :func:`sqlalchemy.ext.asyncio.create_async_engine`,
            overriding the defaults (PostgreSQL ``connect_args`` and their
            ``server_settings`` are merged into the defaults key by key).

    Raises:
        ValueError: any other scheme or driver, an unparsable URL, or in-memory SQLite.
        MissingExtra: a PostgreSQL URL without asyncpg installed (the ``postgres`` extra).
    """
    timeouts = timeouts or StoreTimeouts()
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
        engine = create_async_engine(parsed, **{**_sqlite_defaults(timeouts), **engine_kwargs})
        _install_sqlite_hooks(engine, timeouts)
        queue_writers(engine, timeouts.lock)
        return engine
    if parsed.drivername == "postgresql+asyncpg":
        require("asyncpg", feature="PostgreSQL support", extra="postgres")
        return create_async_engine(parsed, **_merged(_postgres_defaults(timeouts), engine_kwargs))
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}; "
        "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST/DB"
    )


def _execute_while_locked(cursor: Any, statement: str, patience: float) -> None:
    """Run a connection-setup pragma, retrying while the file is locked (for ``patience``
    seconds).

    Switching a new file to WAL needs a lock that SQLite refuses at once, without its busy
    handler, while another connection sets the file up (several processes starting together).
    """
    deadline = time.monotonic() + patience
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


def _install_sqlite_hooks(engine: AsyncEngine, timeouts: StoreTimeouts) -> None:
    sync_engine = engine.sync_engine
    pragmas = _sqlite_pragmas(timeouts)

    @event.listens_for(sync_engine, "connect")
    def _configure_connection(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        use_one_trip_cursors(dbapi_connection)
        # Driver-level autocommit: the sqlite3 module must not issue its own BEGINs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                _execute_while_locked(cursor, pragma, timeouts.lock)
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(NO_TRANSACTION_OPTION, False):
            return  # each statement on its own: the driver is in autocommit
        read_only = options.get(READ_ONLY_OPTION, False)
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        # A read's deferred BEGIN takes no snapshot until the first statement reads: it rides
        # in that statement's hand-off to the worker thread instead of one of its own.
        if read_only and begin_with_next_statement(
            connection.connection.dbapi_connection, statement
        ):
            return
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
        forget_pending_begin(dbapi_connection)
        if state.terminate_only or not state.asyncio_safe:
            return
        if dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()


class SqlBackend:
    """An SQL store: its engine, its pool, and the units of work that use them.

    Args:
        engine: From :func:`create_engine_for_url`; the backend owns it and disposes of it in
            :meth:`aclose`.
        timeouts: The bounds the engine was made with (the backend uses ``ping`` and
            ``lock``); default ``StoreTimeouts()``.

    Attributes:
        engine: The one engine, for reads and writes alike (so
            :func:`~bookshop_adapters.sqlalchemy.statements.count_statements` sees every
            statement).
        dialect_name: ``"sqlite"`` or ``"postgresql"``.
    """

    def __init__(self, engine: AsyncEngine, *, timeouts: StoreTimeouts | None = None) -> None:
        self.engine = engine
        self.dialect_name: str = engine.dialect.name
        self.timeouts = timeouts or StoreTimeouts()

    def unit_of_work(self, *, read_only: bool = False, snapshot: bool = True) -> SqlUnitOfWork:
        """A new unit of work (a ``UnitOfWorkFactory``: pass ``backend.unit_of_work``); see
        :class:`~bookshop_adapters.sqlalchemy.uow.SqlUnitOfWork` for ``read_only`` and
        ``snapshot``."""
        return SqlUnitOfWork(self.engine, read_only=read_only, snapshot=snapshot)

    async def ping(self) -> bool:
        """Whether the store is usable (for health checks): it answers within
        ``timeouts.ping`` seconds, its schema is not missing or behind this code, and it
        accepts writes (see the module docstring). Never raises; why not is logged."""
        try:
            async with asyncio.timeout(self.timeouts.ping):
                problem = await self._health_problem()
        except Exception as exc:
            error = translate_error(exc)
            problem = error.message if error is not None else repr(exc)
        if problem is not None:
            log.warning("store ping failed: %s", problem)
            return False
        return True

    async def _health_problem(self) -> str | None:
        """Why the store cannot serve the shop, or ``None``."""
        head, known = await asyncio.to_thread(_schema_revisions)
        async with self.engine.connect() as connection:
            if self.dialect_name == "sqlite":
                revision, writable = await _sqlite_health(connection, self.timeouts)
            else:
                revision, writable = await _postgres_health(connection)
        if revision is None:
            return "the database was never migrated (run: bookshop migrate)"
        if revision != head and revision in known:
            return f"the schema is at {revision}, behind {head} (run: bookshop migrate)"
        if not writable:
            return "the store is read-only"
        return None

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


async def open_sql_backend(
    url: str, *, timeouts: StoreTimeouts | None = None, **engine_kwargs: Any
) -> SqlBackend:
    """Open the SQL store at ``url`` and check that it answers.

    The schema is not touched: run :func:`~bookshop_adapters.sqlalchemy.migrate.migrate`
    first (``build_shop(url, migrate=True)`` does).

    Args:
        url: See :func:`create_engine_for_url`.
        timeouts: The bounds on every wait for the store (default: ``StoreTimeouts()``).
        **engine_kwargs: See :func:`create_engine_for_url`.

    Raises:
        ValueError: an unsupported URL (see :func:`create_engine_for_url`).
        Unavailable: ``STORE_UNAVAILABLE`` when the store cannot be reached (within
            ``timeouts.connect``).
    """
    timeouts = timeouts or StoreTimeouts()
    engine = create_engine_for_url(url, timeouts=timeouts, **engine_kwargs)
    try:
        # Connecting once runs the dialect's first-connect initialisation now, not inside the
        # first unit of work (where statement counters would see it).
        async with engine.connect():
            pass
    except Exception as exc:
        await engine.dispose()
        raise (translate_error(exc) or store_unavailable()) from exc
    return SqlBackend(engine, timeouts=timeouts)


@functools.cache
def _schema_revisions() -> tuple[str | None, frozenset[str]]:
    """This code's newest schema revision, and every revision it knows (read once)."""
    from alembic.script import ScriptDirectory

    from bookshop_adapters.sqlalchemy.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    known = frozenset(script.revision for script in scripts.walk_revisions())
    return scripts.get_current_head(), known


def _version_table() -> str:
    from bookshop_adapters.sqlalchemy.migrate import VERSION_TABLE

    return VERSION_TABLE


async def _postgres_health(connection: Any) -> tuple[str | None, bool]:
    """The schema revision, and whether a read-write transaction may write (not on a standby
    or under ``default_transaction_read_only``), in one round trip."""
    query = text(
        f"SELECT (SELECT version_num FROM {_version_table()} LIMIT 1), "
        "current_setting('transaction_read_only')"
    )
    revision, read_only = (await connection.execute(query)).one()
    return revision, read_only != "on"


async def _sqlite_health(connection: Any, timeouts: StoreTimeouts) -> tuple[str | None, bool]:
    """The schema revision, and whether the file accepts writes, without writing or waiting.

    A write statement that changes nothing (``DELETE ... WHERE 0``) needs the write lock,
    which a read-only database refuses at once (``SQLITE_READONLY``); with a zero busy
    timeout a lock held by another writer is ``SQLITE_BUSY`` at once instead of a wait (and
    proves the file writable).
    """
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    table = _version_table()
    await driver.execute_fetchall("PRAGMA busy_timeout = 0")
    try:
        await driver.execute_fetchall("BEGIN")
        try:
            rows = await driver.execute_fetchall(f"SELECT version_num FROM {table} LIMIT 1")
            revision = rows[0][0] if rows else None
            try:
                await driver.execute_fetchall(f"DELETE FROM {table} WHERE 0")
            except sqlite3.OperationalError as exc:
                name = getattr(exc, "sqlite_errorname", "") or ""
                if name.startswith("SQLITE_READONLY"):
                    return revision, False
                if not name.startswith("SQLITE_BUSY"):
                    raise
            return revision, True
        except sqlite3.OperationalError as exc:
            if str(exc).startswith("no such table"):
                return None, True
            raise
        finally:
            await driver.execute_fetchall("ROLLBACK")
    finally:
        await driver.execute_fetchall(f"PRAGMA busy_timeout = {timeouts.lock_ms}")
