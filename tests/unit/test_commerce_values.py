"""Commerce values without a store: the order state machine, cart fingerprints, commands."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bookshop_core import structure
from bookshop_core.commerce import (
    TRANSITIONS,
    AddToCart,
    BookSummary,
    Cart,
    CartLine,
    Checkout,
    ListOrders,
    OrderInsufficientStock,
    OrderStatus,
    SetOrderStatus,
    ShortLine,
    cart_fingerprint,
)
from bookshop_core.errors import ValidationError

ALLOWED = {
    ("pending", "confirmed"),
    ("pending", "payment_failed"),
    ("confirmed", "shipped"),
    ("confirmed", "cancelled"),
    ("shipped", "delivered"),
}


@pytest.mark.parametrize("source", list(OrderStatus))
@pytest.mark.parametrize("target", list(OrderStatus))
def test_the_transition_table_allows_exactly_the_documented_moves(
    source: OrderStatus, target: OrderStatus
) -> None:
    """confirmed -> shipped -> delivered, confirmed -> cancelled, pending -> paid or failed."""
    assert source.can_become(target) is ((source.value, target.value) in ALLOWED)


def test_terminal_statuses_go_nowhere() -> None:
    """Delivered, cancelled and payment_failed orders never change again."""
    for status in (OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.PAYMENT_FAILED):
        assert TRANSITIONS[status] == frozenset()


def test_only_paid_uncancelled_orders_count_as_sales() -> None:
    """Revenue and the purchase gate count confirmed, shipped and delivered orders."""
    assert {s for s in OrderStatus if s.counts_as_sale} == {
        OrderStatus.CONFIRMED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    }


def test_a_cart_fingerprint_ignores_line_order_but_not_quantities() -> None:
    """The same books and quantities in any order are one cart; another quantity is not."""
    assert cart_fingerprint([(1, 2), (3, 1)]) == cart_fingerprint([(3, 1), (1, 2)])
    assert cart_fingerprint([(1, 2)]) != cart_fingerprint([(1, 3)])


def test_insufficient_stock_lists_each_short_line() -> None:
    """The error's details carry book_id, title, requested and available per line."""
    error = OrderInsufficientStock([ShortLine(7, "Dune", 3, 1)])
    assert error.to_dict()["items"] == [
        {"book_id": 7, "title": "Dune", "requested": 3, "available": 1}
    ]


@pytest.mark.parametrize("quantity", [0, -1, True, "2", 1.5, 10**12])
def test_a_cart_quantity_is_a_positive_integer(quantity: object) -> None:
    """Zero, negatives, booleans, strings, floats and absurd sizes are refused."""
    with pytest.raises(ValidationError) as caught:
        AddToCart(book_id=1, quantity=quantity)  # type: ignore[arg-type]
    assert caught.value.errors[0].loc == ("quantity",)


@pytest.mark.parametrize("book_id", [None, 0, True, "7"])
def test_a_cart_book_id_is_required_and_a_store_id(book_id: object) -> None:
    """A missing (``None``), zero, boolean or text book id is refused when built in Python."""
    with pytest.raises(ValidationError) as caught:
        AddToCart(book_id=book_id)  # type: ignore[arg-type]
    assert caught.value.errors[0].loc == ("book_id",)


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "a\nb", 7])
def test_an_idempotency_key_is_1_to_255_printable_ascii(key: object) -> None:
    """Empty, too long, non-ASCII, control characters and non-strings are refused."""
    with pytest.raises(ValidationError):
        Checkout(idempotency_key=key)  # type: ignore[arg-type]


def test_an_admin_cannot_ask_for_pending() -> None:
    """``pending`` is internal to checkout: no caller moves an order there."""
    with pytest.raises(ValidationError):
        SetOrderStatus(status=OrderStatus.PENDING)


def test_order_listing_reads_query_strings() -> None:
    """Status and days arrive as strings; date_to before date_from is refused."""
    command = structure(
        {"status": "shipped", "date_from": "2026-01-01", "date_to": "2026-01-31"},
        ListOrders,
        strict=False,
    )
    assert command.status is OrderStatus.SHIPPED
    assert command.date_from == date(2026, 1, 1)
    with pytest.raises(ValidationError):
        ListOrders(date_from=date(2026, 2, 1), date_to=date(2026, 1, 1))


def test_cart_totals_are_exact_at_current_prices() -> None:
    """Line totals, total items and the cart total are exact Decimals; availability follows
    the book's stock now."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cheap = BookSummary(1, "A", "X", Decimal("0.10"), None, stock_quantity=5)
    short = BookSummary(2, "B", "Y", Decimal("19.99"), None, stock_quantity=1)
    cart = Cart(
        7,
        (CartLine(1, 7, 1, 3, now, cheap), CartLine(2, 7, 2, 2, now, short)),
    )
    assert cart.lines[0].line_total == Decimal("0.30")
    assert cart.total_items == 5
    assert cart.total_price == Decimal("40.28")
    assert [line.available for line in cart.lines] == [True, False]
