"""The outbox admin routes over HTTP: GET /admin/outbox and POST /admin/outbox/{id}/retry.

Wire mapping only (the rules are the outbox contract's): the admin list envelope, the status
filter and paging, each error code, and who may call. The app runs no worker here, so
messages stay where the test puts them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.contract.outbox import queue_messages
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import ManualClock, Role
from bookshop_core.kernel.uow import Transactions
from bookshop_core.notifications import DeliveryFailure, OutboxSettings
from bookshop_examples.http.app import create_app

MESSAGE_FIELDS = {
    "id",
    "message_id",
    "kind",
    "recipients",
    "variables",
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "last_error",
    "created_at",
    "sent_at",
}


async def add_dead_message(shop: Shop, clock: ManualClock) -> int:
    """Queue one message and fail its only attempt for good, as a dispatcher records a
    refusal; returns its id."""
    await queue_messages(shop, clock, 1)
    lease = OutboxSettings().lease
    async with Transactions(shop.unit_of_work, shop.events).write() as tx:
        [claimed] = await tx.uow.outbox.claim(1, now=clock.now(), lease=lease)
        failure = DeliveryFailure(claimed.id, claimed.attempts, "MailRejected: 550", None)
        await tx.uow.outbox.mark_failed([failure])
        await tx.commit()
    return claimed.id


@pytest.fixture
def app(shop: Shop) -> FastAPI:
    return create_app(shop=shop, outbox_worker=False)


@pytest.fixture
async def admin(shop: Shop) -> dict[str, str]:
    """An admin's bearer header."""
    _, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return {"Authorization": f"Bearer {pair.access_token}"}


@pytest.fixture
async def outbox(shop: Shop, clock: ManualClock) -> dict[str, int]:
    """One dead message, then two pending ones a minute later: ids by name."""
    dead = await add_dead_message(shop, clock)
    clock.advance(minutes=1)
    await queue_messages(shop, clock, 2)
    return {"dead": dead, "pending": dead + 2}


async def listed(client: httpx.AsyncClient, admin: dict[str, str], **params: Any) -> Any:
    response = await client.get("/admin/outbox", params=params, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


async def test_the_list_is_the_admin_envelope_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], outbox: dict[str, int]
) -> None:
    """GET /admin/outbox: {items, total_count, page, per_page, total_pages}, every status,
    newest first, each message with its delivery state."""
    body = await listed(client, admin)
    assert {k: v for k, v in body.items() if k != "items"} == {
        "total_count": 3,
        "page": 1,
        "per_page": 20,
        "total_pages": 1,
    }
    assert [m["status"] for m in body["items"]] == ["pending", "pending", "dead"]
    dead = body["items"][-1]
    assert set(dead) == MESSAGE_FIELDS
    assert (dead["id"], dead["kind"], dead["attempts"]) == (outbox["dead"], "back_in_stock", 1)
    assert dead["last_error"] == "MailRejected: 550"
    assert dead["recipients"] == ["reader0@example.com"]
    assert dead["created_at"].endswith("+00:00")


async def test_the_list_filters_by_status_and_pages(
    client: httpx.AsyncClient, admin: dict[str, str], outbox: dict[str, int]
) -> None:
    """status selects one status; page and per_page page it; an empty result has 0 pages."""
    assert [m["id"] for m in (await listed(client, admin, status="dead"))["items"]] == [
        outbox["dead"]
    ]
    second = await listed(client, admin, status="pending", page=2, per_page=1)
    assert [m["id"] for m in second["items"]] == [outbox["pending"] - 1]
    assert (second["total_count"], second["total_pages"]) == (2, 2)
    empty = await listed(client, admin, status="sent")
    assert (empty["items"], empty["total_count"], empty["total_pages"]) == ([], 0, 0)


@pytest.mark.parametrize(
    ("params", "loc"),
    [({"status": "lost"}, ["query", "status"]), ({"per_page": 101}, ["query", "per_page"])],
)
async def test_a_bad_list_query_is_422(
    client: httpx.AsyncClient, admin: dict[str, str], params: dict[str, Any], loc: list[str]
) -> None:
    """An unknown status or a page size over 100 is the request-shape 422, located."""
    response = await client.get("/admin/outbox", params=params, headers=admin)
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert [e["loc"] for e in response.json()["detail"]] == [loc]


async def test_retry_makes_a_dead_message_pending(
    client: httpx.AsyncClient, admin: dict[str, str], outbox: dict[str, int]
) -> None:
    """POST /admin/outbox/{id}/retry: 200 with the message pending again, attempts from 0."""
    response = await client.post(f"/admin/outbox/{outbox['dead']}/retry", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["status"], body["attempts"]) == (outbox["dead"], "pending", 0)
    assert (await listed(client, admin, status="dead"))["total_count"] == 0


async def test_retrying_a_message_that_is_not_dead_is_409(
    client: httpx.AsyncClient, admin: dict[str, str], outbox: dict[str, int]
) -> None:
    """A pending message: 409 OUTBOX_NOT_DEAD, with its status."""
    response = await client.post(f"/admin/outbox/{outbox['pending']}/retry", headers=admin)
    assert_refused(response, 409, "OUTBOX_NOT_DEAD")
    assert response.json()["status"] == "pending"


async def test_retrying_an_unknown_message_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], outbox: dict[str, int]
) -> None:
    """No such message: 404 OUTBOX_MESSAGE_NOT_FOUND, field message_id."""
    response = await client.post("/admin/outbox/999/retry", headers=admin)
    assert_refused(response, 404, "OUTBOX_MESSAGE_NOT_FOUND")
    assert response.json()["field"] == "message_id"


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/admin/outbox"), ("POST", "/admin/outbox/1/retry")]
)
async def test_only_admins_reach_the_outbox(
    client: httpx.AsyncClient, shop: Shop, method: str, path: str
) -> None:
    """No token: 401 HTTP_401; a signed-in user: 403 AUTH_FORBIDDEN."""
    assert_refused(await client.request(method, path), 401, "HTTP_401")
    _, pair = await sign_up(shop, "reader@example.com")
    response = await client.request(
        method, path, headers={"Authorization": f"Bearer {pair.access_token}"}
    )
    assert_refused(response, 403, "AUTH_FORBIDDEN")
