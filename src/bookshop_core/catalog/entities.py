"""Catalog entities and value objects: genres (a taxonomy) and books."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from attrs import define, field, fields, frozen

from bookshop_core.errors import ValidationError
from bookshop_core.kernel.events import DomainEvent
from bookshop_core.kernel.validation import UNSET, Unset

__all__ = [
    "MAX_GENRE_DEPTH",
    "Book",
    "BookChanges",
    "BookQuery",
    "BookRestocked",
    "BookSort",
    "BooksChanged",
    "BooksRemoved",
    "Genre",
    "GenreNode",
    "NewBook",
    "SortDirection",
    "StockChange",
    "Taxonomy",
]

#: How many levels the genre tree may have: a top-level genre is level 1, its sub-genre level
#: 2, ... The API, the CLI and the CSV import all refuse a genre deeper than this; every walk
#: of the tree stops after this many steps, so that bad stored data (a cycle) cannot hang it.
MAX_GENRE_DEPTH: Final = 10

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


def _too_deep(field_name: str) -> ValidationError:
    return ValidationError.refused(
        field_name,
        f"Genres may be nested at most {MAX_GENRE_DEPTH} levels deep",
        "genre_depth",
    )


class Taxonomy:
    """The genres as a tree, to check where a genre may go and to show the tree.

    Every walk is bounded (by :data:`MAX_GENRE_DEPTH` steps, or by the number of genres), so a
    cycle or an over-deep chain in stored data makes a check refuse, never loop.

    Args:
        genres: Every genre; siblings keep this order in :meth:`forest`.
    """

    def __init__(self, genres: Iterable[Genre]) -> None:
        self._by_id: dict[int, Genre] = {}
        self._children: dict[int | None, list[Genre]] = {}
        for genre in genres:
            self._by_id[genre.id] = genre
            self._children.setdefault(genre.parent_id, []).append(genre)

    def __contains__(self, genre_id: object) -> bool:
        return genre_id in self._by_id

    def levels(self, genre_id: int) -> int:
        """How many levels the subtree of ``genre_id`` spans (1 without sub-genres), counted
        up to ``MAX_GENRE_DEPTH + 1`` at most."""
        level, seen = [genre_id], {genre_id}
        count = 0
        while level and count <= MAX_GENRE_DEPTH:
            count += 1
            below = [c.id for g in level for c in self._children.get(g, ()) if c.id not in seen]
            seen.update(below)
            level = below
        return count

    def check_parent(self, parent_id: int | None) -> None:
        """Check that a new genre may go under ``parent_id``.

        Raises:
            ValidationError: (refused, on ``parent_id``) an unknown parent, or one so deep
                that the new genre would pass :data:`MAX_GENRE_DEPTH` (type ``genre_depth``).
        """
        if parent_id is None:
            return
        if parent_id not in self._by_id:
            raise unknown_genre("parent_id")
        chain, reaches_top = self._chain(parent_id)
        if not reaches_top or len(chain) + 1 > MAX_GENRE_DEPTH:
            raise _too_deep("parent_id")

    def check_move(self, genre_id: int, parent_id: int | None) -> None:
        """Check that ``genre_id`` may move (with its subtree) under ``parent_id``.

        Raises:
            ValidationError: (refused, on ``parent_id``) an unknown parent; a parent in the
                genre's own subtree (type ``genre_cycle``); or a move that would put part of
                the subtree deeper than :data:`MAX_GENRE_DEPTH` (type ``genre_depth``).
        """
        depth_above = 0
        if parent_id is not None:
            if parent_id not in self._by_id:
                raise unknown_genre("parent_id")
            chain, reaches_top = self._chain(parent_id)
            if genre_id in chain:
                raise ValidationError.refused(
                    "parent_id", "A genre cannot move under itself or its sub-genres", "genre_cycle"
                )
            if not reaches_top:
                raise _too_deep("parent_id")
            depth_above = len(chain)
        if depth_above + self.levels(genre_id) > MAX_GENRE_DEPTH:
            raise _too_deep("parent_id")

    def _chain(self, genre_id: int) -> tuple[list[int], bool]:
        """``genre_id`` and its ancestors, nearest first, and whether they reach a top-level
        genre. The walk stops at the top, at a genre seen before (a cycle in stored data), at
        a missing genre, or after ``MAX_GENRE_DEPTH`` genres (deeper than allowed)."""
        chain: list[int] = []
        current: int | None = genre_id
        while current is not None and current not in chain and len(chain) < MAX_GENRE_DEPTH:
            genre = self._by_id.get(current)
            if genre is None:
                return chain, False
            chain.append(current)
            current = genre.parent_id
        return chain, current is None

    def forest(self) -> tuple[GenreNode, ...]:
        """The top-level genres with their sub-genres nested, built without recursion (any
        depth works). Genres caught in a cycle have no top and are left out."""
        order: list[Genre] = list(self._children.get(None, ()))
        seen = {genre.id for genre in order}
        for genre in order:  # breadth first; ``order`` grows while it is walked
            for child in self._children.get(genre.id, ()):
                if child.id not in seen:
                    seen.add(child.id)
                    order.append(child)
        nodes: dict[int, GenreNode] = {}
        for genre in reversed(order):  # children before their parents
            kids = tuple(nodes[c.id] for c in self._children.get(genre.id, ()) if c.id in nodes)
            nodes[genre.id] = GenreNode(genre.id, genre.name, genre.parent_id, kids)
        return tuple(nodes[genre.id] for genre in self._children.get(None, ()))


def unknown_genre(field_name: str) -> ValidationError:
    """The refusal of a ``genre_id``/``parent_id`` that names no genre."""
    return ValidationError.refused(field_name, "Genre not found", "genre_not_found")


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


@frozen
class BookChanges:
    """The descriptive fields of a book to change; those left ``UNSET`` keep their stored
    value (a repository writes only the given columns, so concurrent changes of different
    fields all survive)."""

    title: str | Unset = UNSET
    author: str | Unset = UNSET
    price: Decimal | Unset = UNSET
    isbn: str | Unset | None = UNSET
    genre_id: int | Unset | None = UNSET
    description: str | Unset | None = UNSET
    cover_image_url: str | Unset | None = UNSET
    publish_date: date | Unset | None = UNSET

    def given(self) -> dict[str, Any]:
        """The fields to change, by name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(BookChanges)
            if getattr(self, f.name) is not UNSET
        }


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


@frozen
class BooksChanged(DomainEvent):
    """Books were created, changed or imported (one event per use case, every id in it).

    The search context indexes them again in the same transaction.
    """

    book_ids: tuple[int, ...]


@frozen
class BooksRemoved(DomainEvent):
    """Books were deleted (the search context forgets them in the same transaction)."""

    book_ids: tuple[int, ...]
