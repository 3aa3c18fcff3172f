"""The cart over HTTP: GET /cart, POST /cart/items, PUT and DELETE /cart/items/{item_id}.

Wire mapping only (the cart's rules are the commerce contract's): the bodies and status codes,
one case per error code, and that no route shows or changes another user's line (who may call:
``test_http_auth_user_routes``). Also home of the helpers the orders and wishlist HTTP tests
share.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import add_book
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import Principal, Role

# The wire mapping does not depend on the store: memory only.
pytestmark = pytest.mark.bookshop_backends("memory")

CART_ITEM_FIELDS = {"id", "book_id", "quantity", "book", "line_total", "available"}
CART_BOOK_FIELDS = {"id", "title", "author", "price", "cover_image_url"}

Headers = dict[str, str]


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


async def user_headers(shop: Shop, email: str, *, role: Role = Role.USER) -> Headers:
    """Sign a new account up; its bearer header."""
    _, pair = await sign_up(shop, email, role=role)
    return bearer(pair.access_token)


async def stock_books(shop: Shop, by: Principal) -> dict[str, int]:
    """Dune (9.99, 5 in stock), Emma (12.50, 2 in stock) and Odes (out of stock), by title."""
    dune = await add_book(shop, "Dune", price="9.99", stock=5, by=by)
    emma = await add_book(
        shop,
        "Emma",
        author="Jane Austen",
        price="12.50",
        stock=2,
        cover_image_url="https://img.example/emma.jpg",
        by=by,
    )
    odes = await add_book(shop, "Odes", author="Keats", by=by)
    return {"Dune": dune.id, "Emma": emma.id, "Odes": odes.id}


async def add_line(
    client: httpx.AsyncClient, headers: Headers, book_id: int, quantity: int | None = None
) -> Any:
    """POST /cart/items, which must answer 201; the cart item."""
    body: dict[str, Any] = {"book_id": book_id}
    if quantity is not None:
        body["quantity"] = quantity
    response = await client.post("/cart/items", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def view(client: httpx.AsyncClient, headers: Headers) -> Any:
    response = await client.get("/cart", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


@pytest.fixture
async def admin(shop: Shop) -> tuple[Principal, Headers]:
    principal, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return principal, bearer(pair.access_token)


@pytest.fixture
async def reader(shop: Shop) -> Headers:
    return await user_headers(shop, "reader@example.com")


@pytest.fixture
async def books(shop: Shop, admin: tuple[Principal, Headers]) -> dict[str, int]:
    return await stock_books(shop, admin[0])


async def test_an_empty_cart(client: httpx.AsyncClient, reader: Headers) -> None:
    """GET /cart with nothing in it: no items, 0 copies, "0.00"."""
    assert await view(client, reader) == {"items": [], "total_items": 0, "total_price": "0.00"}


async def test_adding_answers_201_with_the_cart_item(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """POST /cart/items: 201 {id, book_id, quantity, book, line_total, available}, money as
    two-decimal strings."""
    item = await add_line(client, reader, books["Emma"], 2)
    assert set(item) == CART_ITEM_FIELDS
    assert set(item["book"]) == CART_BOOK_FIELDS
    assert item == {
        "id": item["id"],
        "book_id": books["Emma"],
        "quantity": 2,
        "book": {
            "id": books["Emma"],
            "title": "Emma",
            "author": "Jane Austen",
            "price": "12.50",
            "cover_image_url": "https://img.example/emma.jpg",
        },
        "line_total": "25.00",
        "available": True,
    }


async def test_quantity_defaults_to_one(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """A body without quantity adds one copy."""
    item = await add_line(client, reader, books["Dune"])
    assert (item["quantity"], item["line_total"]) == (1, "9.99")


async def test_the_cart_has_every_line_and_the_totals(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """GET /cart: {items: [CartItem], total_items (copies), total_price}."""
    dune = await add_line(client, reader, books["Dune"], 3)
    emma = await add_line(client, reader, books["Emma"], 1)
    cart = await view(client, reader)
    assert cart == {"items": [dune, emma], "total_items": 4, "total_price": "42.47"}


async def test_the_cart_shows_price_and_stock_as_they_are_now(
    client: httpx.AsyncClient,
    reader: Headers,
    books: dict[str, int],
    admin: tuple[Principal, Headers],
) -> None:
    """A price change and a stock drop since adding show in the line's price, line_total and
    available."""
    await add_line(client, reader, books["Dune"], 3)
    headers = admin[1]
    changed = await client.put(f"/books/{books['Dune']}", json={"price": "5.00"}, headers=headers)
    assert changed.status_code == 200, changed.text
    dropped = await client.patch(
        f"/books/{books['Dune']}/stock", json={"quantity": 2}, headers=headers
    )
    assert dropped.status_code == 200, dropped.text
    [line] = (await view(client, reader))["items"]
    assert (line["book"]["price"], line["line_total"], line["available"]) == (
        "5.00",
        "15.00",
        False,
    )


async def test_changing_the_quantity_answers_200_with_the_item(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """PUT /cart/items/{id} {quantity}: 200 the line with its new quantity and total."""
    item = await add_line(client, reader, books["Dune"])
    response = await client.put(f"/cart/items/{item['id']}", json={"quantity": 4}, headers=reader)
    assert response.status_code == 200, response.text
    assert response.json() == {**item, "quantity": 4, "line_total": "39.96"}


async def test_removing_answers_204(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """DELETE /cart/items/{id}: 204 with no body; the line is gone."""
    item = await add_line(client, reader, books["Dune"])
    response = await client.delete(f"/cart/items/{item['id']}", headers=reader)
    assert (response.status_code, response.content) == (204, b"")
    assert (await view(client, reader))["items"] == []


async def test_an_unknown_book_is_404(client: httpx.AsyncClient, reader: Headers) -> None:
    """404 BOOK_NOT_FOUND, field book_id."""
    response = await client.post("/cart/items", json={"book_id": 999}, headers=reader)
    assert_refused(response, 404, "BOOK_NOT_FOUND")
    assert response.json()["field"] == "book_id"


async def test_a_book_out_of_stock_is_409(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """409 CART_BOOK_OUT_OF_STOCK for a book whose stock is 0."""
    response = await client.post("/cart/items", json={"book_id": books["Odes"]}, headers=reader)
    assert_refused(response, 409, "CART_BOOK_OUT_OF_STOCK")


async def test_the_same_book_twice_is_409(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """409 CART_ITEM_DUPLICATE for a book in the cart already; the line is unchanged."""
    item = await add_line(client, reader, books["Dune"])
    response = await client.post("/cart/items", json={"book_id": books["Dune"]}, headers=reader)
    assert_refused(response, 409, "CART_ITEM_DUPLICATE")
    assert (await view(client, reader))["items"] == [item]


async def test_more_than_the_stock_is_409_on_add(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """POST with quantity above the stock: 409 CART_INSUFFICIENT_STOCK with available."""
    response = await client.post(
        "/cart/items", json={"book_id": books["Emma"], "quantity": 3}, headers=reader
    )
    assert_refused(response, 409, "CART_INSUFFICIENT_STOCK")
    assert response.json()["available"] == 2


async def test_more_than_the_stock_is_409_on_change(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """PUT with quantity above the stock: 409 CART_INSUFFICIENT_STOCK; the line is
    unchanged."""
    item = await add_line(client, reader, books["Emma"])
    response = await client.put(f"/cart/items/{item['id']}", json={"quantity": 3}, headers=reader)
    assert_refused(response, 409, "CART_INSUFFICIENT_STOCK")
    assert (await view(client, reader))["items"] == [item]


@pytest.mark.parametrize(("method", "body"), [("PUT", {"quantity": 1}), ("DELETE", None)])
async def test_an_unknown_line_is_404(
    client: httpx.AsyncClient, reader: Headers, method: str, body: dict[str, Any] | None
) -> None:
    """404 CART_ITEM_NOT_FOUND, field item_id."""
    response = await client.request(method, "/cart/items/999", json=body, headers=reader)
    assert_refused(response, 404, "CART_ITEM_NOT_FOUND")
    assert response.json()["field"] == "item_id"


@pytest.mark.parametrize(("method", "body"), [("PUT", {"quantity": 1}), ("DELETE", None)])
async def test_another_users_line_is_403_and_unchanged(
    client: httpx.AsyncClient,
    shop: Shop,
    reader: Headers,
    books: dict[str, int],
    method: str,
    body: dict[str, Any] | None,
) -> None:
    """PUT or DELETE of another user's line: 403 CART_ITEM_FORBIDDEN, and the owner's line
    is as it was."""
    item = await add_line(client, reader, books["Dune"], 2)
    other = await user_headers(shop, "other@example.com")
    response = await client.request(method, f"/cart/items/{item['id']}", json=body, headers=other)
    assert_refused(response, 403, "CART_ITEM_FORBIDDEN")
    assert (await view(client, reader))["items"] == [item]


async def test_a_cart_shows_only_its_owners_lines(
    client: httpx.AsyncClient, shop: Shop, reader: Headers, books: dict[str, int]
) -> None:
    """Two users' carts are separate: each GET /cart shows only the caller's lines."""
    mine = await add_line(client, reader, books["Dune"])
    other = await user_headers(shop, "other@example.com")
    theirs = await add_line(client, other, books["Dune"], 2)
    assert [i["id"] for i in (await view(client, reader))["items"]] == [mine["id"]]
    assert [i["id"] for i in (await view(client, other))["items"]] == [theirs["id"]]


@pytest.mark.parametrize(
    ("body", "locations"),
    [
        ({}, [["body", "book_id"]]),
        ({"book_id": "many"}, [["body", "book_id"]]),
        ({"book_id": 0}, [["body", "book_id"]]),
        ({"book_id": 1, "quantity": 0}, [["body", "quantity"]]),
        ({"book_id": 1, "quantity": 2.5}, [["body", "quantity"]]),
        ({"book_id": None, "quantity": "x"}, [["body", "book_id"], ["body", "quantity"]]),
    ],
)
async def test_a_malformed_add_is_422(
    client: httpx.AsyncClient,
    reader: Headers,
    body: dict[str, Any],
    locations: list[list[str]],
) -> None:
    """A missing, mistyped or out-of-range field: 422 VALIDATION_ERROR listing each."""
    response = await client.post("/cart/items", json=body, headers=reader)
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert sorted(e["loc"] for e in response.json()["detail"]) == locations


@pytest.mark.parametrize("payload", ["[1, 2]", '"one"', "7", "{", ""])
async def test_a_body_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, reader: Headers, payload: str
) -> None:
    """An array, a string, a number, broken or empty JSON: 422 VALIDATION_ERROR, never 500."""
    response = await client.post(
        "/cart/items",
        content=payload,
        headers={**reader, "Content-Type": "application/json"},
    )
    assert_refused(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/cart/items/0", {"quantity": 1}),
        ("/cart/items/x", {"quantity": 1}),
        ("/cart/items/1", {"quantity": -1}),
        ("/cart/items/1", {"quantity": True}),
        ("/cart/items/1", {}),
    ],
)
async def test_a_malformed_change_is_422(
    client: httpx.AsyncClient, reader: Headers, path: str, body: dict[str, Any]
) -> None:
    """A bad item id or quantity: 422 VALIDATION_ERROR."""
    response = await client.put(path, json=body, headers=reader)
    assert_refused(response, 422, "VALIDATION_ERROR")
