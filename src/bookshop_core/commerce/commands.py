"""Commerce commands: what a caller asks for, checked on construction (every bad field in one
``ValidationError``). Build them directly, or from untrusted JSON or query strings with
``bookshop_core.structure``."""

from __future__ import annotations

from datetime import date
from typing import Any

from attrs import field, frozen

from bookshop_core.catalog.commands import MAX_STOCK
from bookshop_core.commerce.entities import OrderStatus
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, PageRequest
from bookshop_core.kernel.validation import (
    Problems,
    check_fields,
    check_flag,
    check_id_field,
    check_optional_id,
    check_page,
    check_page_size,
    install_normalisers,
    integer,
    rule,
)

__all__ = [
    "IDEMPOTENCY_KEY_MAX",
    "AddToCart",
    "Checkout",
    "ListOrders",
    "SetOrderStatus",
    "SetQuantity",
]

#: The longest idempotency key accepted (the ``Idempotency-Key`` header's value).
IDEMPOTENCY_KEY_MAX = 255


def _check_key(problems: Problems, name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        problems.add(name, "must be a string", "type_error")
    elif not 1 <= len(value) <= IDEMPOTENCY_KEY_MAX:
        problems.add(name, f"must be 1 to {IDEMPOTENCY_KEY_MAX} characters")
    elif not value.isprintable() or not value.isascii():
        problems.add(name, "must be printable ASCII")


def _status(*, nullable: bool) -> Any:
    def normalise(value: Any) -> Any:
        try:
            return OrderStatus(value) if isinstance(value, str) else value
        except ValueError:
            return value

    def check(problems: Problems, name: str, value: Any) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, OrderStatus) or value is OrderStatus.PENDING:
            allowed = ", ".join(s.value for s in OrderStatus if s is not OrderStatus.PENDING)
            problems.add(name, f"must be one of: {allowed}", "enum")

    return rule(check, normalise)


def _check_date(problems: Problems, name: str, value: Any) -> None:
    if value is not None and not isinstance(value, date):
        problems.add(name, "must be a date", "type_error")


_QUANTITY = integer(1, MAX_STOCK)


@frozen
class AddToCart:
    """Put ``quantity`` copies of a book in the cart (a book is one line)."""

    book_id: int = field(metadata=rule(check_id_field))
    quantity: int = field(default=1, metadata=_QUANTITY)

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen
class SetQuantity:
    """Change a cart line's quantity."""

    quantity: int = field(metadata=_QUANTITY)

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen
class Checkout:
    """Buy the whole cart.

    Args:
        idempotency_key: Makes a retry return the same order instead of buying again
            (scoped to the user, 1..255 printable ASCII characters).
        force_payment_failure: Ask a test payment gateway to decline (the demo gateway
            honours it; real gateways ignore it).
    """

    idempotency_key: str | None = field(default=None, metadata=rule(_check_key))
    force_payment_failure: bool = field(default=False, metadata=rule(check_flag))

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen(field_transformer=install_normalisers)
class SetOrderStatus:
    """Move an order along (admins): shipped, delivered or cancelled."""

    status: OrderStatus = field(metadata=_status(nullable=False))

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen(field_transformer=install_normalisers)
class ListOrders:
    """Which orders to list, newest first. ``date_from``/``date_to`` are inclusive days in
    UTC; ``user_id`` is for admins (a user always lists their own)."""

    page: int = field(default=1, metadata=rule(check_page))
    size: int = field(default=DEFAULT_PAGE_SIZE, metadata=rule(check_page_size))
    status: OrderStatus | None = field(default=None, metadata=_status(nullable=True))
    user_id: int | None = field(default=None, metadata=rule(check_optional_id))
    date_from: date | None = field(default=None, metadata=rule(_check_date))
    date_to: date | None = field(default=None, metadata=rule(_check_date))

    def __attrs_post_init__(self) -> None:
        problems = check_fields(self)
        if (
            self.date_from is not None
            and self.date_to is not None
            and not problems.failed("date_from")
            and not problems.failed("date_to")
            and self.date_from > self.date_to
        ):
            problems.add("date_to", "must not be before date_from")
        problems.raise_if_any()
        PageRequest(self.page, self.size)  # the depth limit

    @property
    def page_request(self) -> PageRequest:
        return PageRequest(self.page, self.size)
