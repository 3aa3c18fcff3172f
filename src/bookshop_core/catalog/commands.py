"""Catalog commands: what a caller asks for, validated and normalised on construction.

Every field has its true type (a price is a ``Decimal``, a sort an enum member); on
construction each value is normalised (trimmed, quantized, ISBN-13), then every field is
checked and one ``ValidationError`` lists each bad field. Build them directly in Python, or
from untrusted JSON or query strings with ``bookshop_core.structure``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from attrs import AttrsInstance, field, fields, frozen

from bookshop_core.catalog.entities import BookSort, SortDirection
from bookshop_core.catalog.isbn import normalize_isbn
from bookshop_core.errors import ValidationError
from bookshop_core.kernel.money import parse_money
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, PageRequest
from bookshop_core.kernel.validation import (
    UNSET,
    Problems,
    Rule,
    Unset,
    check_fields,
    check_flag,
    check_optional_id,
    check_page,
    check_page_size,
    install_normalisers,
    rule,
    strip_optional_text,
    text,
)

__all__ = [
    "MAX_STOCK",
    "AdjustStock",
    "CreateBook",
    "CreateGenre",
    "ListBooks",
    "Listing",
    "SetStock",
    "UpdateBook",
    "UpdateGenre",
    "check_listing",
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


def _maybe(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A normaliser from a parser: the parsed value, or the input as it was when the parser
    refuses it (the field's check then reports why)."""

    def normalise(value: Any) -> Any:
        try:
            return parse(value)
        except (ValidationError, ValueError, TypeError):
            return value

    return normalise


def _money(*, positive: bool) -> dict[str, Rule]:
    """A price: a ``Decimal`` (or int) of at most two decimals, stored quantized to cents."""

    def parse(value: Any) -> Decimal:
        return parse_money(value, positive=positive)

    def check(problems: Problems, name: str, value: Any) -> None:
        if value is None:
            if positive:
                problems.add(name, "may not be null", "missing")
            return
        try:
            parse_money(value, field=name, positive=positive)
        except ValidationError as exc:
            problems.absorb(exc)

    return rule(check, _maybe(parse))


def _isbn_text(value: Any) -> Any:
    stripped = strip_optional_text(value)
    return normalize_isbn(stripped) if isinstance(stripped, str) else stripped


def _check_isbn(problems: Problems, name: str, value: Any) -> None:
    if value is None or problems.text(name, value, max_length=32, nullable=True) is None:
        return
    try:
        normalize_isbn(value, field=name)
    except ValidationError as exc:
        problems.absorb(exc)


def _is_cover_url(url: str) -> bool:
    """An absolute http(s) URL with a host, or a path on this server (``/uploads/x.png``);
    never protocol-relative (``//evil.example/x.png`` is another site's), and no backslash
    (browsers read ``/\\evil.example`` as ``//evil.example``)."""
    if any(c.isspace() for c in url) or "\\" in url:
        return False
    if url.startswith("/"):
        return not url.startswith("//")
    scheme, separator, rest = url.partition("://")
    return scheme.lower() in ("http", "https") and bool(separator) and rest[:1] not in ("", "/")


def _check_url(problems: Problems, name: str, value: Any) -> None:
    url = problems.text(name, value, max_length=URL_MAX, nullable=True)
    if url is not None and not _is_cover_url(url):
        problems.add(name, "must be an http(s) URL or a path on this server")


def _check_publish_date(problems: Problems, name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, date):
        problems.add(name, "must be a date", "type_error")
    elif not PUBLISH_DATE_MIN <= value <= PUBLISH_DATE_MAX:
        problems.add(name, "is out of range")


def _stock(*, signed: bool) -> dict[str, Rule]:
    def check(problems: Problems, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(name, "must be an integer", "type_error")
        elif not signed and value < 0:
            problems.add(name, "must not be negative")
        elif abs(value) > MAX_STOCK:
            problems.add(name, f"must be at most {MAX_STOCK} in size")

    return rule(check)


def _choice(enum_type: type[enum.Enum], *, nullable: bool = False) -> dict[str, Rule]:
    """One of the members of ``enum_type``, given as a member or its value."""

    def check(problems: Problems, name: str, value: Any) -> None:
        if not isinstance(value, enum_type) and not (nullable and value is None):
            allowed = ", ".join(str(member.value) for member in enum_type)
            problems.add(name, f"must be one of: {allowed}", "enum")

    return rule(check, _maybe(enum_type))


_TITLE = text(max_length=TITLE_MAX)
_AUTHOR = text(max_length=AUTHOR_MAX)
_DESCRIPTION = text(max_length=DESCRIPTION_MAX, nullable=True)
_PRICE = _money(positive=True)
_ISBN = rule(_check_isbn, _maybe(_isbn_text))
_URL = rule(_check_url, strip_optional_text)
_GENRE_ID = rule(check_optional_id)
_PUBLISH_DATE = rule(_check_publish_date)
_GENRE_NAME = text(max_length=GENRE_NAME_MAX)


def _raise_problems(command: AttrsInstance) -> None:
    check_fields(command).raise_if_any()


@frozen(field_transformer=install_normalisers)
class CreateBook:
    """Add a book to the catalog. Stock starts at 0; ``isbn`` may be ISBN-10 or ISBN-13.

    On construction text is trimmed (blank optional text becomes ``None``), the price is
    quantized to cents and the ISBN becomes a bare ISBN-13.

    Raises:
        ValidationError: every bad field at once.
    """

    title: str = field(metadata=_TITLE)
    author: str = field(metadata=_AUTHOR)
    price: Decimal = field(metadata=_PRICE)
    isbn: str | None = field(default=None, metadata=_ISBN)
    genre_id: int | None = field(default=None, metadata=_GENRE_ID)
    description: str | None = field(default=None, metadata=_DESCRIPTION)
    cover_image_url: str | None = field(default=None, metadata=_URL)
    publish_date: date | None = field(default=None, metadata=_PUBLISH_DATE)

    def __attrs_post_init__(self) -> None:
        _raise_problems(self)


@frozen(field_transformer=install_normalisers)
class UpdateBook:
    """Change some fields of a book; fields left ``UNSET`` keep their value.

    ``None`` clears an optional field and is refused for a required one. Values are
    normalised as in :class:`CreateBook`.

    Raises:
        ValidationError: every bad field at once.
    """

    title: str | Unset = field(default=UNSET, metadata=_TITLE)
    author: str | Unset = field(default=UNSET, metadata=_AUTHOR)
    price: Decimal | Unset = field(default=UNSET, metadata=_PRICE)
    isbn: str | Unset | None = field(default=UNSET, metadata=_ISBN)
    genre_id: int | Unset | None = field(default=UNSET, metadata=_GENRE_ID)
    description: str | Unset | None = field(default=UNSET, metadata=_DESCRIPTION)
    cover_image_url: str | Unset | None = field(default=UNSET, metadata=_URL)
    publish_date: date | Unset | None = field(default=UNSET, metadata=_PUBLISH_DATE)

    def __attrs_post_init__(self) -> None:
        _raise_problems(self)

    def changes(self) -> dict[str, Any]:
        """The fields that were given, by name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(type(self))
            if getattr(self, f.name) is not UNSET
        }


@frozen
class SetStock:
    """Set a book's stock to an absolute ``quantity`` (>= 0)."""

    quantity: int = field(metadata=_stock(signed=False))

    def __attrs_post_init__(self) -> None:
        _raise_problems(self)


@frozen
class AdjustStock:
    """Add ``delta`` (negative to remove) to a book's stock; the result may not go below 0."""

    delta: int = field(metadata=_stock(signed=True))

    def __attrs_post_init__(self) -> None:
        _raise_problems(self)


@frozen(field_transformer=install_normalisers)
class CreateGenre:
    """Add a genre, optionally under ``parent_id``; the name is trimmed."""

    name: str = field(metadata=_GENRE_NAME)
    parent_id: int | None = field(default=None, metadata=_GENRE_ID)

    def __attrs_post_init__(self) -> None:
        _raise_problems(self)


@frozen(field_transformer=install_normalisers)
class UpdateGenre:
    """Rename a genre and/or move it (``parent_id=None`` makes it a top-level genre)."""

    name: str | Unset = field(default=UNSET, metadata=_GENRE_NAME)
    parent_id: int | Unset | None = field(default=UNSET, metadata=_GENRE_ID)

    def __attrs_post_init__(self) -> None:
        _raise_problems(self)


class Listing(AttrsInstance, Protocol):
    """What every catalog listing command has: a price range and a page."""

    @property
    def min_price(self) -> Decimal | None: ...
    @property
    def max_price(self) -> Decimal | None: ...
    @property
    def page(self) -> int: ...
    @property
    def size(self) -> int: ...


def check_listing(command: Listing) -> None:
    """Check every field of a listing command by its own rules, then that the price range is
    not reversed and the page not too deep.

    Raises:
        ValidationError: every bad field at once.
    """
    problems = check_fields(command)
    if (
        not problems.failed("min_price")
        and not problems.failed("max_price")
        and command.min_price is not None
        and command.max_price is not None
        and command.min_price > command.max_price
    ):
        problems.add("min_price", "must not be greater than max_price")
    if not problems.errors:
        try:
            PageRequest(command.page, command.size)  # how deep a page may go
        except ValidationError as exc:
            problems.absorb(exc)
    problems.raise_if_any()


@frozen(field_transformer=install_normalisers)
class ListBooks:
    """Filters, order and page for browsing the catalog.

    ``sort_dir`` defaults to descending for ``created_at`` and ``avg_rating`` (newest and best
    first) and ascending otherwise. ``sort`` and ``sort_dir`` may be given as their values
    (``"price"``, ``"desc"``); they are stored as the enum members.

    Raises:
        ValidationError: every bad field at once.
    """

    genre_id: int | None = field(default=None, metadata=_GENRE_ID)
    author: str | None = field(default=None, metadata=text(max_length=AUTHOR_MAX, nullable=True))
    min_price: Decimal | None = field(default=None, metadata=_money(positive=False))
    max_price: Decimal | None = field(default=None, metadata=_money(positive=False))
    in_stock: bool = field(default=False, metadata=rule(check_flag))
    sort: BookSort = field(default=BookSort.TITLE, metadata=_choice(BookSort))
    sort_dir: SortDirection | None = field(
        default=None, metadata=_choice(SortDirection, nullable=True)
    )
    page: int = field(default=1, metadata=rule(check_page))
    size: int = field(default=DEFAULT_PAGE_SIZE, metadata=rule(check_page_size))

    def __attrs_post_init__(self) -> None:
        check_listing(self)

    @property
    def direction(self) -> SortDirection:
        return self.sort_dir or self.sort.default_direction

    @property
    def page_request(self) -> PageRequest:
        return PageRequest(self.page, self.size)
