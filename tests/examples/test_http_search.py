"""GET /books with q and the search additions: the wire mapping only.

What a query finds, and in which order, is the contract suite's (``search_relevance``,
``search``); here: parameters reach ``SearchBooks``, the body keeps the listing's envelope and
Book-shaped items, the extras appear only when asked for, and bad input is a 422.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_core import CreateBook, CreateGenre, ListBooks, ManualClock, Principal, SetStock
from bookshop_core.search import SearchBooks

pytestmark = pytest.mark.bookshop_backends("memory")

BOOK_FIELDS = {
    "id",
    "title",
    "author",
    "price",
    "isbn",
    "genre_id",
    "description",
    "cover_image_url",
    "publish_date",
    "stock_quantity",
    "in_stock",
    "avg_rating",
    "review_count",
    "created_at",
    "updated_at",
}
ENVELOPE = {"items", "total", "page", "size"}


@pytest.fixture
async def genres(shop: Shop, clock: ManualClock) -> dict[str, int]:
    """Fiction > Fantasy, and Science; five books (three about Tolkien) added a minute apart,
    some in stock, some without a publish date."""
    system = Principal.system()
    fiction = await shop.catalog.create_genre(system, CreateGenre("Fiction"))
    fantasy = await shop.catalog.create_genre(system, CreateGenre("Fantasy", fiction.id))
    science = await shop.catalog.create_genre(system, CreateGenre("Science"))
    rows = [
        ("The Hobbit", "J. R. R. Tolkien", "12.50", fantasy.id, "A dragon's hoard.", 5, 1937),
        ("The Two Towers", "J. R. R. Tolkien", "10.50", fantasy.id, "The ring goes east.", 0, 1954),
        ("Tolkien: A Biography", "Humphrey Carpenter", "25.00", fiction.id, None, 2, None),
        ("Dune", "Frank Herbert", "9.99", fiction.id, "Spice & sand <worms>.", 3, 1965),
        ("Cosmos", "Carl Sagan", "60.00", science.id, "The universe.", 1, None),
    ]
    for title, author, price, genre_id, description, stock, year in rows:
        clock.advance(minutes=1)
        book = await shop.catalog.create_book(
            system,
            CreateBook(
                title,
                author,
                Decimal(price),
                genre_id=genre_id,
                description=description,
                publish_date=None if year is None else date(year, 6, 1),
            ),
        )
        if stock:
            await shop.catalog.set_stock(system, book.id, SetStock(stock))
    return {"fiction": fiction.id, "fantasy": fantasy.id, "science": science.id}


async def get_books(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/books", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def titles(body: dict[str, Any]) -> list[str]:
    return [item["title"] for item in body["items"]]


# -- q ------------------------------------------------------------------------------------------


async def test_q_answers_the_listing_envelope_with_book_items(
    client: httpx.AsyncClient, genres: dict[str, int]
) -> None:
    """GET /books?q= is 200 {items, total, page, size, suggestion}; items are Books, no more."""
    body = await get_books(client, q="tolkien")
    assert set(body) == {*ENVELOPE, "suggestion"}
    assert (body["total"], body["page"], body["size"], body["suggestion"]) == (3, 1, 20, None)
    assert all(set(item) == BOOK_FIELDS for item in body["items"])


async def test_q_defaults_to_relevance(client: httpx.AsyncClient, genres: dict[str, int]) -> None:
    """With q and no sort, the best match comes first (a title match before author ones)."""
    assert titles(await get_books(client, q="tolkien")) == [
        "Tolkien: A Biography",
        "The Hobbit",
        "The Two Towers",
    ]


async def test_q_items_equal_the_use_case_result(
    client: httpx.AsyncClient, shop: Shop, genres: dict[str, int]
) -> None:
    """Every parameter reaches SearchBooks: the page is the use case's, book for book."""
    params = {
        "q": "tolkien",
        "genre_id": genres["fiction"],
        "author": "tolk",
        "min_price": "10.00",
        "max_price": "20",
        "in_stock": "false",
        "sort": "price",
        "sort_dir": "desc",
        "page": 1,
        "size": 1,
    }
    body = await get_books(client, **params)
    result = await shop.search.search(
        SearchBooks(
            q="tolkien",
            genre_id=genres["fiction"],
            author="tolk",
            min_price=Decimal("10"),
            max_price=Decimal("20"),
            sort="price",  # type: ignore[arg-type]  # structured from its value
            sort_dir="desc",  # type: ignore[arg-type]
            size=1,
        )
    )
    expected = [(hit.book.id, hit.book.title) for hit in result.page.items]
    assert [(item["id"], item["title"]) for item in body["items"]] == expected
    assert (body["total"], body["size"]) == (result.page.total, 1) == (2, 1)


_HOBBIT, _TOWERS, _BIOGRAPHY = "The Hobbit", "The Two Towers", "Tolkien: A Biography"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        pytest.param("relevance", [_BIOGRAPHY, _HOBBIT, _TOWERS], id="relevance"),
        pytest.param("title", [_HOBBIT, _TOWERS, _BIOGRAPHY], id="title"),
        pytest.param("price", [_TOWERS, _HOBBIT, _BIOGRAPHY], id="price"),
        pytest.param("date", [_HOBBIT, _TOWERS, _BIOGRAPHY], id="date-publish-undated-last"),
        pytest.param("created_at", [_BIOGRAPHY, _TOWERS, _HOBBIT], id="created_at-desc"),
        pytest.param("newest", [_BIOGRAPHY, _TOWERS, _HOBBIT], id="newest-is-created_at"),
        pytest.param("avg_rating", [_HOBBIT, _TOWERS, _BIOGRAPHY], id="avg_rating-unrated-by-id"),
    ],
)
async def test_q_takes_every_sort(
    client: httpx.AsyncClient, genres: dict[str, int], sort: str, expected: list[str]
) -> None:
    """With q, sort takes relevance, newest and every listing sort, in its default
    direction."""
    assert titles(await get_books(client, q="tolkien", sort=sort)) == expected


@pytest.mark.parametrize("sort", ["title", "price", "date", "created_at", "avg_rating"])
@pytest.mark.parametrize("sort_dir", [None, "asc", "desc"])
async def test_q_orders_as_the_listing_for_every_listing_sort(
    client: httpx.AsyncClient, genres: dict[str, int], sort: str, sort_dir: str | None
) -> None:
    """The web client may send any listing sort with q: the found books come in the order
    GET /books without q lists them."""
    params: dict[str, Any] = (
        {"sort": sort} if sort_dir is None else {"sort": sort, "sort_dir": sort_dir}
    )
    found = await get_books(client, q="tolkien", **params)
    listed = await get_books(client, **params)
    ids = {item["id"] for item in found["items"]}
    assert found["total"] == 3
    assert [item["id"] for item in found["items"]] == [
        item["id"] for item in listed["items"] if item["id"] in ids
    ]


async def test_blank_q_keeps_the_listing(client: httpx.AsyncClient, genres: dict[str, int]) -> None:
    """q= (blank) is the plain listing: by title, the envelope alone."""
    body = await get_books(client, q="   ")
    assert set(body) == ENVELOPE
    assert titles(body)[:2] == ["Cosmos", "Dune"]


async def test_without_q_the_listing_is_unchanged(
    client: httpx.AsyncClient, shop: Shop, genres: dict[str, int]
) -> None:
    """Without q the route answers the catalog listing, avg_rating sort included."""
    body = await get_books(client, sort="avg_rating", size=2)
    page = await shop.catalog.list_books(ListBooks(sort="avg_rating", size=2))  # type: ignore[arg-type]
    assert set(body) == ENVELOPE
    assert [item["id"] for item in body["items"]] == [book.id for book in page.items]


async def test_sort_relevance_without_q_is_the_default_order(
    client: httpx.AsyncClient, genres: dict[str, int]
) -> None:
    """sort=relevance without a query is accepted: every book is equally relevant, by title."""
    assert titles(await get_books(client, sort="relevance")) == titles(await get_books(client))


async def test_hostile_queries_are_answered(
    client: httpx.AsyncClient, genres: dict[str, int]
) -> None:
    """Backend operators, SQL, quotes, NUL and emoji in q are words or separators: 200."""
    for q in ["' OR 1=1; --", 'tolkien AND "', "dune* NEAR(x) | !", "du\x00ne📚", "dune " * 100]:
        body = await get_books(client, q=q)
        assert set(body) == {*ENVELOPE, "suggestion"}, q


# -- the additions ------------------------------------------------------------------------------


async def test_facets_are_added_when_asked(
    client: httpx.AsyncClient, genres: dict[str, int]
) -> None:
    """facets=true adds {genres, in_stock, prices}: money as 2-decimal strings, the open
    bucket's max null."""
    body = await get_books(client, q="tolkien", facets="true")
    assert set(body) == {*ENVELOPE, "suggestion", "facets"}
    assert body["facets"] == {
        "genres": [{"genre_id": genres["fiction"], "name": "Fiction", "count": 3}],
        "in_stock": 2,
        "prices": [
            {"min": "0.00", "max": "10.00", "count": 0},
            {"min": "10.00", "max": "20.00", "count": 2},
            {"min": "20.00", "max": "50.00", "count": 1},
            {"min": "50.00", "max": None, "count": 0},
        ],
    }


async def test_facets_without_q_count_the_filtered_listing(
    client: httpx.AsyncClient, genres: dict[str, int]
) -> None:
    """facets=true without q: the facets of the filtered books, and no suggestion."""
    body = await get_books(client, facets="true", genre_id=genres["science"])
    assert set(body) == {*ENVELOPE, "facets"}
    assert body["facets"]["genres"] == [
        {"genre_id": genres["science"], "name": "Science", "count": 1}
    ]
    assert titles(body) == ["Cosmos"]


async def test_a_query_that_finds_nothing_gets_a_suggestion(
    client: httpx.AsyncClient, genres: dict[str, int]
) -> None:
    """q=tolkein finds nothing and suggests "tolkien"; suggest=false leaves the key out."""
    body = await get_books(client, q="tolkein")
    assert (body["items"], body["total"], body["suggestion"]) == ([], 0, "tolkien")
    assert "suggestion" not in await get_books(client, q="tolkein", suggest="false")


async def test_highlights_are_added_to_items_when_asked(
    client: httpx.AsyncClient, genres: dict[str, int]
) -> None:
    """highlight=true adds highlights [{field, fragment}] to each item, text HTML-escaped."""
    body = await get_books(client, q="spice", highlight="true")
    (item,) = body["items"]
    assert set(item) == {*BOOK_FIELDS, "highlights"}
    assert item["highlights"] == [
        {"field": "description", "fragment": "<mark>Spice</mark> &amp; sand &lt;worms&gt;."}
    ]
    plain = await get_books(client, q="spice")
    assert all("highlights" not in item for item in plain["items"])


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"q": "-dune"}, "q", id="only-exclusions"),
        pytest.param({"q": "!!! ***"}, "q", id="no-word"),
        pytest.param({"q": "x" * 501}, "q", id="too-long"),
        pytest.param({"q": "dune", "sort": "rating"}, "sort", id="unknown-sort"),
        pytest.param({"q": "dune", "min_price": "5", "max_price": "1"}, "min_price", id="range"),
        pytest.param({"q": "dune", "facets": "maybe"}, "facets", id="facets-not-bool"),
        pytest.param({"q": "dune", "size": 101}, "size", id="size"),
    ],
)
async def test_bad_search_is_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    """A query the parser refuses, or a bad parameter next to q, is 422 VALIDATION_ERROR
    located under "query"."""
    response = await client.get("/books", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert ["query", field] in [error["loc"] for error in body["detail"]]
