"""The plain-Python reference of search: what every backend's answer must equal.

It reads nothing but the books and genres (through the public use cases, so it works on any
shop) and evaluates the query model on each book's analysed fields directly, without any index:
slow and obviously right. The contract suite and :class:`ShopMachine` compare every backend's
``shop.search`` with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from attrs import frozen

from bookshop_adapters.bootstrap import Shop
from bookshop_core.catalog.commands import ListBooks
from bookshop_core.catalog.entities import MAX_GENRE_DEPTH, Book, Genre, SortDirection
from bookshop_core.kernel.pagination import MAX_PAGE_SIZE
from bookshop_core.search.analysis import Analyzer, Token
from bookshop_core.search.entities import (
    PRICE_BUCKETS,
    Facets,
    GenreCount,
    PriceBucket,
    SearchFilters,
    SearchOrder,
    SearchSort,
)
from bookshop_core.search.query import Clause, Phrase, Prefix, Term, TextQuery

__all__ = [
    "Catalogue",
    "read_catalogue",
    "reference_facets",
    "reference_search",
]

_WEIGHTS = (("title", 4), ("author", 2), ("description", 1))


@frozen
class Catalogue:
    """Every book and genre of a shop, as the reference reads them."""

    books: tuple[Book, ...]
    genres: tuple[Genre, ...]


async def read_catalogue(shop: Shop) -> Catalogue:
    """Every book and genre of ``shop``, through the catalog's use cases."""
    books: list[Book] = []
    page = 1
    while True:
        found = await shop.catalog.list_books(ListBooks(page=page, size=MAX_PAGE_SIZE))
        books.extend(found.items)
        if page * MAX_PAGE_SIZE >= found.total:
            break
        page += 1
    return Catalogue(tuple(books), tuple(await shop.catalog.list_genres()))


def _occurs(clause: Clause, tokens: Sequence[Token]) -> bool:
    """Whether ``clause`` occurs in a field of these tokens."""
    if isinstance(clause, Term):
        return any(t.lexeme == clause.lexeme for t in tokens)
    if isinstance(clause, Prefix):
        return any(t.word.startswith(clause.word) or t.lexeme == clause.lexeme for t in tokens)
    assert isinstance(clause, Phrase)
    lexemes = [t.lexeme for t in tokens]
    n = len(clause.lexemes)
    return any(tuple(lexemes[i : i + n]) == clause.lexemes for i in range(len(lexemes) - n + 1))


def _score(analyzer: Analyzer, book: Book, query: TextQuery) -> int | None:
    """The book's score, or ``None`` when it does not match."""
    fields = {
        "title": analyzer.terms(book.title),
        "author": analyzer.terms(book.author),
        "description": analyzer.terms(book.description),
    }
    for clause in query.must:
        if not any(_occurs(clause, tokens) for tokens in fields.values()):
            return None
    for clause in query.must_not:
        if any(_occurs(clause, tokens) for tokens in fields.values()):
            return None
    return sum(
        weight
        for name, weight in _WEIGHTS
        if any(_occurs(clause, fields[name]) for clause in query.must)
    )


def _in_genre(genres: dict[int, Genre], genre_id: int | None, wanted: int) -> bool:
    """Whether ``genre_id`` is ``wanted`` or below it (at most ``MAX_GENRE_DEPTH`` levels)."""
    current = genre_id
    for _ in range(MAX_GENRE_DEPTH):
        if current is None:
            return False
        if current == wanted:
            return True
        genre = genres.get(current)
        current = None if genre is None else genre.parent_id
    return False


def _kept(book: Book, filters: SearchFilters, genres: dict[int, Genre]) -> bool:
    if filters.genre_id is not None and not _in_genre(genres, book.genre_id, filters.genre_id):
        return False
    if filters.author is not None and filters.author.casefold() not in book.author.casefold():
        return False
    if filters.min_price is not None and book.price < filters.min_price:
        return False
    if filters.max_price is not None and book.price > filters.max_price:
        return False
    return not (filters.in_stock and book.stock_quantity <= 0)


def _matching(
    analyzer: Analyzer, catalogue: Catalogue, query: TextQuery | None, filters: SearchFilters
) -> list[tuple[Book, int]]:
    genres = {g.id: g for g in catalogue.genres}
    found: list[tuple[Book, int]] = []
    for book in catalogue.books:
        if not _kept(book, filters, genres):
            continue
        score = 0 if query is None else _score(analyzer, book, query)
        if score is not None:
            found.append((book, score))
    return found


def reference_search(
    analyzer: Analyzer,
    catalogue: Catalogue,
    query: TextQuery | None,
    filters: SearchFilters = SearchFilters(),
    order: SearchOrder = SearchOrder(),
) -> list[tuple[int, int]]:
    """Every matching book's ``(id, score)``, in the order the port prescribes."""
    found = _matching(analyzer, catalogue, query, filters)
    found.sort(key=lambda pair: pair[0].id)
    if order.sort is SearchSort.RELEVANCE:
        found.sort(key=lambda pair: -pair[1])
        return [(book.id, score) for book, score in found]
    # The catalog listing's rule: the key in the direction, books without one last (by id).
    key = _SORT_KEYS[order.sort]
    present = [pair for pair in found if key(pair[0]) is not None]
    missing = [pair for pair in found if key(pair[0]) is None]
    present.sort(key=lambda pair: key(pair[0]), reverse=order.direction is SortDirection.DESC)
    return [(book.id, score) for book, score in present + missing]


#: Each listing sort's key (``None``: the book has no value for it).
_SORT_KEYS: dict[SearchSort, Callable[[Book], Any]] = {
    SearchSort.TITLE: lambda b: b.title.casefold(),
    SearchSort.PRICE: lambda b: b.price,
    SearchSort.DATE: lambda b: b.publish_date,
    SearchSort.CREATED_AT: lambda b: b.created_at,
    SearchSort.AVG_RATING: lambda b: (
        Fraction(b.rating_sum, b.review_count) if b.review_count else None
    ),
}


def _in_bucket(book: Book, low: Decimal | None, high: Decimal | None) -> bool:
    return (low is None or book.price >= low) and (high is None or book.price < high)


def reference_facets(
    analyzer: Analyzer,
    catalogue: Catalogue,
    query: TextQuery | None,
    filters: SearchFilters = SearchFilters(),
) -> Facets:
    """The facets of every matching book."""
    books = [book for book, _ in _matching(analyzer, catalogue, query, filters)]
    genres = {g.id: g for g in catalogue.genres}
    counts: dict[int, int] = {}
    for book in books:
        for top in (g for g in catalogue.genres if g.parent_id is None):
            if _in_genre(genres, book.genre_id, top.id):
                counts[top.id] = counts.get(top.id, 0) + 1
    genre_counts = tuple(
        GenreCount(gid, genres[gid].name, n)
        for gid, n in sorted(
            counts.items(), key=lambda item: (-item[1], genres[item[0]].name.casefold(), item[0])
        )
    )
    prices = tuple(
        PriceBucket(low, high, sum(_in_bucket(b, low, high) for b in books))
        for low, high in PRICE_BUCKETS
    )
    return Facets(genre_counts, len([b for b in books if b.stock_quantity > 0]), prices)
