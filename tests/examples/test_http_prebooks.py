"""The pre-booking routes over HTTP: POST /prebooks, GET /prebooks, DELETE /prebooks/{id}.

Wire mapping only (the rules are the pre-booking contract's): the bodies and status codes,
one case per error code, and a restock through PATCH /books/{id}/stock showing as ``notified``
(who may call: ``test_http_auth_user_routes``). The app runs no worker (the test shop has no
mailer).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import add_book
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import ManualClock, Principal, Role
from bookshop_core.notifications import ListOutbox
from tests.examples.test_http_cart import Headers, assert_refused, bearer

PREBOOKING_FIELDS = {
    "id",
    "book_id",
    "book_title",
    "book_author",
    "status",
    "created_at",
    "notified_at",
    "cancelled_at",
}


@pytest.fixture
async def admin(shop: Shop) -> tuple[Principal, Headers]:
    principal, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return principal, bearer(pair.access_token)


@pytest.fixture
async def reader(shop: Shop) -> Headers:
    _, pair = await sign_up(shop, "reader@example.com")
    return bearer(pair.access_token)


@pytest.fixture
async def books(shop: Shop, admin: tuple[Principal, Headers]) -> dict[str, int]:
    """Two books out of stock and one in stock, by title."""
    by = admin[0]
    dune = await add_book(shop, "Dune", by=by)
    emma = await add_book(shop, "Emma", author="Jane Austen", by=by)
    odes = await add_book(shop, "Odes", author="Keats", stock=2, by=by)
    return {"Dune": dune.id, "Emma": emma.id, "Odes": odes.id}


async def prebook(client: httpx.AsyncClient, headers: Headers, book_id: int) -> Any:
    response = await client.post("/prebooks", json={"book_id": book_id}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def mine(client: httpx.AsyncClient, headers: Headers) -> list[Any]:
    response = await client.get("/prebooks", headers=headers)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"items"}
    items: list[Any] = response.json()["items"]
    return items


async def test_prebooking_answers_201_with_the_waiting_prebooking(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """POST /prebooks {book_id}: 201 with the book's title and author, status waiting."""
    body = await prebook(client, reader, books["Emma"])
    assert set(body) == PREBOOKING_FIELDS
    assert {k: body[k] for k in ("book_id", "book_title", "book_author", "status")} == {
        "book_id": books["Emma"],
        "book_title": "Emma",
        "book_author": "Jane Austen",
        "status": "waiting",
    }
    assert body["created_at"].endswith("+00:00")
    assert (body["notified_at"], body["cancelled_at"]) == (None, None)


async def test_the_list_has_every_status_newest_first(
    client: httpx.AsyncClient,
    reader: Headers,
    books: dict[str, int],
    admin: tuple[Principal, Headers],
    clock: ManualClock,
) -> None:
    """GET /prebooks: {items} with waiting, notified and cancelled ones, newest first."""
    dune = await prebook(client, reader, books["Dune"])
    clock.advance(minutes=1)
    emma = await prebook(client, reader, books["Emma"])
    cancelled = await client.delete(f"/prebooks/{dune['id']}", headers=reader)
    assert cancelled.status_code == 204
    clock.advance(minutes=1)
    again = await prebook(client, reader, books["Dune"])
    listed = await mine(client, reader)
    assert [(p["id"], p["status"]) for p in listed] == [
        (again["id"], "waiting"),
        (emma["id"], "waiting"),
        (dune["id"], "cancelled"),
    ]
    assert listed[2]["cancelled_at"] is not None


async def test_a_restock_shows_as_notified_and_queues_one_email(
    client: httpx.AsyncClient,
    shop: Shop,
    reader: Headers,
    books: dict[str, int],
    admin: tuple[Principal, Headers],
) -> None:
    """PATCH /books/{id}/stock from 0 to above 0: the pre-booking is notified (with
    notified_at) and one back-in-stock email to its owner is in the outbox."""
    await prebook(client, reader, books["Dune"])
    response = await client.patch(
        f"/books/{books['Dune']}/stock", json={"quantity": 3}, headers=admin[1]
    )
    assert response.status_code == 200, response.text
    [notified] = await mine(client, reader)
    assert notified["status"] == "notified"
    assert notified["notified_at"] is not None
    page = await shop.outbox.list_messages(admin[0], ListOutbox())
    assert [(m.kind, m.recipients) for m in page.items] == [
        ("back_in_stock", ("reader@example.com",))
    ]


async def test_deleting_answers_204_and_keeps_it_listed_as_cancelled(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """DELETE /prebooks/{id}: 204 with no body; the pre-booking is now cancelled."""
    created = await prebook(client, reader, books["Dune"])
    response = await client.delete(f"/prebooks/{created['id']}", headers=reader)
    assert (response.status_code, response.content) == (204, b"")
    [listed] = await mine(client, reader)
    assert (listed["id"], listed["status"]) == (created["id"], "cancelled")


async def test_an_unknown_book_is_404(client: httpx.AsyncClient, reader: Headers) -> None:
    """404 BOOK_NOT_FOUND, field book_id."""
    response = await client.post("/prebooks", json={"book_id": 999}, headers=reader)
    assert_refused(response, 404, "BOOK_NOT_FOUND")
    assert response.json()["field"] == "book_id"


async def test_a_book_in_stock_is_409(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """409 PREBOOK_BOOK_IN_STOCK."""
    response = await client.post("/prebooks", json={"book_id": books["Odes"]}, headers=reader)
    assert_refused(response, 409, "PREBOOK_BOOK_IN_STOCK")


async def test_a_second_waiting_prebooking_is_409(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """409 PREBOOK_DUPLICATE for a book the caller is already waiting for."""
    await prebook(client, reader, books["Dune"])
    response = await client.post("/prebooks", json={"book_id": books["Dune"]}, headers=reader)
    assert_refused(response, 409, "PREBOOK_DUPLICATE")


async def test_another_users_prebooking_is_404(
    client: httpx.AsyncClient, shop: Shop, reader: Headers, books: dict[str, int]
) -> None:
    """DELETE of another user's pre-booking: 404 PREBOOK_NOT_FOUND, and it stays waiting."""
    created = await prebook(client, reader, books["Dune"])
    _, pair = await sign_up(shop, "other@example.com")
    response = await client.delete(f"/prebooks/{created['id']}", headers=bearer(pair.access_token))
    assert_refused(response, 404, "PREBOOK_NOT_FOUND")
    assert [p["status"] for p in await mine(client, reader)] == ["waiting"]


async def test_cancelling_twice_is_409(
    client: httpx.AsyncClient, reader: Headers, books: dict[str, int]
) -> None:
    """409 PREBOOK_ALREADY_CANCELLED for a cancelled pre-booking."""
    created = await prebook(client, reader, books["Dune"])
    await client.delete(f"/prebooks/{created['id']}", headers=reader)
    response = await client.delete(f"/prebooks/{created['id']}", headers=reader)
    assert_refused(response, 409, "PREBOOK_ALREADY_CANCELLED")


@pytest.mark.parametrize("body", [{}, {"book_id": "many"}, {"book_id": 0}])
async def test_a_malformed_book_id_is_422(
    client: httpx.AsyncClient, reader: Headers, body: dict[str, Any]
) -> None:
    """A missing, non-integer or non-positive book_id: 422 located at body.book_id."""
    response = await client.post("/prebooks", json=body, headers=reader)
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "book_id"]]
