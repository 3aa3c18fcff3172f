"""The catalog routes over HTTP: GET /books, /books/{id}, /genres, /genres/tree."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_core import (
    BookSort,
    CreateBook,
    CreateGenre,
    ListBooks,
    ManualClock,
    Principal,
    SetStock,
    SortDirection,
)

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


@attrs.frozen
class Catalog:
    """Ids of the seeded genres and books, by short name."""

    genres: dict[str, int]
    books: dict[str, int]

    def names(self, items: list[dict[str, Any]]) -> list[str]:
        by_id = {book_id: name for name, book_id in self.books.items()}
        return [by_id[item["id"]] for item in items]


@pytest.fixture
async def catalog(shop: Shop, clock: ManualClock) -> Catalog:
    """Fiction > Fantasy, Science; four books created a minute apart, through the use cases."""
    system = Principal.system()
    fiction = await shop.catalog.create_genre(system, CreateGenre("Fiction"))
    fantasy = await shop.catalog.create_genre(system, CreateGenre("Fantasy", fiction.id))
    science = await shop.catalog.create_genre(system, CreateGenre("Science"))
    rows = [
        ("hobbit", "The Hobbit", "J.R.R. Tolkien", "12.50", fantasy.id, date(1937, 9, 21), 5),
        ("dune", "Dune", "Frank Herbert", "15.99", fiction.id, date(1965, 8, 1), 0),
        (
            "brief",
            "A Brief History of Time",
            "Stephen Hawking",
            "20.00",
            science.id,
            date(1988, 4, 1),
            3,
        ),
        ("cosmos", "Cosmos", "Carl Sagan", "9.00", science.id, None, 2),
    ]
    books = {}
    for key, title, author, price, genre_id, published, stock in rows:
        clock.advance(minutes=1)
        command = CreateBook(
            title, author, Decimal(price), genre_id=genre_id, publish_date=published
        )
        book = await shop.catalog.create_book(system, command)
        if stock:
            await shop.catalog.set_stock(system, book.id, SetStock(stock))
        books[key] = book.id
    genres = {"fiction": fiction.id, "fantasy": fantasy.id, "science": science.id}
    return Catalog(genres, books)


async def list_names(client: httpx.AsyncClient, catalog: Catalog, **params: Any) -> list[str]:
    response = await client.get("/books", params=params)
    assert response.status_code == 200, response.text
    return catalog.names(response.json()["items"])


# -- GET /books: shape and paging ---------------------------------------------------------------


async def test_list_books_returns_the_page_envelope(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    """GET /books answers {items, total, page, size} with the defaults page 1, size 20."""
    response = await client.get("/books")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "total", "page", "size"}
    assert (body["total"], body["page"], body["size"]) == (4, 1, 20)
    assert all(set(item) == BOOK_FIELDS for item in body["items"])


async def test_list_books_defaults_to_title_order(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    """Without sort, books come by title ascending."""
    assert await list_names(client, catalog) == ["brief", "cosmos", "dune", "hobbit"]


async def test_list_books_pages_with_exact_total(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    """page and size pick a slice; total counts every match."""
    response = await client.get("/books", params={"page": 2, "size": 2})
    body = response.json()
    assert catalog.names(body["items"]) == ["dune", "hobbit"]
    assert (body["total"], body["page"], body["size"]) == (4, 2, 2)


async def test_list_books_item_is_the_same_as_the_book_detail(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    """A book listed by GET /books looks exactly like GET /books/{id}."""
    listed = (await client.get("/books", params={"author": "Herbert"})).json()["items"]
    detail = (await client.get(f"/books/{catalog.books['dune']}")).json()
    assert listed == [detail]


# -- GET /books: filters and sorts pass through -------------------------------------------------


async def test_in_stock_filter_drops_books_without_stock(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    """in_stock=true hides the book whose stock is 0."""
    assert await list_names(client, catalog, in_stock="true") == ["brief", "cosmos", "hobbit"]


async def test_in_stock_false_lists_everything(client: httpx.AsyncClient, catalog: Catalog) -> None:
    """in_stock=false is the same as no stock filter."""
    assert await list_names(client, catalog, in_stock="false") == [
        "brief",
        "cosmos",
        "dune",
        "hobbit",
    ]


async def test_filters_reach_the_use_case(client: httpx.AsyncClient, catalog: Catalog) -> None:
    """genre_id and max_price given together both reach the use case (each alone would
    list another book too)."""
    names = await list_names(client, catalog, genre_id=catalog.genres["fiction"], max_price="15")
    assert names == ["hobbit"]


async def test_an_absent_sort_dir_is_the_use_cases_default(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    """sort without sort_dir reaches the use case with no direction, so it applies its own
    default (newest first for created_at) rather than one the route picks."""
    assert await list_names(client, catalog, sort="created_at") == [
        "cosmos",
        "brief",
        "dune",
        "hobbit",
    ]


async def test_list_books_matches_the_use_case(
    client: httpx.AsyncClient, shop: Shop, catalog: Catalog
) -> None:
    """The route adds nothing to the use case: same books, same order, same total."""
    params: dict[str, str | int] = {
        "min_price": "9.00",
        "sort": "price",
        "sort_dir": "desc",
        "page": 1,
        "size": 3,
    }
    body = (await client.get("/books", params=params)).json()
    page = await shop.catalog.list_books(
        ListBooks(
            min_price=Decimal("9.00"),
            sort=BookSort.PRICE,
            sort_dir=SortDirection.DESC,
            page=1,
            size=3,
        )
    )
    assert [item["id"] for item in body["items"]] == [book.id for book in page.items]
    assert body["total"] == page.total


async def test_blank_q_is_no_query(client: httpx.AsyncClient, catalog: Catalog) -> None:
    """q= (blank) lists books as if q were absent."""
    assert await list_names(client, catalog, q="  ") == ["brief", "cosmos", "dune", "hobbit"]


# -- GET /books: bad parameters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"size": "ten"}, "size", id="size-not-int"),
        pytest.param({"in_stock": "maybe"}, "in_stock", id="in_stock-not-bool"),
        pytest.param({"size": 101}, "size", id="size-refused-by-the-core"),
    ],
)
async def test_bad_list_parameter_is_422_naming_it(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    """A query parameter the route cannot parse, or one the core refuses, is 422
    VALIDATION_ERROR located under "query"."""
    response = await client.get("/books", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert ["query", field] in [error["loc"] for error in body["detail"]]
    assert all(set(error) == {"loc", "msg", "type"} for error in body["detail"])


async def test_every_bad_list_parameter_is_reported_at_once(client: httpx.AsyncClient) -> None:
    """One 422 lists every bad parameter, not just the first."""
    params: dict[str, str | int] = {"size": 0, "page": 0, "sort": "bogus", "min_price": "abc"}
    body = (await client.get("/books", params=params)).json()
    locs = sorted(error["loc"][1] for error in body["detail"])
    assert locs == ["min_price", "page", "size", "sort"]


# -- GET /books/{id} ----------------------------------------------------------------------------


async def test_get_book_returns_every_field(
    client: httpx.AsyncClient, shop: Shop, clock: ManualClock
) -> None:
    """GET /books/{id} answers the Book with API.md's fields and the additive ones."""
    genre = await shop.catalog.create_genre(Principal.system(), CreateGenre("Reference"))
    command = CreateBook(
        title="Numerical Recipes",
        author="Press et al.",
        price=Decimal("15.9"),
        isbn="0-306-40615-2",
        genre_id=genre.id,
        description="Algorithms.",
        cover_image_url="https://covers.example/nr.jpg",
        publish_date=date(1986, 1, 1),
    )
    book = await shop.catalog.create_book(Principal.system(), command)
    await shop.catalog.set_stock(Principal.system(), book.id, SetStock(7))
    response = await client.get(f"/books/{book.id}")
    assert response.status_code == 200
    body = response.json()
    created_at = body.pop("created_at")
    updated_at = body.pop("updated_at")
    assert body == {
        "id": book.id,
        "title": "Numerical Recipes",
        "author": "Press et al.",
        "price": "15.90",
        "isbn": "9780306406157",
        "genre_id": genre.id,
        "description": "Algorithms.",
        "cover_image_url": "https://covers.example/nr.jpg",
        "publish_date": "1986-01-01",
        "stock_quantity": 7,
        "in_stock": True,
        "avg_rating": None,
        "review_count": 0,
    }
    assert datetime.fromisoformat(created_at) == clock.now()
    assert datetime.fromisoformat(updated_at).utcoffset() is not None


async def test_money_is_a_two_decimal_string(client: httpx.AsyncClient, catalog: Catalog) -> None:
    """Prices are JSON strings with two decimals, never floats: 9 -> "9.00"."""
    body = (await client.get(f"/books/{catalog.books['cosmos']}")).json()
    assert body["price"] == "9.00"
    prices = [item["price"] for item in (await client.get("/books")).json()["items"]]
    assert prices == ["20.00", "9.00", "15.99", "12.50"]


async def test_unknown_book_is_404_with_code_and_field(client: httpx.AsyncClient) -> None:
    """A missing book is 404 BOOK_NOT_FOUND with field book_id."""
    response = await client.get("/books/999")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "Book 999 not found",
        "code": "BOOK_NOT_FOUND",
        "field": "book_id",
    }


@pytest.mark.parametrize(
    "raw_id",
    [
        pytest.param("abc", id="not-a-number"),
        pytest.param("1.5", id="fraction"),
        pytest.param("0", id="zero"),
        pytest.param("-3", id="negative"),
        pytest.param(str(2**63), id="just-over-int64"),
        pytest.param("9" * 5000, id="thousands-of-digits"),
    ],
)
async def test_bad_book_id_is_422_not_500(client: httpx.AsyncClient, raw_id: str) -> None:
    """A book id that is not a positive 64-bit integer is 422 on the path parameter."""
    response = await client.get(f"/books/{raw_id}")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert [error["loc"] for error in body["detail"]] == [["path", "book_id"]]


async def test_largest_book_id_is_a_plain_404(client: httpx.AsyncClient) -> None:
    """2**63-1 is a valid id: an absent book, not a validation error or an overflow."""
    response = await client.get(f"/books/{2**63 - 1}")
    assert response.status_code == 404
    assert response.json()["code"] == "BOOK_NOT_FOUND"


# -- genres -------------------------------------------------------------------------------------


async def test_genres_are_listed_by_name_with_parent(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    """GET /genres answers [{id, name, parent_id}] sorted by name."""
    response = await client.get("/genres")
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": catalog.genres["fantasy"],
            "name": "Fantasy",
            "parent_id": catalog.genres["fiction"],
        },
        {"id": catalog.genres["fiction"], "name": "Fiction", "parent_id": None},
        {"id": catalog.genres["science"], "name": "Science", "parent_id": None},
    ]


async def test_genres_of_an_empty_catalog_is_an_empty_list(client: httpx.AsyncClient) -> None:
    """No genres yet: 200 []."""
    response = await client.get("/genres")
    assert (response.status_code, response.json()) == (200, [])


async def test_genre_tree_nests_sub_genres(client: httpx.AsyncClient, catalog: Catalog) -> None:
    """GET /genres/tree answers top-level genres with their sub-genres under children."""
    response = await client.get("/genres/tree")
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": catalog.genres["fiction"],
            "name": "Fiction",
            "parent_id": None,
            "children": [
                {
                    "id": catalog.genres["fantasy"],
                    "name": "Fantasy",
                    "parent_id": catalog.genres["fiction"],
                    "children": [],
                }
            ],
        },
        {"id": catalog.genres["science"], "name": "Science", "parent_id": None, "children": []},
    ]


async def test_genre_tree_of_a_chain_deeper_than_the_limit_answers(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    """A 300-deep chain planted in the store (data from before the depth limit) is 200 with
    the whole chain, not a 500 from recursion."""
    async with shop.unit_of_work() as uow:
        parent: int | None = None
        for level in range(1, 301):
            parent = (await uow.genres.add(f"Deep {level}", parent)).id
        await uow.commit()
    response = await client.get("/genres/tree")
    assert response.status_code == 200
    depth, level = 0, response.json()
    while level:
        depth += 1
        level = level[0]["children"]
    assert depth == 300
