"""Contract: stock is set or adjusted atomically, never below 0; restocks raise an event."""

from __future__ import annotations

from typing import Any

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import add_book
from bookshop_adapters.testing.snapshot import snapshot
from bookshop_core.catalog.commands import MAX_STOCK, AdjustStock, SetStock
from bookshop_core.catalog.entities import Book, BookRestocked
from bookshop_core.errors import Conflict, NotFound, ValidationError
from bookshop_core.kernel.principal import Principal

__all__ = ["StockContract"]


class _Refused(Exception):
    """Raised by an in-transaction handler to force a rollback."""


def record_restocks(shop: Shop) -> list[BookRestocked]:
    """Subscribe to :class:`BookRestocked` after commit; the list fills as events arrive."""
    seen: list[BookRestocked] = []

    async def handler(event: BookRestocked) -> None:
        seen.append(event)

    shop.events.subscribe(BookRestocked, handler)
    return seen


@pytest.mark.asyncio
class StockContract:
    """Stock: absolute and relative changes, the floor at 0, and the restock event."""

    async def test_new_book_has_no_stock(self, shop: Shop) -> None:
        """A book starts with stock 0 and is not in stock."""
        book = await shop.catalog.get_book((await add_book(shop)).id)
        assert (book.stock_quantity, book.in_stock) == (0, False)

    async def test_set_stock_sets_an_absolute_quantity(self, shop: Shop, admin: Principal) -> None:
        """``set_stock`` replaces the quantity and returns the book as stored."""
        book = await add_book(shop)
        first = await shop.catalog.set_stock(admin, book.id, SetStock(quantity=5))
        second = await shop.catalog.set_stock(admin, book.id, SetStock(quantity=2))
        assert (first.stock_quantity, second.stock_quantity) == (5, 2)
        stored = await shop.catalog.get_book(book.id)
        assert (stored.stock_quantity, stored.in_stock) == (2, True)
        assert stored == second

    async def test_set_stock_to_zero(self, shop: Shop, admin: Principal) -> None:
        """Stock can be set back to 0; the book is then out of stock."""
        book = await add_book(shop, stock=4)
        await shop.catalog.set_stock(admin, book.id, SetStock(quantity=0))
        assert (await shop.catalog.get_book(book.id)).in_stock is False

    async def test_set_stock_to_the_maximum(self, shop: Shop, admin: Principal) -> None:
        """The largest allowed stock is stored exactly."""
        book = await add_book(shop)
        await shop.catalog.set_stock(admin, book.id, SetStock(quantity=MAX_STOCK))
        assert (await shop.catalog.get_book(book.id)).stock_quantity == MAX_STOCK

    async def test_stock_changes_keep_every_other_field(self, shop: Shop, admin: Principal) -> None:
        """Changing stock changes the stock and nothing else about the book."""
        book = await add_book(shop, isbn="0-306-40615-2", description="Spice.")
        changed = await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=3))
        assert changed.stock_quantity == 3
        book.stock_quantity = 3  # the only expected difference
        assert changed == book

    async def test_adjust_stock_adds_and_removes(self, shop: Shop, admin: Principal) -> None:
        """A positive delta adds to the stock, a negative one takes from it."""
        book = await add_book(shop, stock=10)
        added = await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=5))
        removed = await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=-12))
        assert (added.stock_quantity, removed.stock_quantity) == (15, 3)
        assert (await shop.catalog.get_book(book.id)).stock_quantity == 3

    async def test_adjust_stock_down_to_exactly_zero(self, shop: Shop, admin: Principal) -> None:
        """Taking away exactly the whole stock is allowed."""
        book = await add_book(shop, stock=4)
        result = await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=-4))
        assert result.stock_quantity == 0

    async def test_adjust_below_zero_is_insufficient_stock(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A delta that would make stock negative is BOOK_INSUFFICIENT_STOCK; nothing changes."""
        book = await add_book(shop, stock=2)
        before = await snapshot(shop)
        with pytest.raises(Conflict) as caught:
            await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=-3))
        assert caught.value.code == "BOOK_INSUFFICIENT_STOCK"
        assert await snapshot(shop) == before

    async def test_adjust_above_the_maximum_is_refused(self, shop: Shop, admin: Principal) -> None:
        """A delta that would take stock above the maximum is VALIDATION_ERROR on ``delta``,
        a domain rule's refusal (flat on the wire)."""
        book = await add_book(shop)
        await shop.catalog.set_stock(admin, book.id, SetStock(quantity=MAX_STOCK))
        before = await snapshot(shop)
        for delta in (1, MAX_STOCK):
            with pytest.raises(ValidationError) as caught:
                await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=delta))
            assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", "delta")
            assert caught.value.rule
        assert await snapshot(shop) == before

    async def test_set_stock_of_unknown_book_is_not_found(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Setting the stock of a book that does not exist is BOOK_NOT_FOUND on ``book_id``."""
        with pytest.raises(NotFound) as caught:
            await shop.catalog.set_stock(admin, 31337, SetStock(quantity=1))
        assert (caught.value.code, caught.value.field) == ("BOOK_NOT_FOUND", "book_id")

    async def test_adjust_stock_of_unknown_book_is_not_found(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Adjusting the stock of a book that does not exist is BOOK_NOT_FOUND on ``book_id``."""
        with pytest.raises(NotFound) as caught:
            await shop.catalog.adjust_stock(admin, 31337, AdjustStock(delta=1))
        assert (caught.value.code, caught.value.field) == ("BOOK_NOT_FOUND", "book_id")

    # -- the restock event ----------------------------------------------------------------

    async def test_set_stock_from_zero_announces_a_restock(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Stock going from 0 to above 0 delivers one BookRestocked after the commit."""
        book = await add_book(shop, "Dune")
        seen = record_restocks(shop)
        await shop.catalog.set_stock(admin, book.id, SetStock(quantity=3))
        assert seen == [BookRestocked(book_id=book.id, title="Dune", stock_quantity=3)]

    async def test_adjust_stock_from_zero_announces_a_restock(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A positive adjustment of an empty stock is a restock too."""
        book = await add_book(shop, "Dune")
        seen = record_restocks(shop)
        await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=2))
        assert seen == [BookRestocked(book_id=book.id, title="Dune", stock_quantity=2)]

    async def test_restock_is_delivered_after_the_change_is_committed(
        self, shop: Shop, admin: Principal
    ) -> None:
        """An after-commit handler already sees the new stock through a new transaction."""
        book = await add_book(shop)
        stock_seen_by_handler: list[int] = []

        async def handler(event: BookRestocked) -> None:
            stock_seen_by_handler.append(
                (await shop.catalog.get_book(event.book_id)).stock_quantity
            )

        shop.events.subscribe(BookRestocked, handler)
        await shop.catalog.set_stock(admin, book.id, SetStock(quantity=6))
        assert stock_seen_by_handler == [6]

    async def test_stock_change_between_positive_amounts_announces_nothing(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Changing a stock that was already above 0 is no restock."""
        book = await add_book(shop, stock=2)
        seen = record_restocks(shop)
        await shop.catalog.set_stock(admin, book.id, SetStock(quantity=9))
        await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=1))
        await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=-5))
        assert seen == []

    async def test_stock_change_to_or_at_zero_announces_nothing(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Emptying a stock, or setting an empty stock to 0, is no restock."""
        book = await add_book(shop, stock=2)
        seen = record_restocks(shop)
        await shop.catalog.set_stock(admin, book.id, SetStock(quantity=0))
        await shop.catalog.set_stock(admin, book.id, SetStock(quantity=0))
        await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=0))
        assert seen == []

    async def test_each_restock_is_announced_once(self, shop: Shop, admin: Principal) -> None:
        """Emptying and refilling a stock twice announces two restocks, in order."""
        book = await add_book(shop, "Dune")
        seen = record_restocks(shop)
        for quantity in (1, 0, 4):
            await shop.catalog.set_stock(admin, book.id, SetStock(quantity=quantity))
        assert [event.stock_quantity for event in seen] == [1, 4]

    async def test_failed_stock_change_announces_nothing(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A refused adjustment of an empty stock delivers no event."""
        book = await add_book(shop)
        seen = record_restocks(shop)
        with pytest.raises(Conflict):
            await shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=-1))
        assert seen == []

    async def test_rolled_back_restock_is_not_announced_and_not_stored(
        self, shop: Shop, admin: Principal
    ) -> None:
        """When the transaction of a restock rolls back, no event is delivered, no stock kept."""
        book = await add_book(shop)
        seen = record_restocks(shop)
        handled: list[Any] = []

        async def refuse(event: BookRestocked, uow: object) -> None:
            handled.append(event)
            raise _Refused("the in-transaction work failed")

        shop.events.subscribe_in_transaction(BookRestocked, refuse)
        before = await snapshot(shop)
        with pytest.raises(_Refused):
            await shop.catalog.set_stock(admin, book.id, SetStock(quantity=5))
        assert len(handled) == 1  # the restock was recorded and handled in the transaction ...
        assert seen == []  # ... but never announced, because it never committed
        assert await snapshot(shop) == before
        stored: Book = await shop.catalog.get_book(book.id)
        assert stored.stock_quantity == 0
