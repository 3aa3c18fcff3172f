"""In-memory catalog repositories: the reference model of the catalog ports."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from datetime import datetime
from fractions import Fraction
from typing import Any

import attrs

from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.catalog.entities import (
    MAX_GENRE_DEPTH,
    Book,
    BookChanges,
    BookQuery,
    BookSort,
    Genre,
    NewBook,
    SortDirection,
    StockChange,
)
from bookshop_core.catalog.errors import (
    BookIsbnConflict,
    GenreConflict,
    GenreNotFound,
    InsufficientStock,
)
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.validation import UNSET, Unset

__all__ = ["MemoryBookRepository", "MemoryGenreRepository"]


class MemoryGenreRepository:
    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._rows: dict[int, Genre] = store.table("genres")
        self._journal = journal

    def _check_name_free(self, name: str, genre_id: int | None) -> None:
        key = name.casefold()
        if any(g.name.casefold() == key and g.id != genre_id for g in self._rows.values()):
            raise GenreConflict()

    async def add(self, name: str, parent_id: int | None) -> Genre:
        self._check_name_free(name, None)
        genre = Genre(self._store.next_id("genres"), name, parent_id)
        self._journal.put(self._rows, genre.id, genre)
        return genre

    async def get(self, genre_id: int) -> Genre | None:
        return self._rows.get(genre_id)

    async def list_all(self) -> Sequence[Genre]:
        return sorted(self._rows.values(), key=lambda g: (g.name.casefold(), g.id))

    async def lock_tree(self) -> None:
        # Nothing to do: the store's lock already serialises every transaction.
        return None

    async def update(
        self, genre_id: int, *, name: str | Unset = UNSET, parent_id: int | Unset | None = UNSET
    ) -> Genre | None:
        genre = self._rows.get(genre_id)
        if genre is None:
            return None
        if name is not UNSET:
            self._check_name_free(name, genre_id)
            genre = attrs.evolve(genre, name=name)
        if parent_id is not UNSET:
            if parent_id is not None and parent_id not in self._rows:
                raise GenreNotFound(field="parent_id")  # the SQL schema's foreign key
            genre = attrs.evolve(genre, parent_id=parent_id)
        self._journal.put(self._rows, genre_id, genre)
        return genre

    async def delete(self, genre_id: int) -> None:
        self._journal.remove(self._rows, genre_id)

    async def is_in_use(self, genre_id: int) -> bool:
        books: dict[int, Book] = self._store.table("books")
        return any(g.parent_id == genre_id for g in self._rows.values()) or any(
            b.genre_id == genre_id for b in books.values()
        )


def _subtree(genres: dict[int, Genre], root: int) -> set[int]:
    """``root`` and its sub-genres down to ``MAX_GENRE_DEPTH`` levels (the SQL query's bound;
    a cycle in the data adds nothing once its genres are found)."""
    found = level = {root}
    for _ in range(MAX_GENRE_DEPTH - 1):
        level = {g.id for g in genres.values() if g.parent_id in level} - found
        if not level:
            break
        found = found | level
    return found


_SORT_KEYS: dict[BookSort, Callable[[Book], Any]] = {
    BookSort.TITLE: lambda b: b.title.casefold(),
    BookSort.PRICE: lambda b: b.price,
    BookSort.DATE: lambda b: b.publish_date,
    BookSort.CREATED_AT: lambda b: b.created_at,
    BookSort.AVG_RATING: lambda b: (
        Fraction(b.rating_sum, b.review_count) if b.review_count else None
    ),
}


def order_books(books: Sequence[Book], sort: BookSort, direction: SortDirection) -> list[Book]:
    """Sort by ``sort`` in ``direction``, missing values last, ties by id ascending."""
    key = _SORT_KEYS[sort]
    by_id = sorted(books, key=lambda b: b.id)
    present = [b for b in by_id if key(b) is not None]
    missing = [b for b in by_id if key(b) is None]
    present.sort(key=key, reverse=direction is SortDirection.DESC)  # stable: ties keep id order
    return present + missing


class MemoryBookRepository:
    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._rows: dict[int, Book] = store.table("books")
        self._journal = journal

    def _check_isbn_free(self, isbn: str | None, book_id: int | None) -> None:
        if isbn is not None and any(
            b.isbn == isbn and b.id != book_id for b in self._rows.values()
        ):
            raise BookIsbnConflict()

    def _check_genre(self, genre_id: int | None) -> None:
        # The SQL schema enforces this with a foreign key; the reference model must too.
        if genre_id is not None and genre_id not in self._store.table("genres"):
            raise GenreNotFound()

    async def add(self, book: NewBook) -> Book:
        self._check_isbn_free(book.isbn, None)
        self._check_genre(book.genre_id)
        stored = Book(
            id=self._store.next_id("books"),
            updated_at=book.created_at,
            **attrs.asdict(book, recurse=False),
        )
        self._journal.put(self._rows, stored.id, stored)
        return stored

    async def add_many(
        self, books: Sequence[NewBook], *, progress: Callable[[int], None] | None = None
    ) -> Sequence[Book]:
        added = [await self.add(book) for book in books]
        if progress is not None and added:
            progress(len(added))
        return added

    async def get(self, book_id: int) -> Book | None:
        return self._rows.get(book_id)

    async def find_by_isbns(self, isbns: Sequence[str]) -> Sequence[Book]:
        wanted = set(isbns)
        return sorted((b for b in self._rows.values() if b.isbn in wanted), key=lambda b: b.id)

    async def get_many(self, book_ids: Sequence[int]) -> Sequence[Book]:
        return [self._rows[i] for i in sorted(set(book_ids)) if i in self._rows]

    async def books_after(self, book_id: int, limit: int) -> Sequence[Book]:
        # One pass over the ids keeping the ``limit`` smallest: no sort of the whole rest.
        ids = heapq.nsmallest(limit, (i for i in self._rows if i > book_id))
        return [self._rows[i] for i in ids]

    async def update(self, book_id: int, changes: BookChanges, updated_at: datetime) -> Book | None:
        current = self._rows.get(book_id)
        if current is None:
            return None
        given = changes.given()
        if "isbn" in given:
            self._check_isbn_free(given["isbn"], book_id)
        if "genre_id" in given:
            self._check_genre(given["genre_id"])
        updated = attrs.evolve(current, **given, updated_at=updated_at)
        self._journal.put(self._rows, book_id, updated)
        return updated

    async def delete(self, book_id: int) -> bool:
        if book_id not in self._rows:
            return False
        self._journal.remove(self._rows, book_id)
        return True

    async def set_stock(self, book_id: int, quantity: int) -> StockChange | None:
        current = self._rows.get(book_id)
        if current is None:
            return None
        self._journal.put(self._rows, book_id, attrs.evolve(current, stock_quantity=quantity))
        return StockChange(book_id, current.stock_quantity, quantity)

    async def adjust_stock(self, book_id: int, delta: int) -> StockChange | None:
        current = self._rows.get(book_id)
        if current is None:
            return None
        after = current.stock_quantity + delta
        if after < 0:
            raise InsufficientStock()
        self._journal.put(self._rows, book_id, attrs.evolve(current, stock_quantity=after))
        return StockChange(book_id, current.stock_quantity, after)

    async def list(self, query: BookQuery, page: PageRequest) -> Page[Book]:
        genre_ids = (
            None
            if query.genre_id is None
            else _subtree(self._store.table("genres"), query.genre_id)
        )
        books = [b for b in self._rows.values() if _matches(b, query, genre_ids)]
        ordered = order_books(books, query.sort, query.direction)
        return Page.of(ordered[page.offset : page.offset + page.limit], len(ordered), page)


def _matches(book: Book, query: BookQuery, genre_ids: set[int] | None) -> bool:
    if query.ids is not None and book.id not in query.ids:
        return False
    if genre_ids is not None and book.genre_id not in genre_ids:
        return False
    if query.author is not None and query.author.casefold() not in book.author.casefold():
        return False
    if query.min_price is not None and book.price < query.min_price:
        return False
    if query.max_price is not None and book.price > query.max_price:
        return False
    return not (query.in_stock and book.stock_quantity <= 0)
