"""The unit-of-work port and the transaction runner every use case goes through.

Adapters implement :class:`UnitOfWork` (one class per backend holds every context's
repositories); each context declares the repositories it needs in its own protocol that extends
it. :class:`Transactions` is the core's side: it opens a unit of work, lets the use case record
events, runs in-transaction handlers before the single commit and after-commit handlers after.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from bookshop_core.errors import StoreBusy
from bookshop_core.kernel.events import DomainEvent, EventBus

__all__ = [
    "BUSY_ATTEMPTS",
    "Transaction",
    "Transactions",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "retry_busy",
]


class UnitOfWork(Protocol):
    """One atomic transaction against the store; rolls back unless ``commit()`` was called.

    (A read opened with ``snapshot=False`` may run without a transaction: see
    :class:`UnitOfWorkFactory`.)
    """

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make every change durable; the unit of work is finished afterwards."""

    async def rollback(self) -> None:
        """Discard every change."""


U = TypeVar("U", bound=UnitOfWork)
U_co = TypeVar("U_co", bound=UnitOfWork, covariant=True)


class UnitOfWorkFactory(Protocol[U_co]):
    """Makes a fresh unit of work.

    ``read_only`` promises that the unit of work will not write, so a backend may skip write
    locks; a read-only unit of work reads one snapshot of the store: every statement sees the
    data as of the same moment, so a page and its total, or a page and its facets, agree.

    ``snapshot=False`` (meaningful only with ``read_only``; a writing unit of work ignores it)
    gives up that agreement: each statement may read its own snapshot, the data committed when
    it starts, so two statements may disagree when another transaction commits in between.
    Each statement on its own is still consistent (it never sees half of a transaction). A
    backend may then run the statements without a transaction (the SQL backend sends no
    ``BEGIN`` and no ``ROLLBACK``: two round trips fewer on PostgreSQL), or ignore the flag
    (memory). Ask for it only for a read whose statements need not agree, typically a read of
    one statement.
    """

    def __call__(self, *, read_only: bool = False, snapshot: bool = True) -> U_co: ...


class Transaction(Generic[U]):
    """A writing unit of work plus the events its use case records."""

    def __init__(self, uow: U, bus: EventBus) -> None:
        self.uow = uow
        self._bus = bus
        self._events: list[DomainEvent] = []
        self._delivered = 0
        self.committed = False

    def record(self, event: DomainEvent) -> None:
        """Note that ``event`` happened in this transaction."""
        self._events.append(event)

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        return tuple(self._events)

    async def commit(self) -> None:
        """Run in-transaction handlers (which may record more events), then commit once."""
        while self._delivered < len(self._events):
            event = self._events[self._delivered]
            self._delivered += 1
            await self._bus.run_in_transaction(event, self.uow)
        await self.uow.commit()
        self.committed = True


class Transactions(Generic[U]):
    """Opens units of work for one context's use cases.

    Args:
        factory: Makes the backend's unit of work.
        bus: Delivers the events recorded in writing transactions.
    """

    def __init__(self, factory: UnitOfWorkFactory[U], bus: EventBus) -> None:
        self._factory = factory
        self._bus = bus

    @asynccontextmanager
    async def read(self, *, snapshot: bool = True) -> AsyncIterator[U]:
        """A read-only unit of work; it never commits.

        Args:
            snapshot: ``True`` (the default): every statement of the unit of work reads the
                same snapshot of the store. ``False``: each statement may read its own (the
                data committed when it starts), which spares a SQL store the transaction's
                ``BEGIN`` and ``ROLLBACK``; for a read of one statement, or whose statements
                need not agree (see :class:`UnitOfWorkFactory`).
        """
        # The keyword is passed only when it changes something, so that a factory written
        # before it existed keeps serving every read that keeps its snapshot.
        factory = self._factory
        unit = factory(read_only=True) if snapshot else factory(read_only=True, snapshot=False)
        async with unit as uow:
            yield uow

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction[U]]:
        """A writing transaction; the use case calls ``commit()`` exactly once on success."""
        async with self._factory() as uow:
            tx = Transaction(uow, self._bus)
            yield tx
        if tx.committed:
            for event in tx.events:
                await self._bus.run_after_commit(event)


T = TypeVar("T")

#: How many times :func:`retry_busy` runs a transaction that the store refused as busy.
BUSY_ATTEMPTS = 4


async def retry_busy(
    transaction: Callable[[], Awaitable[T]], *, attempts: int = BUSY_ATTEMPTS
) -> T:
    """Run ``transaction`` (a whole unit of work: it opens, works and commits), again when
    the store refuses it as busy (``STORE_BUSY``: a PostgreSQL deadlock or serialization
    failure, a lock timeout), up to ``attempts`` times with a short randomised backoff.

    Retrying is safe because a refused transaction rolled back entirely. Use it for
    transactions that lock several rows, where a deadlock with another writer is possible
    even though the shop's own writers lock in one order.

    Raises:
        StoreBusy: still busy after the last attempt.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await transaction()
        except StoreBusy:
            if attempt == attempts:
                raise
            # Full jitter: concurrent losers do not retry in lockstep.
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover
