"""The analytics admin routes over HTTP: GET /admin/analytics/sales/summary,
/admin/analytics/sales/top-books and /admin/analytics/inventory/low-stock.

Wire mapping only (the rules are the analytics contract's): field names, money as JSON numbers
rounded to cents at the very end, ``tz`` and 422 for a bad query (who may call:
``test_http_auth_admin_routes``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import ADMIN
from bookshop_adapters.testing.contract.analytics import Buyer
from bookshop_adapters.testing.contract.commerce import stocked_book
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import ManualClock, Role

pytestmark = pytest.mark.bookshop_backends("memory")

SUMMARY = "/admin/analytics/sales/summary"
TOP = "/admin/analytics/sales/top-books"
LOW = "/admin/analytics/inventory/low-stock"
NOW = datetime(2024, 5, 15, 10, tzinfo=UTC)


@pytest.fixture
async def admin(shop: Shop) -> dict[str, str]:
    """An admin's bearer header."""
    _, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return {"Authorization": f"Bearer {pair.access_token}"}


@pytest.fixture
async def sales(shop: Shop, clock: ManualClock) -> None:
    """Yesterday morning 3.00; today 10.00 over three orders (a third of a cent apart);
    a book sold today then deleted."""
    buyer = await Buyer.create(shop, clock)
    one = await stocked_book(shop, "One", price="1.00", stock=50)
    gone = await stocked_book(shop, "Gone", price="2.00", stock=50)
    await buyer.order(datetime(2024, 5, 14, 8, tzinfo=UTC), (one, 3))
    await buyer.order(datetime(2024, 5, 15, 1, tzinfo=UTC), (one, 4))
    await buyer.order(datetime(2024, 5, 15, 2, tzinfo=UTC), (one, 2))
    await buyer.order(datetime(2024, 5, 15, 3, tzinfo=UTC), (gone, 2))
    await shop.catalog.delete_book(ADMIN, gone.id)
    clock.set(NOW)


async def fetch(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.usefixtures("sales")
async def test_the_summary_renders_exact_figures_rounded_to_cents(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """revenue, aov and delta are JSON numbers rounded half-up only when rendered."""
    body = await fetch(client, SUMMARY, admin)
    assert {
        k: body[k] for k in ("period", "revenue", "order_count", "aov", "delta_percentage")
    } == {
        "period": "today",
        "revenue": 10.0,
        "order_count": 3,
        "aov": 3.33,
        "delta_percentage": 233.33,
    }
    assert (body["time_zone"], body["start"]) == ("UTC", "2024-05-15T00:00:00+00:00")
    assert (body["previous_revenue"], body["previous_order_count"]) == (3.0, 1)


@pytest.mark.usefixtures("sales")
async def test_tz_moves_the_period_boundaries(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """``tz`` computes the period in that zone: Tokyo's today began at 15:00 UTC yesterday."""
    body = await fetch(client, SUMMARY, admin, period="today", tz="Asia/Tokyo")
    assert (body["time_zone"], body["start"]) == ("Asia/Tokyo", "2024-05-14T15:00:00+00:00")
    assert body["order_count"] == 3


async def test_an_empty_previous_span_gives_a_null_delta(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """No sales at all: zero figures and ``delta_percentage`` null."""
    body = await fetch(client, SUMMARY, admin, period="month")
    assert (body["revenue"], body["order_count"], body["aov"], body["delta_percentage"]) == (
        0.0,
        0,
        0.0,
        None,
    )


@pytest.mark.usefixtures("sales")
async def test_top_books_lists_deleted_books_with_a_null_id(
    client: httpx.AsyncClient, admin: dict[str, str], shop: Shop
) -> None:
    """Items carry book_id, title, author, total_revenue and units_sold; a deleted book's id
    is null."""
    body = await fetch(client, TOP, admin, sort_by="volume", limit=5, period="week")
    assert body == {
        "sort_by": "volume",
        "period": "week",
        "items": [
            {
                "book_id": 1,
                "title": "One",
                "author": "Author of One",
                "total_revenue": 9.0,
                "units_sold": 9,
            },
            {
                "book_id": None,
                "title": "Gone",
                "author": "Author of Gone",
                "total_revenue": 4.0,
                "units_sold": 2,
            },
        ],
    }


@pytest.mark.usefixtures("sales")
async def test_low_stock_echoes_the_threshold(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The threshold comes back at the top and on each item, with the total."""
    body = await fetch(client, LOW, admin, threshold=41)
    assert body == {
        "threshold": 41,
        "total_low_stock": 1,
        "items": [
            {
                "book_id": 1,
                "title": "One",
                "author": "Author of One",
                "current_stock": 41,
                "threshold": 41,
            }
        ],
    }


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (SUMMARY, {"period": "year"}, "period"),
        (SUMMARY, {"tz": "Mars/Olympus"}, "tz"),
        (SUMMARY, {"tz": "../../etc/passwd"}, "tz"),
        (TOP, {"limit": 0}, "limit"),
        (TOP, {"limit": 51}, "limit"),
        (TOP, {"sort_by": "price"}, "sort_by"),
        (TOP, {"period": "decade"}, "period"),
        (LOW, {"threshold": -1}, "threshold"),
        (LOW, {"threshold": "many"}, "threshold"),
    ],
)
async def test_a_bad_query_is_422(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    url: str,
    params: dict[str, Any],
    field: str,
) -> None:
    """A bad period, time zone, sort, limit or threshold: 422 VALIDATION_ERROR naming it."""
    response = await client.get(url, params=params, headers=admin)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert [error["loc"] for error in body["detail"]] == [["query", field]]
