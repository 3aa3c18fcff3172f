"""How long the SQL store may take: every wait on it is bounded, and each bound has an error.

A store that stops answering (a PostgreSQL server behind a network black hole, a stalled
disk) must not hold requests for as long as it lasts. :class:`StoreTimeouts` bounds every
wait, and exceeding a bound raises a domain error (translated in
:mod:`bookshop_adapters.sqlalchemy.errors`), which frontends answer with 503:

=============  ========================================================  ====================
bound          what it limits                                            exceeded
=============  ========================================================  ====================
``connect``    opening a new connection (PostgreSQL: TCP, TLS, login)    ``STORE_UNAVAILABLE``
``statement``  one statement, transaction control included (PostgreSQL)  ``STORE_UNAVAILABLE``
``pool``       waiting for a free connection of the pool (*)             ``STORE_BUSY``
``lock``       SQLite: waiting for the database's write lock             ``STORE_BUSY``
``ping``       a health check (:meth:`SqlBackend.ping`) as a whole       ``ping()`` is False
=============  ========================================================  ====================

PostgreSQL bounds a statement twice: the server cancels it after ``statement``
(``statement_timeout``; the connection stays usable), and the client stops waiting
``network_grace`` later (asyncpg's ``command_timeout``), for a server that does not answer at
all; that connection is then discarded, and the pool opens a new one once the store answers
again. Row-lock waits on PostgreSQL are statements too; a pool wait is ``STORE_BUSY`` because
it means our own connections are all in use (retrying soon may succeed).

SQLite statements run in this process on a local file: only the wait for the write lock is
bounded (the ``busy_timeout`` pragma). (*) On SQLite a pooled connection may be held by a
writer queueing up to ``lock`` for the write lock, so the pool waits ``pool + lock``.

The library reads no environment: pass a value to
:func:`~bookshop_adapters.sqlalchemy.open_sql_backend` (or to the composition root);
frontends may build one from their own configuration.
"""

from __future__ import annotations

from attrs import field, frozen
from attrs.validators import gt

__all__ = ["StoreTimeouts"]


@frozen
class StoreTimeouts:
    """The bounds on every wait for an SQL store, in seconds (see the module docstring).

    Args:
        connect: Opening a new connection.
        statement: One statement (PostgreSQL).
        network_grace: How much longer than ``statement`` the client waits for a PostgreSQL
            server that does not answer at all.
        pool: Waiting for a free connection of the pool.
        lock: SQLite: waiting for the write lock.
        ping: A whole health check.

    Raises:
        ValueError: a bound that is not a positive number.
    """

    connect: float = field(default=10.0, validator=gt(0))
    statement: float = field(default=30.0, validator=gt(0))
    network_grace: float = field(default=2.0, validator=gt(0))
    pool: float = field(default=30.0, validator=gt(0))
    lock: float = field(default=30.0, validator=gt(0))
    ping: float = field(default=5.0, validator=gt(0))

    @property
    def client_statement(self) -> float:
        """How long the client waits for any one answer of a PostgreSQL server."""
        return self.statement + self.network_grace

    @property
    def statement_ms(self) -> int:
        """``statement`` in whole milliseconds (PostgreSQL's ``statement_timeout``)."""
        return max(1, round(self.statement * 1000))

    @property
    def lock_ms(self) -> int:
        """``lock`` in whole milliseconds (SQLite's ``busy_timeout``)."""
        return max(1, round(self.lock * 1000))
