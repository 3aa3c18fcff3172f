"""Catalog entities and value objects: genres (a taxonomy) and books."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from attrs import define, field, frozen

from bookshop_core.kernel.events import DomainEvent

__all__ = [
    "Book",
    "BookQuery",
    "BookRestocked",
    "BookSort",
    "Genre",
    "GenreNode",
    "NewBook",
    "SortDirection",
    "StockChange",
]

_TENTH = Decimal("0.1")


@frozen
class Genre:
    """A genre; ``parent_id`` makes it a sub-genre. Names are unique, case-insensitively."""

    id: int
    name: str
    parent_id: int | None = None


@frozen
class GenreNode:
    """A genre with its sub-genres, for showing the taxonomy as a tree."""

    id: int
    name: str
    parent_id: int | None
    children: tuple[GenreNode, ...] = ()


@frozen
class NewBook:
    """A book as it is first written; the store assigns its id."""

    title: str
    author: str
    price: Decimal
    isbn: str | None
    genre_id: int | None
    description: str | None
    cover_image_url: str | None
    publish_date: date | None
    stock_quantity: int
    created_at: datetime


@define
class Book:
    """A book of the catalog. ``price`` is exact; ``isbn`` is a bare ISBN-13 or ``None``.

    ``review_count`` and ``rating_sum`` count live reviews; ``avg_rating`` derives from them.
    """

    id: int
    title: str
    author: str
    price: Decimal
    isbn: str | None
    genre_id: int | None
    description: str | None
    cover_image_url: str | None
    publish_date: date | None
    stock_quantity: int
    created_at: datetime
    updated_at: datetime
    review_count: int = 0
    rating_sum: int = 0

    @property
    def in_stock(self) -> bool:
        return self.stock_quantity > 0

    @property
    def avg_rating(self) -> Decimal | None:
        """Mean rating of live reviews to one decimal, half-up; ``None`` without reviews."""
        if not self.review_count:
            return None
        return (Decimal(self.rating_sum) / self.review_count).quantize(_TENTH, ROUND_HALF_UP)


class BookSort(enum.StrEnum):
    TITLE = "title"
    PRICE = "price"
    DATE = "date"  # publish date
    CREATED_AT = "created_at"
    AVG_RATING = "avg_rating"

    @property
    def default_direction(self) -> SortDirection:
        newest_first = {BookSort.CREATED_AT, BookSort.AVG_RATING}
        return SortDirection.DESC if self in newest_first else SortDirection.ASC


class SortDirection(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


@frozen
class BookQuery:
    """Filters (AND-combined) and order for listing books, as repositories receive them.

    Ordering rule, the same on every backend: by the sort key in ``direction`` with missing
    values (no publish date, no reviews) last, then by id ascending. Titles compare by their
    case-folded form, code point by code point.
    """

    genre_id: int | None = None  # includes every sub-genre
    author: str | None = None  # case-insensitive substring, matched literally
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    sort: BookSort = BookSort.TITLE
    direction: SortDirection = SortDirection.ASC
    ids: frozenset[int] | None = field(default=None)  # restrict to these ids (for other contexts)


@frozen
class StockChange:
    """A book's stock before and after one change."""

    book_id: int
    before: int
    after: int


@frozen
class BookRestocked(DomainEvent):
    """A book's stock went from 0 to above 0 (restock, or a cancelled order put it back)."""

    book_id: int
    title: str
    stock_quantity: int
