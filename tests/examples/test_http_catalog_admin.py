"""The catalog write routes over HTTP, as an admin: books, stock, genres.

Who may call them (401/403 for everyone but an active admin) is pinned for every admin route
at once in ``test_http_auth_admin_routes.py``. Runs on every backend of the shared harness.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.oauth import OAuthSettings
from bookshop_adapters.testing.identity import open_test_shop, sign_up
from bookshop_core import ManualClock, Role

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
ISBN_10 = "0-306-40615-2"
ISBN_13 = "9780306406157"


@pytest.fixture
async def shop(backend_url: str, clock: ManualClock) -> AsyncIterator[Shop]:
    """The fast test hasher and the test JWT secret; no OAuth provider."""
    settings = ShopSettings(oauth=OAuthSettings())
    async with open_test_shop(backend_url, clock=clock, settings=settings) as opened:
        yield opened


@pytest.fixture
async def admin(shop: Shop) -> dict[str, str]:
    """An admin's bearer header."""
    _, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return {"Authorization": f"Bearer {pair.access_token}"}


def assert_refused(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    if field is not None:
        assert response.json()["field"] == field


def assert_flat(response: httpx.Response, field: str) -> None:
    """A well-formed value refused by a domain rule: 422 in the flat form."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail", "code", "field"}
    assert (body["code"], body["field"]) == ("VALIDATION_ERROR", field)
    assert isinstance(body["detail"], str)
    assert body["detail"]


def invalid_fields(response: httpx.Response) -> list[list[str | int]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    return [error["loc"] for error in body["detail"]]


async def add_book(client: httpx.AsyncClient, admin: dict[str, str], **fields: Any) -> Any:
    body = {"title": "Dune", "author": "Frank Herbert", "price": "15.99", **fields}
    response = await client.post("/books", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


async def add_genre(
    client: httpx.AsyncClient, admin: dict[str, str], name: str, parent_id: int | None = None
) -> Any:
    body: dict[str, Any] = {"name": name}
    if parent_id is not None:
        body["parent_id"] = parent_id
    response = await client.post("/genres", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


# -- POST /books --------------------------------------------------------------------------------


async def test_create_book_answers_201_with_the_book(
    client: httpx.AsyncClient, admin: dict[str, str], clock: ManualClock
) -> None:
    """POST /books: 201 Book with stock 0 and the ISBN normalised to ISBN-13; the book is
    readable at once."""
    genre = await add_genre(client, admin, "Science Fiction")
    body = {
        "title": "Dune",
        "author": "Frank Herbert",
        "price": "15.99",
        "isbn": ISBN_10,
        "genre_id": genre["id"],
        "description": "Spice.",
        "cover_image_url": "/uploads/dune.png",
        "publish_date": "1965-08-01",
    }
    response = await client.post("/books", json=body, headers=admin)
    assert response.status_code == 201
    book = response.json()
    assert set(book) == BOOK_FIELDS
    assert {name: book[name] for name in body} == {**body, "isbn": ISBN_13}
    assert (book["stock_quantity"], book["in_stock"], book["avg_rating"]) == (0, False, None)
    assert book["created_at"] == clock.now().isoformat()
    assert (await client.get(f"/books/{book['id']}")).json() == book


async def test_create_book_takes_a_numeric_price(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """price may be a JSON number; it is answered as a two-decimal string."""
    assert (await add_book(client, admin, price=12.5))["price"] == "12.50"


async def test_create_book_reports_every_bad_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Every bad field is reported at once, each located under body; nothing is created."""
    body = {
        "title": "",
        "author": "A" * 256,
        "price": "0",
        "isbn": "978-0-306-40615-8",
        "cover_image_url": "javascript:alert(1)",
        "publish_date": "1066-10-14",
    }
    response = await client.post("/books", json=body, headers=admin)
    assert sorted(invalid_fields(response)) == [
        ["body", "author"],
        ["body", "cover_image_url"],
        ["body", "isbn"],
        ["body", "price"],
        ["body", "publish_date"],
        ["body", "title"],
    ]
    assert (await client.get("/books")).json()["total"] == 0


async def test_unknown_genre_of_a_book_is_a_flat_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """An unknown genre_id (create or update) is refused by a rule: flat 422 on genre_id."""
    body = {"title": "Dune", "author": "Frank Herbert", "price": "15.99", "genre_id": 2**62}
    assert_flat(await client.post("/books", json=body, headers=admin), "genre_id")
    book = await add_book(client, admin)
    update = await client.put(f"/books/{book['id']}", json={"genre_id": 424242}, headers=admin)
    assert_flat(update, "genre_id")


async def test_create_book_ignores_fields_it_does_not_offer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Unknown fields (a stock, an id) are ignored, never applied: 201, stock 0, a new id."""
    body = {"title": "Dune", "author": "F. H.", "price": "15.99", "stock_quantity": 5, "id": 9}
    response = await client.post("/books", json=body, headers=admin)
    assert response.status_code == 201
    created = response.json()
    assert (created["stock_quantity"], created["in_stock"]) == (0, False)
    assert (await client.get(f"/books/{created['id']}")).json() == created


async def test_create_book_with_a_taken_isbn_is_409(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The same ISBN in another form is 409 BOOK_ISBN_CONFLICT on field isbn."""
    await add_book(client, admin, isbn=ISBN_13)
    body = {"title": "Copy", "author": "X", "price": "1.00", "isbn": ISBN_10}
    response = await client.post("/books", json=body, headers=admin)
    assert_refused(response, 409, "BOOK_ISBN_CONFLICT", field="isbn")


# -- PUT /books/{id} ----------------------------------------------------------------------------


async def test_update_book_changes_only_the_given_fields(
    client: httpx.AsyncClient, admin: dict[str, str], clock: ManualClock
) -> None:
    """PUT /books/{id} is partial: the given fields change, the others keep their values."""
    book = await add_book(client, admin, description="Spice.", isbn=ISBN_13)
    clock.advance(minutes=5)
    response = await client.put(
        f"/books/{book['id']}", json={"title": "Dune Messiah", "price": 9}, headers=admin
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated == {
        **book,
        "title": "Dune Messiah",
        "price": "9.00",
        "updated_at": clock.now().isoformat(),
    }
    assert (await client.get(f"/books/{book['id']}")).json() == updated


async def test_update_book_null_clears_an_optional_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """null clears description and isbn."""
    book = await add_book(client, admin, description="Spice.", isbn=ISBN_13)
    response = await client.put(
        f"/books/{book['id']}", json={"description": None, "isbn": None}, headers=admin
    )
    assert (response.json()["description"], response.json()["isbn"]) == (None, None)


async def test_update_book_null_for_a_required_field_is_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """null for a required field (here price) is 422 on that field, and the book is
    unchanged."""
    book = await add_book(client, admin)
    response = await client.put(f"/books/{book['id']}", json={"price": None}, headers=admin)
    assert invalid_fields(response) == [["body", "price"]]
    assert (await client.get(f"/books/{book['id']}")).json() == book


async def test_update_book_with_nothing_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """An empty object is a valid update that changes nothing."""
    book = await add_book(client, admin)
    response = await client.put(f"/books/{book['id']}", json={}, headers=admin)
    assert (response.status_code, response.json()) == (200, book)


async def test_update_book_errors(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """Unknown book 404 BOOK_NOT_FOUND; a taken ISBN 409 BOOK_ISBN_CONFLICT."""
    await add_book(client, admin, isbn=ISBN_13)
    second = await add_book(client, admin, title="Other")
    missing = await client.put(f"/books/{2**63 - 1}", json={"title": "X"}, headers=admin)
    assert_refused(missing, 404, "BOOK_NOT_FOUND", field="book_id")
    taken = await client.put(f"/books/{second['id']}", json={"isbn": ISBN_10}, headers=admin)
    assert_refused(taken, 409, "BOOK_ISBN_CONFLICT", field="isbn")


async def test_update_book_ignores_unknown_fields(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """PUT with fields the API does not offer (stock, id, rating) is 200; only the known
    fields change and nothing odd is stored."""
    book = await add_book(client, admin)
    body = {"title": "Renamed", "stock_quantity": 3, "id": 999, "avg_rating": 5, "role": "x"}
    response = await client.put(f"/books/{book['id']}", json=body, headers=admin)
    assert response.status_code == 200
    stored = (await client.get(f"/books/{book['id']}")).json()
    assert stored == response.json()
    assert {k: v for k, v in stored.items() if k not in ("title", "updated_at")} == {
        k: v for k, v in book.items() if k not in ("title", "updated_at")
    }
    assert (stored["title"], stored["stock_quantity"], stored["id"]) == ("Renamed", 0, book["id"])


# -- DELETE /books/{id} -------------------------------------------------------------------------


async def test_delete_book_is_204_then_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """DELETE /books/{id}: 204 with no body; the book is gone; deleting again is 404."""
    book = await add_book(client, admin)
    response = await client.delete(f"/books/{book['id']}", headers=admin)
    assert (response.status_code, response.content) == (204, b"")
    assert_refused(await client.get(f"/books/{book['id']}"), 404, "BOOK_NOT_FOUND")
    again = await client.delete(f"/books/{book['id']}", headers=admin)
    assert_refused(again, 404, "BOOK_NOT_FOUND")


@pytest.mark.parametrize("raw_id", ["abc", str(2**63)])
async def test_a_bad_book_id_is_422_on_every_write(
    client: httpx.AsyncClient, admin: dict[str, str], raw_id: str
) -> None:
    """A book id that is not a positive 64-bit integer is 422 on the path parameter."""
    for method, suffix, body in (
        ("PUT", "", {"title": "X"}),
        ("DELETE", "", None),
        ("PATCH", "/stock", {"quantity": 1}),
    ):
        response = await client.request(
            method, f"/books/{raw_id}{suffix}", json=body, headers=admin
        )
        assert invalid_fields(response) == [["path", "book_id"]], (method, suffix)


# -- PATCH /books/{id}/stock --------------------------------------------------------------------


async def test_set_stock_is_absolute_and_answers_the_book(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """PATCH /books/{id}/stock {quantity}: 200 Book with that stock."""
    book = await add_book(client, admin)
    response = await client.patch(f"/books/{book['id']}/stock", json={"quantity": 7}, headers=admin)
    assert response.status_code == 200
    assert set(response.json()) == BOOK_FIELDS
    assert (response.json()["stock_quantity"], response.json()["in_stock"]) == (7, True)
    assert (await client.get(f"/books/{book['id']}")).json() == response.json()


async def test_set_stock_refuses_a_bad_quantity(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A quantity the core refuses (here -1) is 422 on body.quantity; the stock is unchanged."""
    book = await add_book(client, admin)
    response = await client.patch(
        f"/books/{book['id']}/stock", json={"quantity": -1}, headers=admin
    )
    assert invalid_fields(response) == [["body", "quantity"]]
    assert (await client.get(f"/books/{book['id']}")).json()["stock_quantity"] == 0


async def test_set_stock_of_an_unknown_book_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Unknown book: 404 BOOK_NOT_FOUND."""
    response = await client.patch("/books/999999/stock", json={"quantity": 1}, headers=admin)
    assert_refused(response, 404, "BOOK_NOT_FOUND")


# -- genres -------------------------------------------------------------------------------------


async def test_create_genre_answers_201_and_lists_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """POST /genres {name, parent_id?}: 201 {id, name, parent_id}; GET /genres shows it."""
    fiction = await add_genre(client, admin, "Fiction")
    assert set(fiction) == {"id", "name", "parent_id"}
    fantasy = await add_genre(client, admin, "Fantasy", fiction["id"])
    assert (fantasy["name"], fantasy["parent_id"]) == ("Fantasy", fiction["id"])
    assert (await client.get("/genres")).json() == [fantasy, fiction]


async def test_create_genre_with_a_taken_name_is_409(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Genre names are unique case-insensitively: 409 GENRE_CONFLICT on field name."""
    await add_genre(client, admin, "Fiction")
    response = await client.post("/genres", json={"name": "FICTION"}, headers=admin)
    assert_refused(response, 409, "GENRE_CONFLICT", field="name")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        pytest.param({"name": ""}, ["body", "name"], id="empty-name"),
        pytest.param({"slug": "x"}, ["body", "name"], id="unknown-field-no-name"),
    ],
)
async def test_create_genre_refuses_bad_input(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], loc: list[str]
) -> None:
    """Bad or missing names: 422 listing that field, nothing created (an unknown field is
    ignored, so it does not stand in for the name)."""
    response = await client.post("/genres", json=body, headers=admin)
    assert invalid_fields(response) == [loc]
    assert (await client.get("/genres")).json() == []


async def test_unknown_parent_is_a_flat_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """An unknown parent_id is refused by a rule: flat 422 on parent_id, nothing created."""
    unknown = await client.post("/genres", json={"name": "X", "parent_id": 999999}, headers=admin)
    assert_flat(unknown, "parent_id")
    assert (await client.get("/genres")).json() == []


async def test_update_genre_renames_and_moves(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """PATCH /genres/{id}: 200 {id, name, parent_id}; only given fields change; parent_id
    null makes it top-level."""
    fiction = await add_genre(client, admin, "Fiction")
    fantasy = await add_genre(client, admin, "Fantasy", fiction["id"])
    renamed = await client.patch(
        f"/genres/{fantasy['id']}", json={"name": "High Fantasy"}, headers=admin
    )
    assert renamed.status_code == 200
    assert renamed.json() == {**fantasy, "name": "High Fantasy"}
    moved = await client.patch(f"/genres/{fantasy['id']}", json={"parent_id": None}, headers=admin)
    assert moved.json() == {**fantasy, "name": "High Fantasy", "parent_id": None}


async def test_update_genre_errors(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """A move into its own subtree is 422 on parent_id, a taken name 409 GENRE_CONFLICT, an
    unknown genre 404 GENRE_NOT_FOUND."""
    fiction = await add_genre(client, admin, "Fiction")
    fantasy = await add_genre(client, admin, "Fantasy", fiction["id"])
    cycle = await client.patch(
        f"/genres/{fiction['id']}", json={"parent_id": fantasy["id"]}, headers=admin
    )
    assert_flat(cycle, "parent_id")
    taken = await client.patch(f"/genres/{fantasy['id']}", json={"name": "fiction"}, headers=admin)
    assert_refused(taken, 409, "GENRE_CONFLICT")
    missing = await client.patch("/genres/999999", json={"name": "X"}, headers=admin)
    assert_refused(missing, 404, "GENRE_NOT_FOUND")
    assert (await client.get("/genres")).json() == [fantasy, fiction]


async def test_delete_genre_only_when_unused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """DELETE /genres/{id}: 409 GENRE_IN_USE while a book uses it; 204 with no body once
    unused; then 404 GENRE_NOT_FOUND."""
    fiction = await add_genre(client, admin, "Fiction")
    book = await add_book(client, admin, genre_id=fiction["id"])
    in_use = await client.delete(f"/genres/{fiction['id']}", headers=admin)
    assert_refused(in_use, 409, "GENRE_IN_USE")
    await client.delete(f"/books/{book['id']}", headers=admin)
    response = await client.delete(f"/genres/{fiction['id']}", headers=admin)
    assert (response.status_code, response.content) == (204, b"")
    gone = await client.delete(f"/genres/{fiction['id']}", headers=admin)
    assert_refused(gone, 404, "GENRE_NOT_FOUND")
    assert (await client.get("/genres")).json() == []
