"""The in-memory unit of work and backend."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from bookshop_adapters.memory.analytics import MemoryReportRepository
from bookshop_adapters.memory.catalog import MemoryBookRepository, MemoryGenreRepository
from bookshop_adapters.memory.commerce import (
    MemoryCartRepository,
    MemoryOrderRepository,
    MemoryWishlistRepository,
)
from bookshop_adapters.memory.identity import (
    MemoryExternalIdentityRepository,
    MemoryLoginThrottleRepository,
    MemoryRefreshTokenRepository,
    MemoryUserRepository,
)
from bookshop_adapters.memory.oauth import MemoryOAuthStateRepository
from bookshop_adapters.memory.outbox import MemoryOutboxRepository
from bookshop_adapters.memory.prebooking import MemoryPreBookingRepository
from bookshop_adapters.memory.reviews import MemoryReviewRepository
from bookshop_adapters.memory.search import MemorySearchIndex
from bookshop_adapters.memory.store import Journal, MemoryStore

__all__ = ["MemoryBackend", "MemoryUnitOfWork"]


class MemoryUnitOfWork:
    """One transaction on a :class:`MemoryStore`.

    Transactions are serialised by the store's lock (the memory backend is the reference
    model, so it favours obvious correctness over parallelism); every change is journaled and
    undone unless ``commit()`` is called.

    Args:
        store: The store.
        read_only: Kept as ``read_only``; a read takes the store's lock like a write.
        snapshot: Ignored: holding the store's lock, every unit of work reads one snapshot.
    """

    def __init__(
        self, store: MemoryStore, *, read_only: bool = False, snapshot: bool = True
    ) -> None:
        self._store = store
        self._journal = Journal()
        self.read_only = read_only
        self._committed = False
        self.books = MemoryBookRepository(store, self._journal)
        self.genres = MemoryGenreRepository(store, self._journal)
        self.users = MemoryUserRepository(store, self._journal)
        self.refresh_tokens = MemoryRefreshTokenRepository(store, self._journal)
        self.login_throttles = MemoryLoginThrottleRepository(store, self._journal)
        self.external_identities = MemoryExternalIdentityRepository(store, self._journal)
        self.oauth_states = MemoryOAuthStateRepository(store, self._journal)
        self.search_index = MemorySearchIndex(store, self._journal)
        self.outbox = MemoryOutboxRepository(store, self._journal)
        self.prebookings = MemoryPreBookingRepository(store, self._journal)
        self.reports = MemoryReportRepository(store, self._journal)
        self.carts = MemoryCartRepository(store, self._journal)
        self.orders = MemoryOrderRepository(store, self._journal)
        self.wishlist = MemoryWishlistRepository(store, self._journal)
        self.reviews = MemoryReviewRepository(store, self._journal)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                self._journal.rollback()
        finally:
            self._store.lock.release()

    async def commit(self) -> None:
        self._journal.forget()
        self._committed = True

    async def rollback(self) -> None:
        self._journal.rollback()


class MemoryBackend:
    """A complete shop store in process memory: fast, isolated, and the reference model."""

    dialect_name = "memory"

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    def unit_of_work(self, *, read_only: bool = False, snapshot: bool = True) -> MemoryUnitOfWork:
        """A new unit of work (a ``UnitOfWorkFactory``); ``snapshot`` is ignored: every unit of
        work reads one snapshot."""
        return MemoryUnitOfWork(self.store, read_only=read_only)

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None
