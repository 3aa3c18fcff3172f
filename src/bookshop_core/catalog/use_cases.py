"""Catalog use cases: browse books and genres; admins change the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from bookshop_core.catalog.commands import (
    MAX_STOCK,
    AdjustStock,
    CreateBook,
    CreateGenre,
    ListBooks,
    SetStock,
    UpdateBook,
    UpdateGenre,
)
from bookshop_core.catalog.entities import (
    Book,
    BookChanges,
    BookQuery,
    BookRestocked,
    BooksChanged,
    BooksRemoved,
    Genre,
    GenreNode,
    NewBook,
    StockChange,
    Taxonomy,
    unknown_genre,
)
from bookshop_core.catalog.errors import BookNotFound, GenreInUse, GenreNotFound
from bookshop_core.catalog.importing import ImportReport, import_rows
from bookshop_core.catalog.ports import CatalogUnitOfWork
from bookshop_core.errors import ValidationError
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.pagination import Page
from bookshop_core.kernel.principal import Principal, require_admin
from bookshop_core.kernel.uow import Transaction, Transactions
from bookshop_core.kernel.validation import UNSET

__all__ = ["Catalog", "build_genre_tree"]


def _book_not_found(book_id: int) -> BookNotFound:
    return BookNotFound(f"Book {book_id} not found")


def _genre_not_found(genre_id: int, field: str = "genre_id") -> GenreNotFound:
    return GenreNotFound(f"Genre {genre_id} not found", field=field)


def build_genre_tree(genres: Sequence[Genre]) -> tuple[GenreNode, ...]:
    """Arrange genres as a forest; siblings keep the order of ``genres``.

    Built without recursion, so any depth works; genres caught in a cycle (bad stored data)
    are left out rather than looped over.
    """
    return Taxonomy(genres).forest()


class Catalog:
    """The catalog context's use cases.

    Reads are open to everyone; every change requires an admin ``Principal``
    (``AUTH_FORBIDDEN`` otherwise).

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now" for timestamps.
    """

    def __init__(self, transactions: Transactions[CatalogUnitOfWork], clock: Clock) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)

    # -- genres ---------------------------------------------------------------------------

    async def list_genres(self) -> list[Genre]:
        """Every genre, by name (case-insensitive)."""
        async with self._tx.read() as uow:
            return list(await uow.genres.list_all())

    async def genre_tree(self) -> tuple[GenreNode, ...]:
        """The taxonomy as a forest of top-level genres with nested sub-genres, by name."""
        return build_genre_tree(await self.list_genres())

    async def get_genre(self, genre_id: int) -> Genre:
        """Raises: NotFound ``GENRE_NOT_FOUND``."""
        check_id(genre_id, "genre_id")
        async with self._tx.read() as uow:
            genre = await uow.genres.get(genre_id)
        if genre is None:
            raise _genre_not_found(genre_id)
        return genre

    async def create_genre(self, principal: Principal, command: CreateGenre) -> Genre:
        """Add a genre, optionally under a parent.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN`` for non-admins.
            ValidationError: (refused, on ``parent_id``) an unknown parent, or one at the
                depth limit (``MAX_GENRE_DEPTH``).
            Conflict: ``GENRE_CONFLICT`` when the name is taken (case-insensitively).
        """
        require_admin(principal)
        async with self._tx.write() as tx:
            if command.parent_id is not None:
                # Locked before the read, so no move can deepen the parent meanwhile.
                await tx.uow.genres.lock_tree()
                Taxonomy(await tx.uow.genres.list_all()).check_parent(command.parent_id)
            genre = await tx.uow.genres.add(command.name, command.parent_id)
            await tx.commit()
        return genre

    async def update_genre(
        self, principal: Principal, genre_id: int, command: UpdateGenre
    ) -> Genre:
        """Rename and/or move a genre; a genre cannot move under itself or its descendants.

        Only the given fields are written, so a concurrent rename and move both survive.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``GENRE_NOT_FOUND``.
            ValidationError: (refused, on ``parent_id``) an unknown parent, a move into the
                genre's own subtree (type ``genre_cycle``), or one that would nest part of its
                subtree deeper than ``MAX_GENRE_DEPTH`` (type ``genre_depth``).
            Conflict: ``GENRE_CONFLICT`` (name taken).
        """
        require_admin(principal)
        check_id(genre_id, "genre_id")
        async with self._tx.write() as tx:
            genres = tx.uow.genres
            if command.parent_id is not UNSET:
                # Moves are serialised: two opposite moves at once must not both pass their
                # check against the same old tree (that would leave a cycle).
                await genres.lock_tree()
                taxonomy = Taxonomy(await genres.list_all())
                if genre_id not in taxonomy:
                    raise _genre_not_found(genre_id)
                taxonomy.check_move(genre_id, command.parent_id)
            genre = await genres.update(genre_id, name=command.name, parent_id=command.parent_id)
            if genre is None:
                raise _genre_not_found(genre_id)
            await tx.commit()
        return genre

    async def delete_genre(self, principal: Principal, genre_id: int) -> None:
        """Delete a genre no book and no sub-genre uses.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``GENRE_NOT_FOUND``.
            Conflict: ``GENRE_IN_USE``.
        """
        require_admin(principal)
        check_id(genre_id, "genre_id")
        async with self._tx.write() as tx:
            if await tx.uow.genres.get(genre_id) is None:
                raise _genre_not_found(genre_id)
            if await tx.uow.genres.is_in_use(genre_id):
                raise GenreInUse()
            await tx.uow.genres.delete(genre_id)
            await tx.commit()

    # -- books ----------------------------------------------------------------------------

    async def get_book(self, book_id: int) -> Book:
        """Raises: NotFound ``BOOK_NOT_FOUND`` (field ``book_id``)."""
        check_id(book_id, "book_id")
        async with self._tx.read(snapshot=False) as uow:  # one statement: no snapshot to keep
            book = await uow.books.get(book_id)
        if book is None:
            raise _book_not_found(book_id)
        return book

    async def list_books(self, query: ListBooks | None = None) -> Page[Book]:
        """One page of books matching every given filter, with the exact total."""
        query = query or ListBooks()
        repo_query = BookQuery(
            genre_id=query.genre_id,
            author=query.author,
            min_price=query.min_price,
            max_price=query.max_price,
            in_stock=query.in_stock,
            sort=query.sort,
            direction=query.direction,
        )
        async with self._tx.read() as uow:
            return await uow.books.list(repo_query, query.page_request)

    async def create_book(self, principal: Principal, command: CreateBook) -> Book:
        """Add a book; its stock starts at 0.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            ValidationError: (refused) unknown ``genre_id``.
            Conflict: ``BOOK_ISBN_CONFLICT`` (field ``isbn``).
        """
        require_admin(principal)
        now = self._clock.now()
        async with self._tx.write() as tx:
            await _check_genre_exists(tx, command.genre_id)
            book = await tx.uow.books.add(
                NewBook(
                    title=command.title,
                    author=command.author,
                    price=command.price,
                    isbn=command.isbn,
                    genre_id=command.genre_id,
                    description=command.description,
                    cover_image_url=command.cover_image_url,
                    publish_date=command.publish_date,
                    stock_quantity=0,
                    created_at=now,
                )
            )
            tx.record(BooksChanged((book.id,)))
            await tx.commit()
        return book

    async def update_book(self, principal: Principal, book_id: int, command: UpdateBook) -> Book:
        """Change only the fields given in ``command``; only those are written, so concurrent
        updates of different fields all survive.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``BOOK_NOT_FOUND`` (also when the book is deleted meanwhile).
            ValidationError: (refused) unknown ``genre_id``.
            Conflict: ``BOOK_ISBN_CONFLICT``.
        """
        require_admin(principal)
        check_id(book_id, "book_id")
        changes = BookChanges(
            title=command.title,
            author=command.author,
            price=command.price,
            isbn=command.isbn,
            genre_id=command.genre_id,
            description=command.description,
            cover_image_url=command.cover_image_url,
            publish_date=command.publish_date,
        )
        async with self._tx.write() as tx:
            book: Book | None
            if changes.given():
                if isinstance(changes.genre_id, int):
                    await _check_genre_exists(tx, changes.genre_id)
                book = await tx.uow.books.update(book_id, changes, self._clock.now())
                if book is not None:
                    tx.record(BooksChanged((book.id,)))
            else:
                book = await tx.uow.books.get(book_id)
            if book is None:
                raise _book_not_found(book_id)
            await tx.commit()
        return book

    async def delete_book(self, principal: Principal, book_id: int) -> None:
        """Raises: PermissionDenied ``AUTH_FORBIDDEN``; NotFound ``BOOK_NOT_FOUND``."""
        require_admin(principal)
        check_id(book_id, "book_id")
        async with self._tx.write() as tx:
            if not await tx.uow.books.delete(book_id):
                raise _book_not_found(book_id)
            tx.record(BooksRemoved((book_id,)))
            await tx.commit()

    async def set_stock(self, principal: Principal, book_id: int, command: SetStock) -> Book:
        """Set the stock to an absolute quantity; going from 0 to above 0 records
        :class:`BookRestocked`.

        Raises: PermissionDenied ``AUTH_FORBIDDEN``; NotFound ``BOOK_NOT_FOUND``.
        """
        require_admin(principal)
        check_id(book_id, "book_id")
        async with self._tx.write() as tx:
            change = await tx.uow.books.set_stock(book_id, command.quantity)
            return await self._finish_stock_change(tx, book_id, change)

    async def adjust_stock(self, principal: Principal, book_id: int, command: AdjustStock) -> Book:
        """Add to (or take from) the stock; it never goes below 0.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``BOOK_NOT_FOUND``.
            Conflict: ``BOOK_INSUFFICIENT_STOCK``.
            ValidationError: (refused) the stock would exceed ``MAX_STOCK`` (field ``delta``).
        """
        require_admin(principal)
        check_id(book_id, "book_id")
        async with self._tx.write() as tx:
            change = await tx.uow.books.adjust_stock(book_id, command.delta)
            # Stock <= MAX_STOCK and |delta| <= MAX_STOCK, so the sum still fits every column;
            # refusing it here rolls the adjustment back and keeps the invariant.
            if change is not None and change.after > MAX_STOCK:
                raise _stock_overflow()
            return await self._finish_stock_change(tx, book_id, change)

    async def import_books(
        self,
        principal: Principal,
        rows: Iterable[Mapping[str, Any]],
        *,
        partial: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import books from rows of the columns in ``IMPORT_COLUMNS`` (CSV-style strings
        accepted), creating missing genres from paths like ``Fiction/Fantasy``.

        Every row is validated first and every bad row reported with its number. By default a
        single bad row means nothing is written; with ``partial=True`` the good rows are.
        All writes happen in one transaction.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
        """
        require_admin(principal)
        async with self._tx.write() as tx:
            return await import_rows(
                tx, rows, clock=self._clock, partial=partial, progress=progress
            )

    async def _finish_stock_change(
        self, tx: Transaction[CatalogUnitOfWork], book_id: int, change: StockChange | None
    ) -> Book:
        if change is None:
            raise _book_not_found(book_id)
        if change.after > MAX_STOCK:  # rolled back with the transaction
            raise _stock_overflow()
        book = await tx.uow.books.get(book_id)
        assert book is not None  # the stock change just locked it
        if change.before == 0 < change.after:
            tx.record(BookRestocked(book.id, book.title, change.after))
        await tx.commit()
        return book


def _stock_overflow() -> ValidationError:
    return ValidationError.refused("delta", f"The stock may not exceed {MAX_STOCK}")


async def _check_genre_exists(tx: Transaction[CatalogUnitOfWork], genre_id: int | None) -> None:
    if genre_id is not None and await tx.uow.genres.get(genre_id) is None:
        raise unknown_genre("genre_id")
