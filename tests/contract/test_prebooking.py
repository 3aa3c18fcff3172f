"""Pre-booking on every backend: the shared contract in
``bookshop_adapters.testing.contract.prebooking``, and the restock broadcast's statement budget
on the SQL backends."""

from __future__ import annotations

import pytest

from bookshop_adapters.testing.builders import ADMIN, add_book
from bookshop_adapters.testing.contract.prebooking import PreBookingContract, add_pre_bookers
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.catalog.commands import SetStock
from bookshop_core.kernel.clock import ManualClock


class TestPreBooking(PreBookingContract):
    """Pre-book out of stock only, once while waiting; list, cancel; the restock broadcast."""


@pytest.mark.bookshop_backends("sqlite", "postgres")
async def test_a_restock_costs_the_same_statements_for_1_and_500_prebookers(
    make_shop: MakeShop, clock: ManualClock
) -> None:
    """Notify, read the addresses, queue the messages: the restock's statement count does not
    grow with the number of pre-bookers."""
    from bookshop_adapters.sqlalchemy import count_statements

    async with make_shop() as shop:
        readers = await add_pre_bookers(shop, clock, 500)
        counts = []
        for size in (1, 500):
            book = await add_book(shop, f"Book {size}")
            for reader in readers[:size]:
                await shop.prebookings.prebook(reader, book.id)
            with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
                await shop.catalog.set_stock(ADMIN, book.id, SetStock(quantity=1))
            counts.append(counted.count)
    assert counts[0] == counts[1], counts
