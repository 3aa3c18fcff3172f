"""Checkout and orders over HTTP: POST /orders/checkout, GET /orders, GET /orders/{id},
POST /orders/{id}/cancel, GET /admin/orders and PATCH /admin/orders/{id}.

Wire mapping only (checkout's guarantees are the commerce contract's): the Order body, each
error code with its extras (``items`` of a short stock, ``order_id`` of a declined payment),
the ``Idempotency-Key`` header, ``X-Total-Count``, the admin filters, and that no route shows
or changes another user's order. The shop's payment gateway is the demo one, which declines
when the body asks it to (``force_payment_failure``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.demo import create_demo_users, seed_demo
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import ManualClock, Principal, Role
from bookshop_core.notifications import ListOutbox
from tests.examples.test_http_cart import (
    Headers,
    add_line,
    assert_refused,
    bearer,
    stock_books,
    user_headers,
    view,
)

# The wire mapping does not depend on the store: memory only.
pytestmark = pytest.mark.bookshop_backends("memory")

ORDER_FIELDS = {"id", "status", "created_at", "items", "total_price", "user_id"}
ORDER_ITEM_FIELDS = {"id", "book_id", "quantity", "unit_price", "title", "book"}


@pytest.fixture
async def admin(shop: Shop) -> tuple[Principal, Headers]:
    principal, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return principal, bearer(pair.access_token)


@pytest.fixture
async def reader(shop: Shop) -> tuple[Principal, Headers]:
    principal, pair = await sign_up(shop, "reader@example.com")
    return principal, bearer(pair.access_token)


@pytest.fixture
async def books(shop: Shop, admin: tuple[Principal, Headers]) -> dict[str, int]:
    """Dune (9.99, 5 in stock), Emma (12.50, 2 in stock), Odes (out of stock)."""
    return await stock_books(shop, admin[0])


async def buy(
    client: httpx.AsyncClient,
    headers: Headers,
    *lines: tuple[int, int],
    key: str | None = None,
) -> Any:
    """Fill the cart with ``(book_id, quantity)`` lines and check out (201); the order."""
    for book_id, quantity in lines:
        await add_line(client, headers, book_id, quantity)
    extra = {} if key is None else {"Idempotency-Key": key}
    response = await client.post("/orders/checkout", json={}, headers={**headers, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def stock_of(client: httpx.AsyncClient, book_id: int) -> int:
    response = await client.get(f"/books/{book_id}")
    assert response.status_code == 200, response.text
    stock: int = response.json()["stock_quantity"]
    return stock


async def listed(
    client: httpx.AsyncClient, path: str, headers: Headers, **params: Any
) -> tuple[list[Any], int]:
    """GET a list route (200); its orders and X-Total-Count."""
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    orders: list[Any] = response.json()
    return orders, int(response.headers["X-Total-Count"])


# -- checkout ---------------------------------------------------------------------------------


async def test_checkout_answers_201_with_the_confirmed_order(
    client: httpx.AsyncClient,
    reader: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """POST /orders/checkout: 201 {id, status: confirmed, created_at, items, total_price,
    user_id}; each item {id, book_id, quantity, unit_price, title, book}."""
    order = await buy(client, reader[1], (books["Dune"], 2), (books["Emma"], 1))
    assert set(order) == ORDER_FIELDS
    assert (order["status"], order["total_price"], order["user_id"]) == (
        "confirmed",
        "32.48",
        reader[0].user_id,
    )
    assert order["created_at"] == "2024-01-01T00:00:00+00:00"
    assert all(set(item) == ORDER_ITEM_FIELDS for item in order["items"])
    assert sorted(
        (i["book_id"], i["quantity"], i["unit_price"], i["title"]) for i in order["items"]
    ) == [(books["Dune"], 2, "9.99", "Dune"), (books["Emma"], 1, "12.50", "Emma")]
    emma = next(i for i in order["items"] if i["title"] == "Emma")
    assert emma["book"] == {
        "id": books["Emma"],
        "title": "Emma",
        "author": "Jane Austen",
        "cover_image_url": "https://img.example/emma.jpg",
        "price": "12.50",
    }


async def test_checkout_empties_the_cart_takes_the_stock_and_queues_the_confirmation(
    client: httpx.AsyncClient,
    shop: Shop,
    reader: tuple[Principal, Headers],
    admin: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """After a 201 the cart is empty, the stock is lower and one order_confirmation email to
    the buyer is in the outbox (the response comes after the commit)."""
    order = await buy(client, reader[1], (books["Dune"], 2))
    assert (await view(client, reader[1]))["items"] == []
    assert await stock_of(client, books["Dune"]) == 3
    page = await shop.outbox.list_messages(admin[0], ListOutbox())
    assert [(m.kind, m.recipients, m.variables["order_id"]) for m in page.items] == [
        ("order_confirmation", ("reader@example.com",), order["id"])
    ]


@pytest.mark.parametrize("body", [None, {}, {"force_payment_failure": False}])
async def test_checkout_takes_no_body_or_an_empty_one(
    client: httpx.AsyncClient,
    reader: tuple[Principal, Headers],
    books: dict[str, int],
    body: dict[str, Any] | None,
) -> None:
    """No body, {} and {force_payment_failure: false} all buy the cart."""
    await add_line(client, reader[1], books["Dune"])
    response = await client.post("/orders/checkout", json=body, headers=reader[1])
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"


async def test_an_empty_cart_is_422(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers]
) -> None:
    """422 ORDER_CART_EMPTY, its detail a sentence (not a list)."""
    response = await client.post("/orders/checkout", json={}, headers=reader[1])
    assert_refused(response, 422, "ORDER_CART_EMPTY")
    assert isinstance(response.json()["detail"], str)


async def test_short_stock_is_409_listing_each_short_line(
    client: httpx.AsyncClient,
    admin: tuple[Principal, Headers],
    reader: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """409 ORDER_INSUFFICIENT_STOCK with items [{book_id, title, requested, available}];
    the cart and the stock are as they were."""
    await add_line(client, reader[1], books["Dune"], 4)
    await add_line(client, reader[1], books["Emma"], 2)
    dropped = await client.patch(
        f"/books/{books['Emma']}/stock", json={"quantity": 1}, headers=admin[1]
    )
    assert dropped.status_code == 200, dropped.text
    before = await view(client, reader[1])
    response = await client.post("/orders/checkout", json={}, headers=reader[1])
    assert_refused(response, 409, "ORDER_INSUFFICIENT_STOCK")
    assert response.json()["items"] == [
        {"book_id": books["Emma"], "title": "Emma", "requested": 2, "available": 1}
    ]
    assert await view(client, reader[1]) == before
    assert await stock_of(client, books["Dune"]) == 5


async def test_a_declined_payment_is_402_and_recorded(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], books: dict[str, int]
) -> None:
    """{force_payment_failure: true}: 402 ORDER_PAYMENT_FAILED with the attempt's order_id;
    cart and stock as they were; the attempt is listed as payment_failed."""
    await add_line(client, reader[1], books["Dune"], 2)
    before = await view(client, reader[1])
    response = await client.post(
        "/orders/checkout", json={"force_payment_failure": True}, headers=reader[1]
    )
    assert_refused(response, 402, "ORDER_PAYMENT_FAILED")
    attempt = response.json()["order_id"]
    assert await view(client, reader[1]) == before
    assert await stock_of(client, books["Dune"]) == 5
    orders, _ = await listed(client, "/orders", reader[1])
    assert [(o["id"], o["status"]) for o in orders] == [(attempt, "payment_failed")]


async def test_a_malformed_flag_is_422(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], books: dict[str, int]
) -> None:
    """force_payment_failure that is not a boolean: 422 at body.force_payment_failure."""
    await add_line(client, reader[1], books["Dune"])
    response = await client.post(
        "/orders/checkout", json={"force_payment_failure": "maybe"}, headers=reader[1]
    )
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "force_payment_failure"]]


@pytest.mark.parametrize("payload", ["[]", '"yes"', "{"])
async def test_a_body_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], payload: str
) -> None:
    """An array, a string or broken JSON as the checkout body: 422, never 500."""
    response = await client.post(
        "/orders/checkout",
        content=payload,
        headers={**reader[1], "Content-Type": "application/json"},
    )
    assert_refused(response, 422, "VALIDATION_ERROR")


# -- idempotency ------------------------------------------------------------------------------


async def test_a_retry_with_the_same_key_returns_the_same_order(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], books: dict[str, int]
) -> None:
    """The same Idempotency-Key again: 201 the same order; nothing more is bought."""
    order = await buy(client, reader[1], (books["Dune"], 2), key="tab-1")
    again = await client.post(
        "/orders/checkout", json={}, headers={**reader[1], "Idempotency-Key": "tab-1"}
    )
    assert again.status_code == 201, again.text
    assert again.json() == order
    assert await stock_of(client, books["Dune"]) == 3
    assert (await listed(client, "/orders", reader[1]))[1] == 1


async def test_the_key_with_a_different_cart_is_409(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], books: dict[str, int]
) -> None:
    """A used Idempotency-Key with another cart: 409 ORDER_IDEMPOTENCY_KEY_REUSED; the new
    cart is not bought."""
    await buy(client, reader[1], (books["Dune"], 1), key="k")
    await add_line(client, reader[1], books["Emma"], 1)
    response = await client.post(
        "/orders/checkout", json={}, headers={**reader[1], "Idempotency-Key": "k"}
    )
    assert_refused(response, 409, "ORDER_IDEMPOTENCY_KEY_REUSED")
    assert len((await view(client, reader[1]))["items"]) == 1


async def test_keys_are_scoped_to_the_user(
    client: httpx.AsyncClient,
    shop: Shop,
    reader: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """Another user's checkout with the same key is a checkout of their own cart."""
    mine = await buy(client, reader[1], (books["Dune"], 1), key="shared")
    other = await user_headers(shop, "other@example.com")
    theirs = await buy(client, other, (books["Dune"], 1), key="shared")
    assert theirs["id"] != mine["id"]


async def test_a_key_in_the_body_is_ignored(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], books: dict[str, int]
) -> None:
    """idempotency_key is a header: sent in the body it is not applied (a second checkout
    finds the cart empty instead of replaying)."""
    await add_line(client, reader[1], books["Dune"])
    body = {"idempotency_key": "in-body"}
    first = await client.post("/orders/checkout", json=body, headers=reader[1])
    assert first.status_code == 201, first.text
    second = await client.post("/orders/checkout", json=body, headers=reader[1])
    assert_refused(second, 422, "ORDER_CART_EMPTY")


async def test_a_key_of_255_characters_is_accepted(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], books: dict[str, int]
) -> None:
    """The longest key: 201."""
    await buy(client, reader[1], (books["Dune"], 1), key="k" * 255)


@pytest.mark.parametrize("key", [b"k" * 256, b"", "tab\u00e9".encode()])
async def test_a_bad_key_is_422_located_at_the_header(
    client: httpx.AsyncClient,
    reader: tuple[Principal, Headers],
    books: dict[str, int],
    key: bytes,
) -> None:
    """A key that is too long, empty or not ASCII: 422 at header.Idempotency-Key; nothing
    bought."""
    await add_line(client, reader[1], books["Dune"])
    headers = {name.encode(): value.encode() for name, value in reader[1].items()}
    headers[b"Idempotency-Key"] = key
    response = await client.post("/orders/checkout", json={}, headers=headers)
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert [e["loc"] for e in response.json()["detail"]] == [["header", "Idempotency-Key"]]
    assert len((await view(client, reader[1]))["items"]) == 1


# -- the buyer's orders -----------------------------------------------------------------------


async def test_my_orders_are_newest_first_with_the_total_in_a_header(
    client: httpx.AsyncClient,
    clock: ManualClock,
    reader: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """GET /orders: a bare array newest first; X-Total-Count across pages; page and size."""
    first = await buy(client, reader[1], (books["Dune"], 1))
    clock.advance(minutes=1)
    second = await buy(client, reader[1], (books["Emma"], 1))
    clock.advance(minutes=1)
    third = await buy(client, reader[1], (books["Dune"], 1))
    orders, total = await listed(client, "/orders", reader[1])
    assert ([o["id"] for o in orders], total) == ([third["id"], second["id"], first["id"]], 3)
    assert orders[0] == third
    page, total = await listed(client, "/orders", reader[1], page=2, size=2)
    assert ([o["id"] for o in page], total) == ([first["id"]], 3)


async def test_the_total_header_is_readable_by_the_web_client(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers]
) -> None:
    """A cross-origin GET /orders from the web client's origin exposes X-Total-Count."""
    response = await client.get("/orders", headers={**reader[1], "Origin": "http://localhost:3000"})
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert "x-total-count" in exposed


async def test_the_web_client_may_send_the_key_from_the_browser(
    client: httpx.AsyncClient,
) -> None:
    """A CORS preflight of POST /orders/checkout with Idempotency-Key from the web client's
    origin is allowed."""
    response = await client.options(
        "/orders/checkout",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert response.status_code == 200
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert "idempotency-key" in allowed


@pytest.mark.parametrize("params", [{"page": 0}, {"size": 101}, {"size": "x"}])
async def test_a_bad_page_is_422(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], params: dict[str, Any]
) -> None:
    """page < 1, size out of 1..100, or not a number: 422 VALIDATION_ERROR."""
    response = await client.get("/orders", params=params, headers=reader[1])
    assert_refused(response, 422, "VALIDATION_ERROR")


async def test_reading_one_of_my_orders(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], books: dict[str, int]
) -> None:
    """GET /orders/{id}: 200 the order, as checkout answered it."""
    order = await buy(client, reader[1], (books["Dune"], 1))
    response = await client.get(f"/orders/{order['id']}", headers=reader[1])
    assert (response.status_code, response.json()) == (200, order)


async def test_an_order_keeps_its_title_and_price_when_the_book_changes_or_goes(
    client: httpx.AsyncClient,
    admin: tuple[Principal, Headers],
    reader: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """After a price change the item keeps unit_price (book.price is now's); after the book
    is deleted, book_id and book are null and title stays."""
    order = await buy(client, reader[1], (books["Dune"], 1))
    path = f"/books/{books['Dune']}"
    assert (await client.put(path, json={"price": "20.00"}, headers=admin[1])).status_code == 200
    [item] = (await client.get(f"/orders/{order['id']}", headers=reader[1])).json()["items"]
    assert (item["unit_price"], item["book"]["price"]) == ("9.99", "20.00")
    assert (await client.delete(path, headers=admin[1])).status_code == 204
    read = (await client.get(f"/orders/{order['id']}", headers=reader[1])).json()
    [item] = read["items"]
    assert (item["book_id"], item["book"], item["title"], item["unit_price"]) == (
        None,
        None,
        "Dune",
        "9.99",
    )
    assert read["total_price"] == "9.99"


async def test_cancelling_my_order_returns_the_stock(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], books: dict[str, int]
) -> None:
    """POST /orders/{id}/cancel: 200 the order, cancelled; the stock is back."""
    order = await buy(client, reader[1], (books["Dune"], 2))
    response = await client.post(f"/orders/{order['id']}/cancel", headers=reader[1])
    assert response.status_code == 200, response.text
    assert response.json() == {**order, "status": "cancelled"}
    assert await stock_of(client, books["Dune"]) == 5


async def test_cancelling_twice_is_409(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], books: dict[str, int]
) -> None:
    """A cancelled order cannot be cancelled again: 409 ORDER_INVALID_TRANSITION."""
    order = await buy(client, reader[1], (books["Dune"], 1))
    await client.post(f"/orders/{order['id']}/cancel", headers=reader[1])
    response = await client.post(f"/orders/{order['id']}/cancel", headers=reader[1])
    assert_refused(response, 409, "ORDER_INVALID_TRANSITION")


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/cancel")])
async def test_an_unknown_order_is_404(
    client: httpx.AsyncClient, reader: tuple[Principal, Headers], method: str, suffix: str
) -> None:
    """404 ORDER_NOT_FOUND."""
    response = await client.request(method, f"/orders/999{suffix}", headers=reader[1])
    assert_refused(response, 404, "ORDER_NOT_FOUND")


async def test_another_users_order_is_invisible_and_unchanged(
    client: httpx.AsyncClient,
    shop: Shop,
    reader: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """Another user: GET and cancel are 404 ORDER_NOT_FOUND, their list is empty, and the
    order stays confirmed."""
    order = await buy(client, reader[1], (books["Dune"], 1))
    other = await user_headers(shop, "other@example.com")
    assert_refused(
        await client.get(f"/orders/{order['id']}", headers=other), 404, "ORDER_NOT_FOUND"
    )
    cancel = await client.post(f"/orders/{order['id']}/cancel", headers=other)
    assert_refused(cancel, 404, "ORDER_NOT_FOUND")
    assert await listed(client, "/orders", other) == ([], 0)
    mine = await client.get(f"/orders/{order['id']}", headers=reader[1])
    assert mine.json()["status"] == "confirmed"


# -- administration ---------------------------------------------------------------------------


async def test_admins_list_every_order_with_filters(
    client: httpx.AsyncClient,
    shop: Shop,
    clock: ManualClock,
    books: dict[str, int],
) -> None:
    """GET /admin/orders: every user's orders newest first, X-Total-Count; status, user_id,
    date_from and date_to (inclusive UTC days), page and size filter it."""

    async def buyer_at(instant: datetime, email: str) -> tuple[Principal, Headers]:
        # Access tokens live 15 minutes of the shop's clock: sign in after moving it.
        clock.set(instant)
        principal, pair = await sign_up(shop, email)
        return principal, bearer(pair.access_token)

    _, reader = await buyer_at(datetime(2024, 3, 1, 10, tzinfo=UTC), "reader@example.com")
    march = await buy(client, reader, (books["Dune"], 1))
    other, headers = await buyer_at(datetime(2024, 3, 2, 23, 59, tzinfo=UTC), "o@example.com")
    theirs = await buy(client, headers, (books["Dune"], 1))
    _, reader = await buyer_at(datetime(2024, 3, 3, tzinfo=UTC), "third@example.com")
    later = await buy(client, reader, (books["Emma"], 1))
    await client.post(f"/orders/{later['id']}/cancel", headers=reader)
    path = "/admin/orders"
    admin = await user_headers(shop, "boss@example.com", role=Role.ADMIN)

    def ids(found: tuple[list[Any], int]) -> tuple[list[int], int]:
        return [o["id"] for o in found[0]], found[1]

    assert ids(await listed(client, path, admin)) == ([later["id"], theirs["id"], march["id"]], 3)
    assert ids(await listed(client, path, admin, status="cancelled")) == ([later["id"]], 1)
    assert ids(await listed(client, path, admin, user_id=other.user_id)) == ([theirs["id"]], 1)
    in_range = await listed(client, path, admin, date_from="2024-03-01", date_to="2024-03-02")
    assert ids(in_range) == ([theirs["id"], march["id"]], 2)
    assert ids(await listed(client, path, admin, size=1, page=2)) == ([theirs["id"]], 3)
    widest = await listed(client, path, admin, date_from="0001-01-01", date_to="9999-12-31")
    assert ids(widest)[1] == 3


@pytest.mark.parametrize(
    "params",
    [
        {"status": "pending"},
        {"status": "lost"},
        {"user_id": 0},
        {"date_from": "03/01/2024"},
        {"date_from": "2024-03-02", "date_to": "2024-03-01"},
        {"size": 0},
    ],
)
async def test_a_bad_admin_filter_is_422(
    client: httpx.AsyncClient, admin: tuple[Principal, Headers], params: dict[str, Any]
) -> None:
    """An unknown or internal status, a bad id, a malformed date, date_to before
    date_from, a bad size: 422 VALIDATION_ERROR."""
    response = await client.get("/admin/orders", params=params, headers=admin[1])
    assert_refused(response, 422, "VALIDATION_ERROR")


async def test_admins_move_an_order_along(
    client: httpx.AsyncClient,
    admin: tuple[Principal, Headers],
    reader: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """PATCH /admin/orders/{id} {status}: confirmed -> shipped -> delivered, 200 the order
    each time; the buyer sees it."""
    order = await buy(client, reader[1], (books["Dune"], 1))
    path = f"/admin/orders/{order['id']}"
    for status in ("shipped", "delivered"):
        response = await client.patch(path, json={"status": status}, headers=admin[1])
        assert response.status_code == 200, response.text
        assert response.json() == {**order, "status": status}
    seen = await client.get(f"/orders/{order['id']}", headers=reader[1])
    assert seen.json()["status"] == "delivered"


async def test_an_admin_cancel_returns_the_stock(
    client: httpx.AsyncClient,
    admin: tuple[Principal, Headers],
    reader: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """PATCH {status: cancelled} on a confirmed order: 200 cancelled; the stock is back."""
    order = await buy(client, reader[1], (books["Emma"], 2))
    response = await client.patch(
        f"/admin/orders/{order['id']}", json={"status": "cancelled"}, headers=admin[1]
    )
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert await stock_of(client, books["Emma"]) == 2


async def test_an_invalid_transition_is_409(
    client: httpx.AsyncClient,
    admin: tuple[Principal, Headers],
    reader: tuple[Principal, Headers],
    books: dict[str, int],
) -> None:
    """delivered straight from confirmed: 409 ORDER_INVALID_TRANSITION; unchanged."""
    order = await buy(client, reader[1], (books["Dune"], 1))
    response = await client.patch(
        f"/admin/orders/{order['id']}", json={"status": "delivered"}, headers=admin[1]
    )
    assert_refused(response, 409, "ORDER_INVALID_TRANSITION")
    seen = await client.get(f"/orders/{order['id']}", headers=reader[1])
    assert seen.json()["status"] == "confirmed"


async def test_an_unknown_order_is_404_for_admins(
    client: httpx.AsyncClient, admin: tuple[Principal, Headers]
) -> None:
    """PATCH of an order that does not exist: 404 ORDER_NOT_FOUND."""
    response = await client.patch("/admin/orders/999", json={"status": "shipped"}, headers=admin[1])
    assert_refused(response, 404, "ORDER_NOT_FOUND")


@pytest.mark.parametrize("body", [{}, {"status": "pending"}, {"status": "lost"}, {"status": 3}])
async def test_a_bad_status_is_422(
    client: httpx.AsyncClient, admin: tuple[Principal, Headers], body: dict[str, Any]
) -> None:
    """A missing, internal, unknown or mistyped status: 422 at body.status."""
    response = await client.patch("/admin/orders/1", json=body, headers=admin[1])
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "status"]]


# -- the demo shop ----------------------------------------------------------------------------


async def test_the_demo_customer_can_buy_out_of_the_box(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    """After seed-demo (the README's first command), the demo customer signs in, puts a
    book in stock in the cart and checks out: 201 confirmed."""
    assert await seed_demo(shop) is not None
    users = await create_demo_users(shop)
    login = await client.post(
        "/auth/login",
        json={"email": users.customer.email, "password": users.customer.password},
    )
    assert login.status_code == 200, login.text
    headers = bearer(login.json()["access_token"])
    page = await client.get("/books", params={"in_stock": "true", "size": 2})
    in_stock = [book["id"] for book in page.json()["items"]]
    assert len(in_stock) == 2
    for book_id in in_stock:
        await add_line(client, headers, book_id)
    response = await client.post("/orders/checkout", json={}, headers=headers)
    assert response.status_code == 201, response.text
    assert (response.json()["status"], len(response.json()["items"])) == ("confirmed", 2)
