"""Bulk import of books from tabular rows (e.g. a CSV file), all or nothing by default."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from attrs import frozen

from bookshop_core.catalog.commands import CreateBook, CreateGenre, SetStock
from bookshop_core.catalog.entities import MAX_GENRE_DEPTH, Book, BooksChanged, Genre, NewBook
from bookshop_core.catalog.ports import CatalogUnitOfWork
from bookshop_core.convert import structure
from bookshop_core.errors import FieldError, ValidationError
from bookshop_core.kernel.clock import Clock
from bookshop_core.kernel.uow import Transaction

__all__ = ["IMPORT_COLUMNS", "ImportReport", "ImportedRow", "RowError", "parse_import_row"]

#: The columns an import understands; ``title``, ``author`` and ``price`` are required.
IMPORT_COLUMNS = (
    "title",
    "author",
    "price",
    "isbn",
    "genre",
    "publish_date",
    "description",
    "cover_image_url",
    "stock_quantity",
)


@frozen
class ImportedRow:
    """One valid import row: the book, the genre path it belongs to, and its initial stock."""

    book: CreateBook
    genre_path: tuple[str, ...]
    stock_quantity: int


@frozen
class RowError:
    """Why row ``row`` (1 = first data row) was refused."""

    row: int
    errors: tuple[FieldError, ...]

    def describe(self) -> str:
        reasons = "; ".join(f"{'.'.join(map(str, e.loc)) or 'row'}: {e.msg}" for e in self.errors)
        return f"row {self.row}: {reasons}"


@frozen
class ImportReport:
    """The outcome of an import: how many books were written and which rows were refused.

    ``committed`` is false when a bad row stopped an all-or-nothing import.
    """

    imported: int
    errors: tuple[RowError, ...]
    committed: bool
    genres_created: int = 0

    @property
    def rejected(self) -> int:
        return len(self.errors)


def _cell(value: object) -> object:
    """A cell as the API would get it: text stripped; a blank cell is an absent field."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def parse_import_row(raw: Mapping[str, object]) -> ImportedRow:
    """Validate one row of strings (or typed values) into an :class:`ImportedRow`, by the
    API's own rules: the book's cells are structured into a :class:`CreateBook` exactly as a
    JSON body would be, the stock as a :class:`SetStock`, each name of the genre path as a
    :class:`CreateGenre`.

    Raises:
        ValidationError: every bad or unknown column of the row.
    """
    problems: list[FieldError] = [
        FieldError((str(name),), "unknown column", "extra_forbidden")
        for name in raw
        if name not in IMPORT_COLUMNS
    ]
    cells = {name: _cell(raw.get(name)) for name in IMPORT_COLUMNS}
    stock_cell = cells.pop("stock_quantity")
    genre_cell = cells.pop("genre")
    book: CreateBook | None = None
    try:
        book = structure({k: v for k, v in cells.items() if v is not None}, CreateBook)
    except ValidationError as exc:
        problems.extend(exc.errors)
    stock = 0
    if stock_cell is not None:
        try:
            stock = structure({"quantity": stock_cell}, SetStock).quantity
        except ValidationError as exc:
            problems.extend(_relocated(exc, "stock_quantity"))
    genre_path = _parse_genre_path(genre_cell, problems)
    if problems or book is None:
        raise ValidationError(problems)
    return ImportedRow(book, genre_path, stock)


def _relocated(error: ValidationError, column: str) -> list[FieldError]:
    return [FieldError((column,), e.msg, e.type) for e in error.errors]


def _parse_genre_path(value: object, problems: list[FieldError]) -> tuple[str, ...]:
    """The names of a path like ``Fiction/Fantasy``, each checked as a new genre's name."""
    if value is None:
        return ()
    if not isinstance(value, str):
        problems.append(FieldError(("genre",), "must be a genre path like Fiction/Fantasy"))
        return ()
    parts = value.split("/")
    if len(parts) > MAX_GENRE_DEPTH:
        problems.append(
            FieldError(("genre",), f"must be a path of at most {MAX_GENRE_DEPTH} genre names")
        )
        return ()
    names: list[str] = []
    for part in parts:
        try:
            names.append(structure({"name": part}, CreateGenre).name)
        except ValidationError as exc:
            problems.extend(_relocated(exc, "genre"))
            return ()
    return tuple(names)


class GenrePaths:
    """Resolves genre paths to ids, creating missing genres, with one read of all genres."""

    def __init__(self, genres: Sequence[Genre]) -> None:
        self._by_key = {g.name.casefold(): g for g in genres}
        names = {g.id: g.name.casefold() for g in genres}
        # Each genre's parent, by case-folded name; grows as paths are planned, so two rows
        # putting one name under different parents are caught before anything is written.
        self._parent_of: dict[str, str | None] = {
            key: names.get(g.parent_id) if g.parent_id else None for key, g in self._by_key.items()
        }
        self.created = 0

    def problem(self, path: tuple[str, ...]) -> str | None:
        """Why ``path`` contradicts the taxonomy planned so far, or ``None`` when it fits."""
        parent: str | None = None
        for name in path:
            key = name.casefold()
            if key in self._parent_of and self._parent_of[key] != parent:
                return f"genre {name!r} exists under another parent"
            parent = key
        parent = None
        for name in path:
            self._parent_of[name.casefold()] = parent
            parent = name.casefold()
        return None

    async def resolve(
        self, tx: Transaction[CatalogUnitOfWork], path: tuple[str, ...]
    ) -> int | None:
        parent: int | None = None
        for name in path:
            genre = self._by_key.get(name.casefold())
            if genre is None:
                genre = await tx.uow.genres.add(name, parent)
                self._by_key[name.casefold()] = genre
                self.created += 1
            parent = genre.id
        return parent


async def import_rows(
    tx: Transaction[CatalogUnitOfWork],
    rows: Iterable[Mapping[str, Any]],
    *,
    clock: Clock,
    partial: bool,
    progress: Callable[[int], None] | None,
) -> ImportReport:
    """Validate every row first, then write the good ones in the caller's transaction.

    Duplicate ISBNs (within the file or already stored) are row errors. With ``partial=False``
    a single bad row means nothing is written and the report says ``committed=False``.
    """
    parsed: list[tuple[int, ImportedRow]] = []
    errors: list[RowError] = []
    for number, raw in enumerate(rows, start=1):
        try:
            parsed.append((number, parse_import_row(raw)))
        except ValidationError as exc:
            errors.append(RowError(number, exc.errors))
    isbns = [row.book.isbn for _, row in parsed if row.book.isbn]
    taken = {b.isbn for b in await tx.uow.books.find_by_isbns(isbns)}
    if any(row.genre_path for _, row in parsed):
        await tx.uow.genres.lock_tree()  # as creating a genre does (see Catalog.create_genre)
    paths = GenrePaths(await tx.uow.genres.list_all())
    seen: set[str] = set()
    good: list[ImportedRow] = []
    for number, row in parsed:
        isbn = row.book.isbn
        reason = paths.problem(row.genre_path)
        if isbn and (isbn in taken or isbn in seen):
            errors.append(RowError(number, (FieldError(("isbn",), "duplicate ISBN", "conflict"),)))
        elif reason:
            errors.append(RowError(number, (FieldError(("genre",), reason, "conflict"),)))
        else:
            good.append(row)
        if isbn:
            seen.add(isbn)
    errors.sort(key=lambda e: e.row)
    if errors and not partial:
        return ImportReport(0, tuple(errors), committed=False)
    now = clock.now()
    drafts = []
    for row in good:
        cmd = row.book
        drafts.append(
            NewBook(
                title=cmd.title,
                author=cmd.author,
                price=cmd.price,
                isbn=cmd.isbn,
                genre_id=await paths.resolve(tx, row.genre_path),
                description=cmd.description,
                cover_image_url=cmd.cover_image_url,
                publish_date=cmd.publish_date,
                stock_quantity=row.stock_quantity,
                created_at=now,
            )
        )
    added: Sequence[Book] = await tx.uow.books.add_many(drafts, progress=progress)
    if added:
        tx.record(BooksChanged(tuple(book.id for book in added)))
    await tx.commit()
    return ImportReport(len(added), tuple(errors), committed=True, genres_created=paths.created)
