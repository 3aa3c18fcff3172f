"""``bookshop orders list|ship|deliver|cancel|recover``, run as a real process on a SQLite
file whose orders were made in-process through the shop (checkout with the demo gateway, or a
gateway that plays a crash mid-payment).

What the transitions and recovery do is the commerce contract's; here: the commands reach the
use cases as the operator (``Principal.system()``), print what happened, and refuse cleanly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from bookshop_adapters.bootstrap import build_shop
from bookshop_adapters.testing.contract.commerce import (
    CrashingGateway,
    add_buyers,
    checkout,
    fill_cart,
    stocked_book,
)
from bookshop_core import ManualClock, Principal
from bookshop_core.catalog.entities import Book
from tests.examples.test_cli_commands import Cli, cli, migrated_db

__all__ = ["cli", "migrated_db"]  # the CLI on a fresh migrated database, shared


@attrs.frozen
class Seeded:
    """What :func:`seed_orders` made: order ids by name, buyer ids, the book's id."""

    orders: dict[str, int]
    buyers: tuple[int, int]
    book_id: int


def seed_orders(database_url: str, *, crashed: bool = False) -> Seeded:
    """Two buyers and a book (10.00, 10 in stock); ``first`` (2 copies, buyer 1) an hour
    ago, ``second`` (1 copy, buyer 2) half an hour ago, both confirmed; with ``crashed``, a
    third checkout (3 copies, buyer 1) left pending an hour ago by a crash mid-payment."""

    async def run() -> Seeded:
        now = datetime.now(UTC)
        clock = ManualClock(now - timedelta(hours=1))
        async with build_shop(database_url, clock=clock) as shop:
            reader, other = await add_buyers(shop, clock, 2)
            book = await stocked_book(shop, "Dune", stock=10)
            await fill_cart(shop, reader, (book, 2))
            first = await shop.orders.checkout(reader, checkout())
            clock.set(now - timedelta(minutes=30))
            await fill_cart(shop, other, (book, 1))
            second = await shop.orders.checkout(other, checkout())
        orders = {"first": first.id, "second": second.id}
        if crashed:
            orders["pending"] = await _crash_a_checkout(database_url, reader, book, now)
        return Seeded(orders, (reader.user_id, other.user_id), book.id)

    return asyncio.run(run())


async def _crash_a_checkout(database_url: str, buyer: Principal, book: Book, now: datetime) -> int:
    """Check out 3 copies an hour ago with a gateway that dies mid-payment; the pending
    order's id."""
    clock = ManualClock(now - timedelta(hours=1))
    gateway = CrashingGateway(charged=False)
    async with build_shop(database_url, clock=clock, payment_gateway=gateway) as shop:
        await fill_cart(shop, buyer, (book, 3))
        with pytest.raises(asyncio.CancelledError):
            await shop.orders.checkout(buyer, checkout())
        async with shop.unit_of_work(read_only=True) as uow:
            [pending] = await uow.orders.pending_before(now, 10)
    return pending


def ids_and_statuses(cli: Cli, *args: str) -> list[tuple[int, str]]:
    return [(o["id"], o["status"]) for o in cli.json("orders", "list", *args)["items"]]


def stock_of(cli: Cli, book_id: int) -> int:
    [book] = [b for b in cli.json("book", "list")["items"] if b["id"] == book_id]
    stock: int = book["stock_quantity"]
    return stock


def lines(stdout: str) -> Sequence[str]:
    return stdout.splitlines()


def test_list_prints_every_order_newest_first(cli: Cli) -> None:
    """orders list: a header, one row per order (id, status, buyer, total, items) newest
    first, and the page line."""
    seeded = seed_orders(cli.database_url)
    out = lines(cli.ok("orders", "list").stdout)
    assert out[0].split() == ["ID", "STATUS", "CREATED", "USER", "TOTAL", "ITEMS"]
    second, first = out[1].split(), out[2].split()
    assert (second[0], second[1], second[3], second[4]) == (
        str(seeded.orders["second"]),
        "confirmed",
        str(seeded.buyers[1]),
        "10.00",
    )
    assert out[2].endswith("2 x Dune")
    assert (first[0], first[4]) == (str(seeded.orders["first"]), "20.00")
    assert out[3] == "page 1 of 1, 2 orders"


def test_list_as_json_with_filters(cli: Cli) -> None:
    """--json prints the page; --user and --status filter it."""
    seeded = seed_orders(cli.database_url)
    found = cli.json("orders", "list")
    assert (found["total"], found["page"], found["total_pages"]) == (2, 1, 1)
    item = found["items"][1]
    assert (item["id"], item["user_id"], item["total"]) == (
        seeded.orders["first"],
        seeded.buyers[0],
        "20.00",
    )
    assert item["items"] == [
        {
            "book_id": seeded.book_id,
            "title": "Dune",
            "author": "Author of Dune",
            "quantity": 2,
            "unit_price": "10.00",
        }
    ]
    assert item["payment_reference"].startswith("demo_")
    by_user = ids_and_statuses(cli, "--user", str(seeded.buyers[1]))
    assert by_user == [(seeded.orders["second"], "confirmed")]
    assert ids_and_statuses(cli, "--status", "shipped") == []


def test_an_empty_list_says_so(cli: Cli) -> None:
    """No orders: just the page line."""
    assert cli.ok("orders", "list").stdout == "page 1 of 1, 0 orders\n"


def test_ship_then_deliver(cli: Cli) -> None:
    """ship and deliver move a confirmed order along, one line each."""
    seeded = seed_orders(cli.database_url)
    order = seeded.orders["first"]
    assert cli.ok("orders", "ship", str(order)).stdout == f"Order {order} is shipped.\n"
    assert cli.ok("orders", "deliver", str(order)).stdout == f"Order {order} is delivered.\n"
    assert ids_and_statuses(cli, "--status", "delivered") == [(order, "delivered")]


def test_cancel_returns_the_stock(cli: Cli) -> None:
    """cancel: the order is cancelled and its copies are back in stock."""
    seeded = seed_orders(cli.database_url)
    assert stock_of(cli, seeded.book_id) == 7
    order = seeded.orders["first"]
    assert cli.ok("orders", "cancel", str(order)).stdout == f"Order {order} is cancelled.\n"
    assert stock_of(cli, seeded.book_id) == 9


def test_an_invalid_transition_is_one_error_line(cli: Cli) -> None:
    """deliver of a confirmed order: exit 1, ``error: ORDER_INVALID_TRANSITION: ...``; the
    order is unchanged."""
    seeded = seed_orders(cli.database_url)
    result = cli("orders", "deliver", str(seeded.orders["first"]))
    assert result.code == 1
    assert result.stderr.startswith("error: ORDER_INVALID_TRANSITION: ")
    assert len(result.stderr.splitlines()) == 1
    assert (seeded.orders["first"], "confirmed") in ids_and_statuses(cli)


def test_an_unknown_order_is_one_error_line(cli: Cli) -> None:
    """An order that does not exist: exit 1, ``error: ORDER_NOT_FOUND: ...``."""
    result = cli("orders", "ship", "999")
    assert (result.code, result.stderr) == (1, "error: ORDER_NOT_FOUND: Order 999 not found\n")


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--status", "pending"),
        ("list", "--user", "0"),
        ("ship", "many"),
        ("recover", "--older-than-minutes", "0"),
    ],
)
def test_bad_arguments_are_usage_errors(cli: Cli, args: tuple[str, ...]) -> None:
    """An unknown status, a bad id or a non-positive age: exit 2 with click's usage error."""
    result = cli("orders", *args)
    assert result.code == 2
    assert "Error: Invalid value" in result.stderr


def test_recover_fails_a_checkout_a_crash_left_pending(cli: Cli) -> None:
    """recover: the pending checkout older than the timeout is failed (the demo gateway of a
    new process never charged it), its stock comes back; a second run finds nothing."""
    seeded = seed_orders(cli.database_url, crashed=True)
    pending = seeded.orders["pending"]
    assert stock_of(cli, seeded.book_id) == 4
    assert pending not in [order_id for order_id, _ in ids_and_statuses(cli)]
    out = cli.ok("orders", "recover").stdout
    assert out == f"Settled 1 pending checkouts: confirmed none; failed {pending}.\n"
    assert (pending, "payment_failed") in ids_and_statuses(cli)
    assert stock_of(cli, seeded.book_id) == 7
    assert cli.ok("orders", "recover").stdout == "No pending checkout to settle.\n"


def test_recover_leaves_younger_checkouts_alone(cli: Cli) -> None:
    """--older-than-minutes above the pending checkout's age: nothing settled."""
    seeded = seed_orders(cli.database_url, crashed=True)
    out = cli.ok("orders", "recover", "--older-than-minutes", "120").stdout
    assert out == "No pending checkout to settle.\n"
    assert stock_of(cli, seeded.book_id) == 4
