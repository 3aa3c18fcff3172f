"""The catalog's repository ports and the unit of work that carries them.

Every adapter (memory, SQLAlchemy, or an embedding app's own) implements these protocols and
passes the contract suite in ``bookshop_adapters.testing``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from bookshop_core.catalog.entities import (
    Book,
    BookChanges,
    BookQuery,
    Genre,
    NewBook,
    StockChange,
)
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.uow import UnitOfWork
from bookshop_core.kernel.validation import UNSET, Unset

__all__ = ["BookRepository", "CatalogUnitOfWork", "GenreRepository"]


class GenreRepository(Protocol):
    """Stores genres. Names are unique case-insensitively."""

    async def add(self, name: str, parent_id: int | None) -> Genre:
        """Store a new genre and return it with its id.

        Raises:
            Conflict: ``GENRE_CONFLICT`` when the name is taken (race-safe).
        """
        ...

    async def get(self, genre_id: int) -> Genre | None: ...

    async def list_all(self) -> Sequence[Genre]:
        """Every genre, ordered by case-folded name, then id."""
        ...

    async def lock_tree(self) -> None:
        """Hold off every other transaction that calls it until this one ends.

        The use cases call it before they read the tree to check a move or a new genre's
        depth, so that what they checked still holds when they write: two opposite moves at
        once must never both pass their check and leave a cycle. A store whose writing
        transactions are already serialised (the memory store; SQLite, whose writers take the
        database's write lock at ``BEGIN``) can do nothing here.
        """
        ...

    async def update(
        self, genre_id: int, *, name: str | Unset = UNSET, parent_id: int | Unset | None = UNSET
    ) -> Genre | None:
        """Write only the given fields of the genre (one atomic write: a concurrent change of
        the other field survives) and return the genre as stored; ``None`` when it does not
        exist.

        Raises:
            Conflict: ``GENRE_CONFLICT`` when the new name is taken.
        """
        ...

    async def delete(self, genre_id: int) -> None: ...

    async def is_in_use(self, genre_id: int) -> bool:
        """Whether any book or sub-genre refers to the genre."""
        ...


class BookRepository(Protocol):
    """Stores books. ISBNs are unique when present."""

    async def add(self, book: NewBook) -> Book:
        """Store a new book and return it with its id.

        Raises:
            Conflict: ``BOOK_ISBN_CONFLICT`` when the ISBN is taken (race-safe).
        """
        ...

    async def add_many(
        self, books: Sequence[NewBook], *, progress: Callable[[int], None] | None = None
    ) -> Sequence[Book]:
        """Store many new books in few round trips (bulk import), in order.

        ``progress(n)`` is called as each batch of ``n`` books is written.

        Raises:
            Conflict: ``BOOK_ISBN_CONFLICT`` when an ISBN is taken.
        """
        ...

    async def get(self, book_id: int) -> Book | None: ...

    async def find_by_isbns(self, isbns: Sequence[str]) -> Sequence[Book]:
        """The stored books having any of these (normalised) ISBNs, in one round trip."""
        ...

    async def get_many(self, book_ids: Sequence[int]) -> Sequence[Book]:
        """The books with these ids that exist, in id order, in one round trip."""
        ...

    async def books_after(self, book_id: int, limit: int) -> Sequence[Book]:
        """The first ``limit`` books with an id above ``book_id``, in id order, in one round
        trip: walks the whole catalog in batches (``books_after(last.id, limit)`` until a
        batch comes back short), each batch costing the same whatever the catalog's size."""
        ...

    async def update(self, book_id: int, changes: BookChanges, updated_at: datetime) -> Book | None:
        """Write only the fields given in ``changes``, and ``updated_at``, in one atomic
        write (concurrent changes of other fields survive), and return the book as stored;
        ``None`` when it does not exist (deleted meanwhile included).

        Raises:
            Conflict: ``BOOK_ISBN_CONFLICT`` when the new ISBN is taken.
        """
        ...

    async def delete(self, book_id: int) -> bool:
        """Remove the book; ``False`` when it did not exist."""
        ...

    async def set_stock(self, book_id: int, quantity: int) -> StockChange | None:
        """Set the stock atomically; ``None`` when the book does not exist."""
        ...

    async def adjust_stock(self, book_id: int, delta: int) -> StockChange | None:
        """Add ``delta`` to the stock atomically, never going below 0.

        Returns ``None`` when the book does not exist.

        Raises:
            Conflict: ``BOOK_INSUFFICIENT_STOCK`` when the result would be negative.
        """
        ...

    async def list(self, query: BookQuery, page: PageRequest) -> Page[Book]:
        """One page of books matching ``query``, with the exact total, in a bounded number of
        statements whatever the row count."""
        ...


class CatalogUnitOfWork(UnitOfWork, Protocol):
    """What the catalog's use cases need from a unit of work."""

    @property
    def books(self) -> BookRepository: ...

    @property
    def genres(self) -> GenreRepository: ...
