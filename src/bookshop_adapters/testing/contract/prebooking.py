"""Contract: pre-booking and the restock broadcast, on every backend.

A user pre-books a book only while its stock is 0, at most once while waiting; lists and
cancels their own. A restock (stock 0 -> above 0) marks every waiting pre-booking notified and
queues one back-in-stock email per pre-booker in the same transaction: a rolled-back restock
queues nothing, a second restock notifies nobody again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Sequence
from datetime import timedelta

import pytest

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.mail import MemoryMailer
from bookshop_adapters.testing.builders import ADMIN, add_book
from bookshop_adapters.testing.contract.outbox import OUTBOX_SETTINGS, _until, template_renderer
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.catalog.commands import AdjustStock, SetStock
from bookshop_core.catalog.entities import Book, BookRestocked
from bookshop_core.errors import DomainError
from bookshop_core.identity.entities import NewUser
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.pagination import PageRequest
from bookshop_core.kernel.principal import Principal, Role
from bookshop_core.notifications import MessageKind, OutboxMessage
from bookshop_core.prebooking import PreBooking, PreBookingStatus

__all__ = ["PreBookingContract", "add_pre_bookers", "queued_messages"]


class _Refused(Exception):
    """Raised by an in-transaction handler to force a rollback."""


async def add_pre_bookers(shop: Shop, clock: ManualClock, count: int) -> list[Principal]:
    """Create ``count`` users (``reader<n>@example.com``) in one transaction, straight
    through the unit of work (no password hashing); returns their principals."""
    async with shop.unit_of_work() as uow:
        users = [
            await uow.users.add(
                NewUser(
                    email=f"reader{n}@example.com",
                    password_hash=None,
                    role=Role.USER,
                    created_at=clock.now(),
                )
            )
            for n in range(count)
        ]
        await uow.commit()
    return [Principal(user_id=user.id) for user in users]


async def queued_messages(shop: Shop) -> list[OutboxMessage]:
    """Every message in the outbox, oldest first (read page by page)."""
    found: list[OutboxMessage] = []
    async with shop.unit_of_work(read_only=True) as uow:
        number = 1
        while True:
            page = await uow.outbox.list(None, PageRequest(number, 100))
            found.extend(page.items)
            if number * 100 >= page.total:
                break
            number += 1
    return sorted(found, key=lambda m: m.id)


async def _code_of(awaitable: Awaitable[object]) -> str:
    with pytest.raises(DomainError) as caught:
        await awaitable
    return caught.value.code


async def _restock(shop: Shop, book: Book, quantity: int = 3) -> Book:
    return await shop.catalog.set_stock(ADMIN, book.id, SetStock(quantity=quantity))


async def _all_prebookings(shop: Shop, users: Sequence[Principal]) -> list[PreBooking]:
    return [p for user in users for p in await shop.prebookings.list_mine(user)]


@pytest.mark.asyncio
class PreBookingContract:
    """Pre-book only out of stock, one waiting per user and book, own list and cancel; a
    restock notifies each waiting pre-booker once, in its transaction, through the outbox."""

    # -- pre-booking ------------------------------------------------------------------------

    async def test_prebooking_an_out_of_stock_book_waits(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A pre-booking of a book with stock 0 is waiting, with the book's title and author."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        book = await add_book(shop, "Dune", author="Frank Herbert")
        prebooking = await shop.prebookings.prebook(reader, book.id)
        assert (prebooking.user_id, prebooking.book_id, prebooking.status) == (
            reader.user_id,
            book.id,
            PreBookingStatus.WAITING,
        )
        assert (prebooking.book_title, prebooking.book_author) == ("Dune", "Frank Herbert")
        assert (prebooking.created_at, prebooking.notified_at, prebooking.cancelled_at) == (
            clock.now(),
            None,
            None,
        )
        assert await shop.prebookings.list_mine(reader) == [prebooking]

    async def test_prebooking_a_book_in_stock_is_refused(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Stock above 0: PREBOOK_BOOK_IN_STOCK, and nothing is stored."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        book = await add_book(shop, stock=1)
        assert await _code_of(shop.prebookings.prebook(reader, book.id)) == "PREBOOK_BOOK_IN_STOCK"
        assert await shop.prebookings.list_mine(reader) == []

    async def test_prebooking_an_unknown_book_is_book_not_found(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """An id no book has: BOOK_NOT_FOUND."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        assert await _code_of(shop.prebookings.prebook(reader, 999_999)) == "BOOK_NOT_FOUND"

    async def test_a_second_waiting_prebooking_of_a_book_is_a_duplicate(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """One waiting pre-booking per user and book: the second is PREBOOK_DUPLICATE."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        book = await add_book(shop)
        await shop.prebookings.prebook(reader, book.id)
        assert await _code_of(shop.prebookings.prebook(reader, book.id)) == "PREBOOK_DUPLICATE"
        assert len(await shop.prebookings.list_mine(reader)) == 1

    async def test_after_cancelling_a_user_can_prebook_the_book_again(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Only a waiting pre-booking blocks a new one (the unique index is partial)."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        book = await add_book(shop)
        first = await shop.prebookings.prebook(reader, book.id)
        await shop.prebookings.cancel(reader, first.id)
        second = await shop.prebookings.prebook(reader, book.id)
        assert second.id != first.id
        assert second.status is PreBookingStatus.WAITING

    async def test_different_users_prebook_the_same_book(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The one-waiting rule is per user: others pre-book the same book."""
        readers = await add_pre_bookers(shop, clock, 2)
        book = await add_book(shop)
        for reader in readers:
            await shop.prebookings.prebook(reader, book.id)
        assert len(await _all_prebookings(shop, readers)) == 2

    async def test_two_concurrent_prebookings_by_one_user_leave_one_waiting(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Racing pre-bookings of one book by one user: one succeeds, the other is
        PREBOOK_DUPLICATE, and one pre-booking is waiting."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        book = await add_book(shop)
        outcomes = await asyncio.gather(
            shop.prebookings.prebook(reader, book.id),
            shop.prebookings.prebook(reader, book.id),
            return_exceptions=True,
        )
        made = [o for o in outcomes if isinstance(o, PreBooking)]
        refused = [o.code for o in outcomes if isinstance(o, DomainError)]
        assert (len(made), refused) == (1, ["PREBOOK_DUPLICATE"]), outcomes
        assert await shop.prebookings.list_mine(reader) == made

    async def test_a_prebooking_racing_a_restock_is_refused_or_notified(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A restock cannot slip between the stock check and the insert: the pre-booking is
        either refused (in stock) or notified by the restock, never left waiting."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        book = await add_book(shop)
        outcome, _ = await asyncio.gather(
            shop.prebookings.prebook(reader, book.id), _restock(shop, book), return_exceptions=True
        )
        mine = await shop.prebookings.list_mine(reader)
        if isinstance(outcome, DomainError):
            assert (outcome.code, mine) == ("PREBOOK_BOOK_IN_STOCK", [])
        else:
            assert [p.status for p in mine] == [PreBookingStatus.NOTIFIED]
            assert len(await queued_messages(shop)) == 1

    # -- listing and cancelling ---------------------------------------------------------------

    async def test_users_list_their_own_newest_first_in_every_status(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """``list_mine``: the caller's pre-bookings only, newest first, cancelled included."""
        reader, other = await add_pre_bookers(shop, clock, 2)
        books = [await add_book(shop, f"Book {n}") for n in range(3)]
        made = []
        for book in books:
            made.append(await shop.prebookings.prebook(reader, book.id))
            clock.advance(timedelta(minutes=1))
        await shop.prebookings.prebook(other, books[0].id)
        await shop.prebookings.cancel(reader, made[1].id)
        mine = await shop.prebookings.list_mine(reader)
        assert [p.id for p in mine] == [made[2].id, made[1].id, made[0].id]
        assert [p.status for p in mine] == [
            PreBookingStatus.WAITING,
            PreBookingStatus.CANCELLED,
            PreBookingStatus.WAITING,
        ]

    async def test_cancel_marks_the_prebooking_cancelled(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Cancelling returns the pre-booking cancelled at now; the list shows it so."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        made = await shop.prebookings.prebook(reader, (await add_book(shop)).id)
        clock.advance(timedelta(seconds=30))
        cancelled = await shop.prebookings.cancel(reader, made.id)
        assert (cancelled.status, cancelled.cancelled_at) == (
            PreBookingStatus.CANCELLED,
            clock.now(),
        )
        assert await shop.prebookings.list_mine(reader) == [cancelled]

    async def test_cancelling_twice_is_already_cancelled(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The second cancel is PREBOOK_ALREADY_CANCELLED."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        made = await shop.prebookings.prebook(reader, (await add_book(shop)).id)
        await shop.prebookings.cancel(reader, made.id)
        code = await _code_of(shop.prebookings.cancel(reader, made.id))
        assert code == "PREBOOK_ALREADY_CANCELLED"

    async def test_cancelling_another_users_or_an_unknown_prebooking_is_not_found(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Another user's pre-booking is PREBOOK_NOT_FOUND, like an unknown id; it stays."""
        reader, other = await add_pre_bookers(shop, clock, 2)
        made = await shop.prebookings.prebook(reader, (await add_book(shop)).id)
        assert await _code_of(shop.prebookings.cancel(other, made.id)) == "PREBOOK_NOT_FOUND"
        assert await _code_of(shop.prebookings.cancel(reader, 999_999)) == "PREBOOK_NOT_FOUND"
        assert await shop.prebookings.list_mine(reader) == [made]

    async def test_deleting_a_book_removes_its_prebookings(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A deleted book's pre-bookings are gone from their owners' lists."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        book = await add_book(shop)
        made = await shop.prebookings.prebook(reader, book.id)
        await shop.catalog.delete_book(ADMIN, book.id)
        assert await shop.prebookings.list_mine(reader) == []
        assert await _code_of(shop.prebookings.cancel(reader, made.id)) == "PREBOOK_NOT_FOUND"

    # -- the restock broadcast ----------------------------------------------------------------

    async def test_a_restock_notifies_every_waiting_prebooker_once(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Every waiting pre-booking becomes notified and gets one back-in-stock message;
        cancelled ones and other books' are left alone; a second restock notifies nobody."""
        readers = await add_pre_bookers(shop, clock, 4)
        book = await add_book(shop, "Dune", author="Frank Herbert")
        other_book = await add_book(shop, "Emma")
        made = [await shop.prebookings.prebook(r, book.id) for r in readers]
        await shop.prebookings.cancel(readers[3], made[3].id)
        elsewhere = await shop.prebookings.prebook(readers[0], other_book.id)
        clock.advance(timedelta(minutes=1))
        await _restock(shop, book)
        statuses = {p.id: p for p in await _all_prebookings(shop, readers)}
        for waiting in made[:3]:
            assert statuses[waiting.id].status is PreBookingStatus.NOTIFIED
            assert statuses[waiting.id].notified_at == clock.now()
        assert statuses[made[3].id].status is PreBookingStatus.CANCELLED
        assert statuses[elsewhere.id].status is PreBookingStatus.WAITING
        messages = await queued_messages(shop)
        assert sorted(m.recipients for m in messages) == [
            (f"reader{n}@example.com",) for n in range(3)
        ]
        assert {m.kind for m in messages} == {MessageKind.BACK_IN_STOCK.value}
        assert messages[0].variables == {
            "book_id": book.id,
            "title": "Dune",
            "author": "Frank Herbert",
        }
        # Out of stock and back again: nobody is waiting any more.
        await _restock(shop, book, 0)
        await _restock(shop, book, 5)
        assert len(await queued_messages(shop)) == 3

    async def test_a_restock_by_adjustment_notifies_too(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Stock going from 0 to above 0 by ``adjust_stock`` is a restock as well."""
        [reader] = await add_pre_bookers(shop, clock, 1)
        book = await add_book(shop)
        await shop.prebookings.prebook(reader, book.id)
        await shop.catalog.adjust_stock(ADMIN, book.id, AdjustStock(delta=2))
        [mine] = await shop.prebookings.list_mine(reader)
        assert mine.status is PreBookingStatus.NOTIFIED
        assert len(await queued_messages(shop)) == 1

    async def test_a_rolled_back_restock_queues_nothing(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A restock whose transaction fails after the broadcast leaves the pre-bookings
        waiting and the outbox empty; the next restock notifies them."""
        readers = await add_pre_bookers(shop, clock, 2)
        book = await add_book(shop)
        for reader in readers:
            await shop.prebookings.prebook(reader, book.id)
        refusing = True

        async def refuse(event: BookRestocked, uow: object) -> None:
            if refusing:
                raise _Refused

        shop.events.subscribe_in_transaction(BookRestocked, refuse)
        with pytest.raises(_Refused):
            await _restock(shop, book)
        assert (await shop.catalog.get_book(book.id)).stock_quantity == 0
        assert {p.status for p in await _all_prebookings(shop, readers)} == {
            PreBookingStatus.WAITING
        }
        assert await queued_messages(shop) == []
        refusing = False
        await _restock(shop, book)
        assert len(await queued_messages(shop)) == 2

    async def test_500_waiting_prebookers_one_restock(self, shop: Shop, clock: ManualClock) -> None:
        """500 pre-bookers, one restock: all notified, 500 messages, one per pre-booker."""
        readers = await add_pre_bookers(shop, clock, 500)
        book = await add_book(shop)
        for reader in readers:
            await shop.prebookings.prebook(reader, book.id)
        await _restock(shop, book)
        messages = await queued_messages(shop)
        assert Counter(m.recipients for m in messages) == Counter(
            (f"reader{n}@example.com",) for n in range(500)
        )
        notified = [p.status for p in await _all_prebookings(shop, readers)]
        assert notified == [PreBookingStatus.NOTIFIED] * 500
        await _restock(shop, book, 0)
        await _restock(shop, book, 1)
        assert len(await queued_messages(shop)) == 500

    async def test_each_prebooker_gets_exactly_one_email(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """End to end through the dispatcher and the shipped templates: one email per
        pre-booker, subject ``'<title>' is back in stock``."""
        pytest.importorskip("jinja2", reason="rendering uses the mail extra")
        mailer = MemoryMailer()
        settings = ShopSettings(outbox=OUTBOX_SETTINGS)
        async with make_shop(
            settings=settings, mailer=mailer, renderer=template_renderer()
        ) as shop:
            readers = await add_pre_bookers(shop, clock, 3)
            book = await add_book(shop, "Dune")
            for reader in readers:
                await shop.prebookings.prebook(reader, book.id)
            await _restock(shop, book)
            await shop.dispatcher.dispatch_pending()
            await shop.dispatcher.dispatch_pending()
        assert sorted(email.to for email in mailer.sent) == [
            (f"reader{n}@example.com",) for n in range(3)
        ]
        assert {email.subject for email in mailer.sent} == {"'Dune' is back in stock"}

    async def test_a_restock_wakes_a_running_worker(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A worker polling hourly sends the back-in-stock emails right after the restock
        commits: the broadcast wakes it like any queued mail."""
        mailer = MemoryMailer()
        pytest.importorskip("jinja2", reason="rendering uses the mail extra")
        settings = ShopSettings(outbox=OUTBOX_SETTINGS)
        async with make_shop(
            settings=settings, mailer=mailer, renderer=template_renderer()
        ) as shop:
            readers = await add_pre_bookers(shop, clock, 2)
            book = await add_book(shop, "Dune")
            for reader in readers:
                await shop.prebookings.prebook(reader, book.id)
            async with shop.dispatcher.worker(poll_interval=3600) as worker:
                await _until(lambda: worker.passes >= 1)  # the first pass runs at start
                await _restock(shop, book)
                await _until(lambda: len(mailer.sent) == 2)
        assert sorted(email.to for email in mailer.sent) == [
            (f"reader{n}@example.com",) for n in range(2)
        ]
