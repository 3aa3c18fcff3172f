"""What a search answers with, and the order and filters an index receives."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Final

from attrs import field, frozen

from bookshop_core.catalog.entities import Book, BookSort, SortDirection
from bookshop_core.kernel.pagination import Page

__all__ = [
    "PRICE_BUCKETS",
    "Facets",
    "GenreCount",
    "Highlight",
    "Hit",
    "PriceBucket",
    "ScoredId",
    "SearchFilters",
    "SearchOrder",
    "SearchResult",
    "SearchSort",
    "VocabularyWord",
]

#: Ranking weights: a must clause found in the title counts 4, in the author 2, in the
#: description 1 (each field once, whatever the number of clauses it matches).
FIELD_WEIGHTS: Final = {"title": 4, "author": 2, "description": 1}

#: The fixed price buckets of the facets, ``[min, max)``; ``None`` is unbounded.
PRICE_BUCKETS: Final[tuple[tuple[Decimal | None, Decimal | None], ...]] = (
    (Decimal("0"), Decimal("10")),
    (Decimal("10"), Decimal("20")),
    (Decimal("20"), Decimal("50")),
    (Decimal("50"), None),
)


class SearchSort(enum.StrEnum):
    """How results are ordered: ``relevance`` or any of the catalog listing's sorts, which
    order a search exactly as they order the listing (:class:`BookSort`).

    ``relevance``: score descending (see :data:`FIELD_WEIGHTS`), whatever the direction, then
    id ascending; ``title`` (case-folded), ``price``, ``date`` (publish date), ``created_at``
    (the time the book was added; ``NEWEST`` is another name for it) and ``avg_rating``
    (the exact mean of the live reviews): the sort key in the direction, books without a
    value (no publish date, no reviews) last either way, then id ascending. ``created_at``
    and ``avg_rating`` default to descending, the others to ascending.
    """

    RELEVANCE = "relevance"
    TITLE = "title"
    PRICE = "price"
    DATE = "date"
    CREATED_AT = "created_at"
    AVG_RATING = "avg_rating"
    NEWEST = "created_at"  # an alias: the newest books first is the created_at order

    @property
    def listing_sort(self) -> BookSort | None:
        """The catalog listing's sort this one orders by (``None`` for relevance)."""
        return None if self is SearchSort.RELEVANCE else BookSort(self.value)

    @property
    def default_direction(self) -> SortDirection:
        listing = self.listing_sort
        return SortDirection.DESC if listing is None else listing.default_direction


@frozen
class SearchOrder:
    """The order an index returns results in: ``sort`` in ``direction``, then id ascending
    (``relevance`` ignores ``direction``: best first)."""

    sort: SearchSort = SearchSort.RELEVANCE
    direction: SortDirection = SortDirection.DESC


@frozen
class SearchFilters:
    """Filters AND-combined with the text query, with the catalog listing's semantics.

    ``genre_id`` includes its sub-genres; ``author`` is a case-insensitive substring matched
    literally (``%`` and ``_`` are plain characters); prices are inclusive; ``in_stock`` keeps
    books with stock above 0.
    """

    genre_id: int | None = None
    author: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False


@frozen
class ScoredId:
    """A matching book's id and score (0 without a text query).

    ``book`` is the book itself when the index read it with the page (an SQL index joins the
    page's rows to the books in the same statement), else ``None``: the search then reads it
    from the catalog. It takes no part in equality.
    """

    book_id: int
    score: int
    book: Book | None = field(default=None, eq=False)


@frozen
class Highlight:
    """A fragment of one field (``title``, ``author`` or ``description``) around its first
    match, HTML-escaped, with the matched words wrapped in ``<mark>``...``</mark>``."""

    field: str
    fragment: str


@frozen
class Hit:
    """A found book, its score and (when asked for) the highlighted fragments."""

    book: Book
    score: int
    highlights: tuple[Highlight, ...] = ()


@frozen
class GenreCount:
    """How many results are in a top-level genre (its sub-genres included)."""

    genre_id: int
    name: str
    count: int


@frozen
class PriceBucket:
    """How many results cost from ``min`` (inclusive) to ``max`` (exclusive; ``None``:
    unbounded)."""

    min: Decimal | None
    max: Decimal | None
    count: int


@frozen
class Facets:
    """Counts over every result of the query and filters (not only the page).

    ``genres``: per top-level genre with at least one result, by count descending, then by
    case-folded name as genre lists are (books without a genre are not counted);
    ``in_stock``: how many results are in stock; ``prices``: the four
    :data:`PRICE_BUCKETS`, in order, zeros included.
    """

    genres: tuple[GenreCount, ...]
    in_stock: int
    prices: tuple[PriceBucket, ...]


@frozen
class VocabularyWord:
    """An indexed folded surface word and the number of books it occurs in."""

    word: str
    documents: int


@frozen
class SearchResult:
    """One page of hits with the exact total, the facets when asked for, and a suggested
    query ("did you mean") when the query found nothing and a close one exists."""

    page: Page[Hit]
    facets: Facets | None = None
    suggestion: str | None = None
