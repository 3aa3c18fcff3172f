"""One trip to aiosqlite's thread per SQLite statement.

aiosqlite runs every call on its connection's worker thread; each call is a hand-off there
and back (a queue put, a thread wake-up, a future resolved through the event loop).
SQLAlchemy's aiosqlite cursor makes four per statement that returns rows (open a cursor,
execute, fetch all, close it) and three for one that does not. :class:`OneTripCursor` runs
the four steps in one call on the worker thread, which is most of the event loop's work per
statement. Rows are fetched whole either way (SQLAlchemy's cursor buffers them too); server
side cursors (``stream_results``) keep SQLAlchemy's cursor.

A read-only transaction's ``BEGIN`` rides along too (:func:`begin_with_next_statement`): the
engine's ``begin`` hook leaves it for the transaction's first statement, which runs it first in
the same call. A deferred ``BEGIN`` reads nothing, so the snapshot is the same as when it runs
in a call of its own; a transaction that ends before any statement never runs it, and has
nothing to roll back.

This leans on SQLAlchemy's asyncio adapter classes and on aiosqlite's ``_execute`` (the call
every public aiosqlite method makes): :func:`use_one_trip_cursors` checks that they are what
it expects, and leaves a connection as it is otherwise.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import weakref
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT, await_

__all__ = [
    "OneTripCursor",
    "begin_with_next_statement",
    "forget_pending_begin",
    "use_one_trip_cursors",
]

log = logging.getLogger("bookshop.sqlalchemy")

_Outcome = tuple[Any, list[Any], int, int | None]


#: The ``BEGIN`` that the next statement on each aiosqlite connection runs first.
_PENDING_BEGIN: Final[weakref.WeakKeyDictionary[Any, str]] = weakref.WeakKeyDictionary()


def _one_trip(
    connection: sqlite3.Connection,
    operation: str,
    parameters: Any,
    many: bool,
    begin: str | None = None,
) -> _Outcome:
    """On the worker thread: ``begin`` if given, execute, fetch every row, close; what the
    cursor reports."""
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, each statement one call on the worker thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:
        # No aiosqlite cursor is opened (that is a trip of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        pass  # nothing open: the rows are in memory already

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            driver = self._connection
            begin = _PENDING_BEGIN.pop(driver, None)
            outcome: _Outcome = await driver._execute(
                _one_trip, driver._conn, operation, parameters, many, begin
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:  # SQLAlchemy's own cursor: the pending BEGIN goes first, on its own
            begin = _PENDING_BEGIN.pop(self._connection, None)
            if begin is not None:
                try:
                    await_(self._connection.execute_fetchall(begin))
                except Exception as error:
                    self._handle_exception(error)
        return super().cursor(server_side)

    def rollback(self) -> None:
        # A BEGIN still pending never ran, and a read without a transaction (no BEGIN at all)
        # began none: nothing to end, no call to the thread.
        if _PENDING_BEGIN.pop(self._connection, None) is None and self._connection.in_transaction:
            super().rollback()

    def commit(self) -> None:
        if _PENDING_BEGIN.pop(self._connection, None) is None:
            super().commit()


def begin_with_next_statement(dbapi_connection: Any, begin: str) -> bool:
    """Leave ``begin`` (a deferred ``BEGIN``) for the next statement on ``dbapi_connection``
    to run first, in its own call to the worker thread; a commit or rollback before any
    statement drops it.

    Returns:
        Whether it was left; ``False`` for a connection without one-trip cursors (the caller
        runs it itself).
    """
    if type(dbapi_connection) is not _OneTripConnection:
        return False
    _PENDING_BEGIN[dbapi_connection._connection] = begin
    return True


def forget_pending_begin(dbapi_connection: Any) -> None:
    """Drop a ``BEGIN`` left on ``dbapi_connection`` that no statement ran (its transaction is
    over: the connection goes back to the pool)."""
    driver = getattr(dbapi_connection, "_connection", None)
    if driver is not None:
        _PENDING_BEGIN.pop(driver, None)


def use_one_trip_cursors(dbapi_connection: Any) -> None:
    """Make the SQLAlchemy aiosqlite connection ``dbapi_connection`` (a pool ``connect``
    event's argument) open :class:`OneTripCursor` cursors, if it is the class this module
    knows and its aiosqlite connection has ``_execute``; else leave it as it is."""
    if type(dbapi_connection) is not AsyncAdapt_aiosqlite_connection:
        log.debug("not an aiosqlite connection SQLAlchemy made: cursors left as they are")
        return
    if not callable(getattr(dbapi_connection._connection, "_execute", None)):
        log.debug("aiosqlite has no _execute: cursors left as they are")
        return
    dbapi_connection.__class__ = _OneTripConnection
