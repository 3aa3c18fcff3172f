"""Catalog commands: what a caller asks for, validated and normalised on construction.

Every command checks all of its fields and raises one ``ValidationError`` listing each bad
field. Build them directly in Python, or from untrusted JSON with ``bookshop_core.structure``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from attrs import fields, frozen

from bookshop_core.catalog.entities import BookSort, SortDirection
from bookshop_core.catalog.isbn import normalize_isbn
from bookshop_core.errors import ValidationError
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.money import parse_money
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, PageRequest
from bookshop_core.kernel.validation import UNSET, Problems, Unset

__all__ = [
    "MAX_STOCK",
    "AdjustStock",
    "CreateBook",
    "CreateGenre",
    "ListBooks",
    "SetStock",
    "UpdateBook",
    "UpdateGenre",
]

#: Stock fits a 32-bit column with room to add a delivery.
MAX_STOCK = 1_000_000_000
TITLE_MAX = 500
AUTHOR_MAX = 255
DESCRIPTION_MAX = 10_000
URL_MAX = 2048
GENRE_NAME_MAX = 100
#: Publish dates outside this range are typos, not books.
PUBLISH_DATE_MIN = date(1400, 1, 1)
PUBLISH_DATE_MAX = date(2999, 12, 31)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen command in its own post-init


def _check_id_field(problems: Problems, obj: object, name: str, *, nullable: bool) -> None:
    value = getattr(obj, name)
    if value is UNSET or (value is None and nullable):
        return
    if value is None:
        problems.add(name, "may not be null", "missing")
        return
    try:
        check_id(value, name)
    except ValidationError as exc:
        problems.absorb(exc)


def _check_book_fields(cmd: Any, problems: Problems) -> None:
    """Validate and normalise the book fields present on ``cmd`` (absent = ``UNSET``)."""
    text_rules = {
        "title": (TITLE_MAX, False),
        "author": (AUTHOR_MAX, False),
        "description": (DESCRIPTION_MAX, True),
    }
    for name, (limit, nullable) in text_rules.items():
        value = getattr(cmd, name)
        if value is not UNSET:
            _set(cmd, name, problems.text(name, value, max_length=limit, nullable=nullable))
    if cmd.price is not UNSET:
        if cmd.price is None:
            problems.add("price", "may not be null", "missing")
        else:
            try:
                _set(cmd, "price", parse_money(cmd.price, field="price"))
            except ValidationError as exc:
                problems.absorb(exc)
    if cmd.isbn is not UNSET and cmd.isbn is not None:
        raw = problems.text("isbn", cmd.isbn, max_length=32, nullable=True)
        try:
            _set(cmd, "isbn", normalize_isbn(raw) if raw else None)
        except ValidationError as exc:
            problems.absorb(exc)
    if cmd.cover_image_url is not UNSET:
        url = problems.text(
            "cover_image_url", cmd.cover_image_url, max_length=URL_MAX, nullable=True
        )
        if url is not None and (
            any(c.isspace() for c in url) or not url.startswith(("http://", "https://", "/"))
        ):
            problems.add("cover_image_url", "must be an http(s) URL or an absolute path")
        _set(cmd, "cover_image_url", url)
    publish_date = cmd.publish_date
    if publish_date not in (UNSET, None):
        if not isinstance(publish_date, date):
            problems.add("publish_date", "must be a date", "type_error")
        elif not PUBLISH_DATE_MIN <= publish_date <= PUBLISH_DATE_MAX:
            problems.add("publish_date", "is out of range")
    _check_id_field(problems, cmd, "genre_id", nullable=True)


@frozen
class CreateBook:
    """Add a book to the catalog. Stock starts at 0; ``isbn`` may be ISBN-10 or ISBN-13."""

    title: str
    author: str
    price: Decimal
    isbn: str | None = None
    genre_id: int | None = None
    description: str | None = None
    cover_image_url: str | None = None
    publish_date: date | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_book_fields(self, problems)
        problems.raise_if_any()


@frozen
class UpdateBook:
    """Change some fields of a book; fields left ``UNSET`` keep their value.

    ``None`` clears an optional field and is refused for a required one.
    """

    title: str | Unset = UNSET
    author: str | Unset = UNSET
    price: Decimal | Unset = UNSET
    isbn: str | Unset | None = UNSET
    genre_id: int | Unset | None = UNSET
    description: str | Unset | None = UNSET
    cover_image_url: str | Unset | None = UNSET
    publish_date: date | Unset | None = UNSET

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_book_fields(self, problems)
        problems.raise_if_any()

    def changes(self) -> dict[str, Any]:
        """The fields that were given, by name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(type(self))
            if getattr(self, f.name) is not UNSET
        }


def _check_stock(problems: Problems, name: str, value: object, *, signed: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(name, "must be an integer", "type_error")
    elif not signed and value < 0:
        problems.add(name, "must not be negative")
    elif abs(value) > MAX_STOCK:
        problems.add(name, f"must be at most {MAX_STOCK} in size")


@frozen
class SetStock:
    """Set a book's stock to an absolute ``quantity`` (>= 0)."""

    quantity: int

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_stock(problems, "quantity", self.quantity, signed=False)
        problems.raise_if_any()


@frozen
class AdjustStock:
    """Add ``delta`` (negative to remove) to a book's stock; the result may not go below 0."""

    delta: int

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_stock(problems, "delta", self.delta, signed=True)
        problems.raise_if_any()


def _check_genre_name(cmd: Any, problems: Problems) -> None:
    if cmd.name is not UNSET:
        _set(cmd, "name", problems.text("name", cmd.name, max_length=GENRE_NAME_MAX))


@frozen
class CreateGenre:
    """Add a genre, optionally under ``parent_id``."""

    name: str
    parent_id: int | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_genre_name(self, problems)
        _check_id_field(problems, self, "parent_id", nullable=True)
        problems.raise_if_any()


@frozen
class UpdateGenre:
    """Rename a genre and/or move it (``parent_id=None`` makes it a top-level genre)."""

    name: str | Unset = UNSET
    parent_id: int | Unset | None = UNSET

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_genre_name(self, problems)
        _check_id_field(problems, self, "parent_id", nullable=True)
        problems.raise_if_any()


@frozen
class ListBooks:
    """Filters, order and page for browsing the catalog.

    ``sort_dir`` defaults to descending for ``created_at`` and ``avg_rating`` (newest and best
    first) and ascending otherwise.
    """

    genre_id: int | None = None
    author: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    sort: BookSort = BookSort.TITLE
    sort_dir: SortDirection | None = None
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_id_field(problems, self, "genre_id", nullable=True)
        if self.author is not None:
            _set(
                self,
                "author",
                problems.text("author", self.author, max_length=AUTHOR_MAX, nullable=True),
            )
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is not None:
                try:
                    _set(self, name, parse_money(value, field=name, positive=False))
                except ValidationError as exc:
                    problems.absorb(exc)
        if (
            isinstance(self.min_price, Decimal)
            and isinstance(self.max_price, Decimal)
            and self.min_price > self.max_price
        ):
            problems.add("min_price", "must not be greater than max_price")
        for name, enum_type in (("sort", BookSort), ("sort_dir", SortDirection)):
            value = getattr(self, name)
            if value is None and name == "sort_dir":
                continue
            try:
                _set(self, name, enum_type(value))
            except ValueError:
                allowed = ", ".join(member.value for member in enum_type)
                problems.add(name, f"must be one of: {allowed}", "enum")
        if not isinstance(self.in_stock, bool):
            problems.add("in_stock", "must be a boolean", "type_error")
        try:
            PageRequest(self.page, self.size)
        except ValidationError as exc:
            problems.absorb(exc)
        problems.raise_if_any()

    @property
    def direction(self) -> SortDirection:
        return self.sort_dir or self.sort.default_direction

    @property
    def page_request(self) -> PageRequest:
        return PageRequest(self.page, self.size)
