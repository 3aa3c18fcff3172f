"""The wishlist over HTTP: POST /wishlist, GET /wishlist, DELETE /wishlist/{book_id}.

Wire mapping only (the wishlist's rules are the commerce contract's): the bodies and status
codes, one case per error code, and that no route shows or changes another user's wishlist
(who may call: ``test_http_auth_user_routes``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import ManualClock, Principal, Role
from tests.examples.test_http_cart import (
    Headers,
    assert_refused,
    bearer,
    stock_books,
    user_headers,
)

# The wire mapping does not depend on the store: memory only.
pytestmark = pytest.mark.bookshop_backends("memory")

ITEM_FIELDS = {"id", "book_id", "added_at", "book"}
BOOK_FIELDS = {"id", "title", "author", "price", "stock_quantity", "cover_image_url"}


@pytest.fixture
async def admin(shop: Shop) -> tuple[Principal, Headers]:
    principal, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return principal, bearer(pair.access_token)


@pytest.fixture
async def reader(shop: Shop) -> Headers:
    return await user_headers(shop, "reader@example.com")


@pytest.fixture
async def books(shop: Shop, admin: tuple[Principal, Headers]) -> dict[str, int]:
    """Dune (9.99, 5 in stock), Emma (12.50, 2 in stock), Odes (out of stock)."""
    return await stock_books(shop, admin[0])


async def wish(client: httpx.AsyncClient, headers: Headers, book_id: int) -> Any:
    response = await client.post("/wishlist", json={"book_id": book_id}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def mine(client: httpx.AsyncClient, headers: Headers) -> list[Any]:
    response = await client.get("/wishlist", headers=headers)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"items"}
    items: list[Any] = response.json()["items"]
    return items


async def test_adding_answers_201_with_the_book_as_it_is(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """POST /wishlist {book_id}: 201 {id, book_id, added_at, book: {id, title, author,
    price, stock_quantity, cover_image_url}}."""
    item = await wish(client, reader, books["Emma"])
    assert set(item) == ITEM_FIELDS
    assert item["book_id"] == books["Emma"]
    assert item["added_at"] == "2024-01-01T00:00:00+00:00"
    assert item["book"] == {
        "id": books["Emma"],
        "title": "Emma",
        "author": "Jane Austen",
        "price": "12.50",
        "stock_quantity": 2,
        "cover_image_url": "https://img.example/emma.jpg",
    }


async def test_a_book_out_of_stock_can_be_wished_for(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """Stock does not matter: a book at 0 is added (stock_quantity 0)."""
    item = await wish(client, reader, books["Odes"])
    assert item["book"]["stock_quantity"] == 0


async def test_the_list_is_newest_first_with_current_price_and_stock(
    client: httpx.AsyncClient,
    clock: ManualClock,
    reader: Headers,
    admin: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """GET /wishlist: {items} newest first; a price or stock change since shows."""
    dune = await wish(client, reader, books["Dune"])
    clock.advance(minutes=1)
    emma = await wish(client, reader, books["Emma"])
    path = f"/books/{books['Dune']}"
    assert (await client.put(path, json={"price": "4.00"}, headers=admin[1])).status_code == 200
    restock = await client.patch(f"{path}/stock", json={"quantity": 9}, headers=admin[1])
    assert restock.status_code == 200
    listed = await mine(client, reader)
    assert [i["id"] for i in listed] == [emma["id"], dune["id"]]
    assert (listed[1]["book"]["price"], listed[1]["book"]["stock_quantity"]) == ("4.00", 9)


async def test_removing_answers_204_by_book_id(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """DELETE /wishlist/{book_id} (the book's id, not the item's): 204 with no body."""
    await wish(client, reader, books["Dune"])
    kept = await wish(client, reader, books["Emma"])
    response = await client.delete(f"/wishlist/{books['Dune']}", headers=reader)
    assert (response.status_code, response.content) == (204, b"")
    assert await mine(client, reader) == [kept]


async def test_an_unknown_book_is_404(client: httpx.AsyncClient, reader: Headers) -> None:
    """POST for a book that does not exist: 404 BOOK_NOT_FOUND, field book_id."""
    response = await client.post("/wishlist", json={"book_id": 999}, headers=reader)
    assert_refused(response, 404, "BOOK_NOT_FOUND")
    assert response.json()["field"] == "book_id"


async def test_a_second_add_is_409(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """409 WISHLIST_ITEM_DUPLICATE; still one item."""
    await wish(client, reader, books["Dune"])
    response = await client.post("/wishlist", json={"book_id": books["Dune"]}, headers=reader)
    assert_refused(response, 409, "WISHLIST_ITEM_DUPLICATE")
    assert len(await mine(client, reader)) == 1


async def test_removing_a_book_not_on_it_is_404(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """404 WISHLIST_ITEM_NOT_FOUND, field book_id."""
    response = await client.delete(f"/wishlist/{books['Dune']}", headers=reader)
    assert_refused(response, 404, "WISHLIST_ITEM_NOT_FOUND")
    assert response.json()["field"] == "book_id"


async def test_another_users_wishlist_is_neither_shown_nor_changed(
    client: httpx.AsyncClient, shop: Shop, reader: Headers, books: dict[str, int]
) -> None:
    """Another user sees an empty list, and deleting the book from theirs is 404; the
    owner's item stays."""
    item = await wish(client, reader, books["Dune"])
    other = await user_headers(shop, "other@example.com")
    assert await mine(client, other) == []
    response = await client.delete(f"/wishlist/{books['Dune']}", headers=other)
    assert_refused(response, 404, "WISHLIST_ITEM_NOT_FOUND")
    assert await mine(client, reader) == [item]


@pytest.mark.parametrize(
    "body", [{}, {"book_id": "many"}, {"book_id": 0}, {"book_id": None}, {"book_id": 1.5}]
)
async def test_a_malformed_book_id_is_422(
    client: httpx.AsyncClient, reader: Headers, body: dict[str, Any]
) -> None:
    """A missing, non-integer or non-positive book_id: 422 located at body.book_id."""
    response = await client.post("/wishlist", json=body, headers=reader)
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "book_id"]]


@pytest.mark.parametrize("payload", ["[]", '"x"', "{"])
async def test_a_body_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, reader: Headers, payload: str
) -> None:
    """An array, a string or broken JSON: 422 VALIDATION_ERROR, never 500."""
    response = await client.post(
        "/wishlist", content=payload, headers={**reader, "Content-Type": "application/json"}
    )
    assert_refused(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("book_id", ["0", "x", "99999999999999999999"])
async def test_a_malformed_path_id_is_422(
    client: httpx.AsyncClient, reader: Headers, book_id: str
) -> None:
    """DELETE /wishlist/{book_id} with a non-positive, non-numeric or huge id: 422."""
    response = await client.delete(f"/wishlist/{book_id}", headers=reader)
    assert_refused(response, 422, "VALIDATION_ERROR")
