"""``bookshop orders``: list orders, move one along (ship, deliver, cancel), and settle
checkouts a crash left pending.

The operator acts as :meth:`Principal.system` (an admin at a trusted console). Examples::

    bookshop orders list --status confirmed
    bookshop orders list --user 7 --json
    bookshop orders ship 42
    bookshop orders deliver 42
    bookshop orders cancel 43              # its stock goes back
    bookshop orders recover --older-than-minutes 30
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from bookshop_adapters.bootstrap import Shop
from bookshop_core.commerce import ListOrders, Order, OrderStatus, RecoveryReport, SetOrderStatus
from bookshop_core.convert import unstructure
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from bookshop_core.kernel.principal import Principal
from bookshop_examples.cli._support import CliState, echo_json, json_option

__all__ = ["orders"]

#: The statuses an order is listed with (``pending`` is internal: see ``recover``).
_LISTED_STATUSES = [s.value for s in OrderStatus if s is not OrderStatus.PENDING]


@click.group()
def orders() -> None:
    """List orders, move them along, settle interrupted checkouts.

    An order is confirmed when paid, then shipped, then delivered; a confirmed order can be
    cancelled instead (its stock goes back). A declined payment is kept as a payment_failed
    order.
    """


def _echo_orders(page: Page[Order]) -> None:
    if page.items:
        click.echo(f"{'ID':>6}  {'STATUS':<14} {'CREATED':<25} {'USER':>6} {'TOTAL':>10}  ITEMS")
    for order in page.items:
        created = order.created_at.isoformat(timespec="seconds")
        items = ", ".join(f"{line.quantity} x {line.title}" for line in order.items)
        click.echo(
            f"{order.id:>6}  {order.status.value:<14} {created:<25} {order.user_id:>6} "
            f"{order.total:>10.2f}  {items}"
        )
    noun = "order" if page.total == 1 else "orders"
    click.echo(f"page {page.page} of {max(page.total_pages, 1)}, {page.total} {noun}")


def _order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "status": order.status.value,
        "user_id": order.user_id,
        "created_at": unstructure(order.created_at),
        "updated_at": unstructure(order.updated_at),
        "total": unstructure(order.total),
        "items": [
            {
                "book_id": line.book_id,
                "title": line.title,
                "author": line.author,
                "quantity": line.quantity,
                "unit_price": unstructure(line.unit_price),
            }
            for line in order.items
        ],
        "payment_reference": order.payment_reference,
        "failure_reason": order.failure_reason,
    }


@orders.command("list")
@click.option("--status", type=click.Choice(_LISTED_STATUSES), help="Only this status.")
@click.option("--user", "user_id", type=click.IntRange(min=1), help="Only this buyer's orders.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--size",
    type=click.IntRange(1, MAX_PAGE_SIZE),
    default=DEFAULT_PAGE_SIZE,
    show_default=True,
)
@json_option
@click.pass_obj
def list_orders(
    state: CliState, status: str | None, user_id: int | None, page: int, size: int, as_json: bool
) -> None:
    """List orders, newest first (every buyer and status unless filtered)."""
    query = ListOrders(
        page=page,
        size=size,
        status=None if status is None else OrderStatus(status),
        user_id=user_id,
    )
    found = state.run(lambda shop: shop.orders.list_all(Principal.system(), query))
    if as_json:
        echo_json(
            {
                "items": [_order_json(order) for order in found.items],
                "total": found.total,
                "page": found.page,
                "size": found.size,
                "total_pages": found.total_pages,
            }
        )
    else:
        _echo_orders(found)


def _move(state: CliState, order_id: int, status: OrderStatus) -> None:
    command = SetOrderStatus(status=status)

    async def run(shop: Shop) -> Order:
        return await shop.orders.set_status(Principal.system(), order_id, command)

    moved = state.run(run)
    click.echo(f"Order {moved.id} is {moved.status.value}.")


@orders.command()
@click.argument("order_id", type=int)
@click.pass_obj
def ship(state: CliState, order_id: int) -> None:
    """Mark the confirmed order ORDER_ID as shipped."""
    _move(state, order_id, OrderStatus.SHIPPED)


@orders.command()
@click.argument("order_id", type=int)
@click.pass_obj
def deliver(state: CliState, order_id: int) -> None:
    """Mark the shipped order ORDER_ID as delivered."""
    _move(state, order_id, OrderStatus.DELIVERED)


@orders.command()
@click.argument("order_id", type=int)
@click.pass_obj
def cancel(state: CliState, order_id: int) -> None:
    """Cancel the confirmed order ORDER_ID; its stock goes back (refund the payment with
    your payment provider)."""
    _move(state, order_id, OrderStatus.CANCELLED)


@orders.command()
@click.option(
    "--older-than-minutes",
    type=click.IntRange(min=1),
    help="Only checkouts pending for longer than this (default: the shop's checkout "
    "pending timeout, 15 minutes); keep it above the longest payment call.",
)
@click.pass_obj
def recover(state: CliState, older_than_minutes: int | None) -> None:
    """Settle checkouts a crash left pending between reserving the stock and recording the
    payment: each is confirmed when the payment gateway says it charged the order, else
    failed (stock and cart lines given back). At most 100 per run; safe to run at any
    time, and several at once.
    """
    older_than = None if older_than_minutes is None else timedelta(minutes=older_than_minutes)

    async def run(shop: Shop) -> RecoveryReport:
        return await shop.orders.recover_pending(Principal.system(), older_than=older_than)

    report = state.run(run)
    if not report.confirmed and not report.failed:
        click.echo("No pending checkout to settle.")
        return
    click.echo(
        f"Settled {len(report.confirmed) + len(report.failed)} pending checkouts: "
        f"confirmed {_ids(report.confirmed)}; failed {_ids(report.failed)}."
    )


def _ids(ids: tuple[int, ...]) -> str:
    return ", ".join(str(i) for i in ids) if ids else "none"
