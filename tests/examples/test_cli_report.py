"""``bookshop report sales|top|low-stock``, run as a real process on a SQLite file whose orders
were placed through the real checkout.

What the figures are is the analytics contract's; here: the commands reach the reports, print
tables, and ``--json`` prints the HTTP API's shape.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bookshop_adapters.bootstrap import build_shop
from bookshop_adapters.testing.builders import ADMIN
from bookshop_adapters.testing.contract.analytics import Buyer
from bookshop_adapters.testing.contract.commerce import stocked_book
from bookshop_core import ManualClock, OrderStatus
from tests.examples.test_cli_commands import Cli, migrated_db, sqlite_url

__all__ = ["migrated_db"]  # the module-scoped template fixture, shared


@pytest.fixture
def cli(migrated_db: Path, tmp_path: Path) -> Cli:
    """The CLI on a shop with sales placed just now (the CLI reads the system clock): one
    pricey copy, three cheap ones, a cancelled order, and a book sold then deleted."""
    path = tmp_path / "shop.db"
    shutil.copyfile(migrated_db, path)

    async def place() -> None:
        clock = ManualClock(datetime.now(UTC))
        async with build_shop(sqlite_url(path), clock=clock) as shop:
            buyer = await Buyer.create(shop, clock)
            pricey = await stocked_book(shop, "Pricey", price="50.00", stock=4)
            cheap = await stocked_book(shop, "Cheap", price="10.00", stock=20)
            gone = await stocked_book(shop, "Gone", price="1.25", stock=20)
            now = clock.now()
            await buyer.order(now, (pricey, 1), (cheap, 3))
            await buyer.order(now, (cheap, 9), status=OrderStatus.CANCELLED)
            await buyer.order(now, (gone, 2))
            await shop.catalog.delete_book(ADMIN, gone.id)

    asyncio.run(place())
    return Cli(sqlite_url(path))


def test_report_sales_prints_the_figures(cli: Cli) -> None:
    """The summary table shows revenue, orders and average order value, cancelled excluded."""
    out = cli.ok("report", "sales", "--period", "month").stdout
    assert "Revenue        82.50" in out
    assert "Orders         2" in out
    assert "Average order  41.25" in out


def test_report_sales_json_is_the_api_shape(cli: Cli) -> None:
    """--json prints the HTTP API's object, money as numbers rounded to cents."""
    found = cli.json("report", "sales", "--tz", "UTC")
    assert {k: found[k] for k in ("period", "revenue", "order_count", "aov")} == {
        "period": "today",
        "revenue": 82.5,
        "order_count": 2,
        "aov": 41.25,
    }
    assert found["time_zone"] == "UTC"


def test_report_top_ranks_by_revenue_or_volume(cli: Cli) -> None:
    """--by volume reorders the table; a deleted book shows "-" for its id."""
    by_revenue = cli.ok("report", "top").stdout.splitlines()
    by_volume = cli.ok("report", "top", "--by", "volume", "--limit", "2").stdout.splitlines()
    assert by_revenue[0].split() == ["#", "BOOK", "TITLE", "AUTHOR", "UNITS", "REVENUE"]
    assert [line.split()[2] for line in by_revenue[1:]] == ["Pricey", "Cheap", "Gone"]
    assert by_revenue[3].split()[:3] == ["3", "-", "Gone"]
    assert [line.split()[2] for line in by_volume[1:]] == ["Cheap", "Gone"]


def test_report_top_json_lists_the_deleted_book_with_a_null_id(cli: Cli) -> None:
    """--json items carry book_id (null once deleted), title, author, revenue and units."""
    found = cli.json("report", "top", "--by", "volume")
    assert found["sort_by"] == "volume"
    assert [
        (i["book_id"], i["title"], i["units_sold"], i["total_revenue"]) for i in found["items"]
    ] == [
        (2, "Cheap", 3, 30.0),
        (None, "Gone", 2, 2.5),
        (1, "Pricey", 1, 50.0),
    ]


def test_report_low_stock_prints_the_books_and_the_total(cli: Cli) -> None:
    """Books at or below the threshold, fewest copies first, then how many there are."""
    out = cli.ok("report", "low-stock", "--threshold", "17").stdout.splitlines()
    assert out[0].split() == ["BOOK", "STOCK", "TITLE", "AUTHOR"]
    assert [line.split()[:3] for line in out[1:-1]] == [["1", "3", "Pricey"], ["2", "17", "Cheap"]]
    assert out[-1] == "2 books at or below 17 copies"
    found = cli.json("report", "low-stock", "--threshold", "3")
    assert (found["threshold"], found["total_low_stock"]) == (3, 1)


def test_report_refuses_an_unknown_time_zone(cli: Cli) -> None:
    """A bad --tz is one clean VALIDATION_ERROR line, exit code 1."""
    result = cli("report", "sales", "--tz", "Mars/Olympus")
    assert result.code == 1
    assert result.stderr.startswith("error: VALIDATION_ERROR")
