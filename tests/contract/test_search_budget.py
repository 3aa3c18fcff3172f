"""Statement budget of search on the SQL backends: a search page, with or without facets, costs
the same number of statements for 10 and for 10,000 matches (no N+1, no per-row work).

Like ``test_statement_budget.py``: measure on a small store, grow it a thousandfold, measure
again; the counts must be equal, and small.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing import add_genre
from bookshop_core import Genre, NewBook
from bookshop_core.search.commands import SearchBooks

pytestmark = pytest.mark.bookshop_backends("sqlite", "postgres")

SMALL, LARGE = 10, 10_000


async def _add_indexed_books(shop: Shop, count: int, genres: list[Genre], start: int) -> None:
    """``count`` books, every one matching "common", spread over ``genres`` (and none), written
    and indexed in one transaction."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    books = [
        NewBook(
            title=f"Common book {n}",
            author=f"Author {n % 7}",
            price=Decimal(n % 70 + 1) + Decimal("0.99"),
            isbn=None,
            genre_id=genres[n % len(genres)].id if n % 5 else None,
            description="A common story about common things.",
            cover_image_url=None,
            publish_date=None,
            stock_quantity=n % 3,
            created_at=now,
        )
        for n in range(start, start + count)
    ]
    async with shop.unit_of_work() as uow:
        added = await uow.books.add_many(books)
        await uow.search_index.put([shop.search.analyzer.document(book) for book in added])
        await uow.commit()


async def _taxonomy(shop: Shop) -> list[Genre]:
    fiction = await add_genre(shop, "Fiction")
    fantasy = await add_genre(shop, "Fantasy", parent=fiction)
    return [fiction, fantasy, await add_genre(shop, "Science")]


async def _statements(shop: Shop, command: SearchBooks) -> list[str]:
    from bookshop_adapters.sqlalchemy import count_statements

    with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
        await shop.search.search(command)
    return list(counted.statements)


SEARCHES: dict[str, dict[str, Any]] = {
    "relevance": {"q": "common"},
    "relevance_with_facets": {"q": "common", "facets": True},
    "prefix_filters_facets": {
        "q": "comm",
        "in_stock": True,
        "min_price": Decimal("2"),
        "author": "author",
        "facets": True,
        "highlight": True,
    },
    "phrase_by_price": {"q": '"common story" -nothing', "sort": "price", "facets": True},
    "past_the_end": {"q": "common", "page": 2000, "size": 10, "facets": True},
    "no_text_with_facets": {"sort": "title", "facets": True},
    "nothing_found_with_suggestion": {"q": "commen", "suggest": True, "facets": True},
}


async def test_search_costs_the_same_for_10_and_10000_matches(shop: Shop) -> None:
    """Each kind of search page sends the same few statements whatever the number of matches:
    the page with its total and its books, facets in one more (a count only for a page past
    the end; the suggestion's look-ups only when nothing is found)."""
    genres = await _taxonomy(shop)
    commands = {
        name: SearchBooks(**arguments, genre_id=genres[0].id if "filters" in name else None)
        for name, arguments in SEARCHES.items()
    }
    await _add_indexed_books(shop, SMALL, genres, start=0)
    small = {name: await _statements(shop, command) for name, command in commands.items()}
    await _add_indexed_books(shop, LARGE - SMALL, genres, start=SMALL)
    assert (await shop.search.search(SearchBooks(q="common"))).page.total == LARGE
    large = {name: await _statements(shop, command) for name, command in commands.items()}
    assert {name: len(s) for name, s in large.items()} == {
        name: len(s) for name, s in small.items()
    }, large
    assert len(large["relevance"]) == 1, large["relevance"]
    assert len(large["relevance_with_facets"]) == 2, large["relevance_with_facets"]
    assert max(len(s) for s in large.values()) <= 6, large
