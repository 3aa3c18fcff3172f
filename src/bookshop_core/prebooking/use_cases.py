"""Pre-booking use cases: a user pre-books an out-of-stock book, lists and cancels their own;
a restock notifies every waiting pre-booker once, through the outbox, in its own transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bookshop_core.catalog.entities import BookRestocked
from bookshop_core.catalog.errors import BookNotFound
from bookshop_core.catalog.ports import CatalogUnitOfWork
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.events import EventBus
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.principal import Principal
from bookshop_core.kernel.uow import Transactions
from bookshop_core.notifications.messages import MessageKind
from bookshop_core.notifications.outbox import NewOutboxMessage
from bookshop_core.prebooking.entities import PreBooking, PreBookingStatus
from bookshop_core.prebooking.errors import (
    PrebookAlreadyCancelled,
    PrebookBookInStock,
    PrebookNotFound,
)
from bookshop_core.prebooking.ports import PreBookingUnitOfWork

__all__ = ["PreBookingShopUnitOfWork", "PreBookings"]


class PreBookingShopUnitOfWork(PreBookingUnitOfWork, CatalogUnitOfWork, Protocol):
    """The pre-booking use cases' unit of work: ``prebookings``, ``outbox`` and the catalog's
    ``books`` (to tell an unknown book from one in stock)."""


def _not_found(prebooking_id: int) -> PrebookNotFound:
    return PrebookNotFound(f"Pre-booking {prebooking_id} not found")


class PreBookings:
    """The pre-booking context's use cases. Every caller acts on their own pre-bookings.

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now".
    """

    def __init__(self, transactions: Transactions[PreBookingShopUnitOfWork], clock: Clock) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)

    def subscribe(self, bus: EventBus) -> None:
        """Notify a book's waiting pre-bookers in the transaction that restocks it
        (:class:`~bookshop_core.catalog.entities.BookRestocked`)."""
        bus.subscribe_in_transaction(BookRestocked, self._notify_pre_bookers)

    async def prebook(self, principal: Principal, book_id: int) -> PreBooking:
        """Pre-book a book that is out of stock, to get one email when it is back.

        Args:
            principal: The caller; the pre-booking is theirs.
            book_id: The book.

        Returns:
            The new pre-booking (waiting).

        Raises:
            ValidationError: a malformed ``book_id``.
            NotFound: ``BOOK_NOT_FOUND``.
            Conflict: ``PREBOOK_BOOK_IN_STOCK`` (stock above 0), ``PREBOOK_DUPLICATE`` (the
                caller already has a waiting pre-booking of the book).
        """
        check_id(book_id, "book_id")
        now = self._clock.now()
        async with self._tx.write() as tx:
            # The check (stock is 0) and the insert are one atomic step of the repository, so
            # a concurrent restock cannot slip between them and leave this one waiting.
            created = await tx.uow.prebookings.add_waiting(
                principal.user_id, book_id, created_at=now
            )
            if created is None:
                if await tx.uow.books.get(book_id) is None:
                    raise BookNotFound(f"Book {book_id} not found")
                raise PrebookBookInStock()
            await tx.commit()
        return created

    async def list_mine(self, principal: Principal) -> list[PreBooking]:
        """The caller's pre-bookings, every status, newest first."""
        async with self._tx.read() as uow:
            return list(await uow.prebookings.list_for_user(principal.user_id))

    async def cancel(self, principal: Principal, prebooking_id: int) -> PreBooking:
        """Cancel one of the caller's pre-bookings (waiting or notified).

        Returns:
            The cancelled pre-booking.

        Raises:
            ValidationError: a malformed id.
            NotFound: ``PREBOOK_NOT_FOUND`` (also another user's).
            Conflict: ``PREBOOK_ALREADY_CANCELLED``.
        """
        check_id(prebooking_id, "prebooking_id")
        async with self._tx.write() as tx:
            found = await tx.uow.prebookings.get(prebooking_id)
            if found is None or found.user_id != principal.user_id:
                raise _not_found(prebooking_id)
            if found.status is PreBookingStatus.CANCELLED:
                raise PrebookAlreadyCancelled()
            cancelled = await tx.uow.prebookings.cancel(prebooking_id, now=self._clock.now())
            if cancelled is None:  # cancelled concurrently
                raise PrebookAlreadyCancelled()
            await tx.commit()
        return cancelled

    async def _notify_pre_bookers(self, event: BookRestocked, uow: PreBookingUnitOfWork) -> None:
        """In the restocking transaction: mark every waiting pre-booking of the book notified
        and queue one back-in-stock email per pre-booker. Three statements whatever their
        number: the update, one read of their addresses, one insert of the messages."""
        now = self._clock.now()
        notified = await uow.prebookings.notify_waiting(event.book_id, now=now)
        if not notified:
            return
        emails = await uow.prebookings.emails_of(sorted({p.user_id for p in notified}))
        messages = _back_in_stock_messages(notified, emails, now=now)
        if messages:
            await uow.outbox.add_many(messages)


def _back_in_stock_messages(
    notified: Sequence[PreBooking], emails: Mapping[int, str], *, now: datetime
) -> list[NewOutboxMessage]:
    """One back-in-stock message per notified pre-booking (one per pre-booker: a user has at
    most one waiting pre-booking of a book), in id order."""
    return [
        NewOutboxMessage(
            kind=MessageKind.BACK_IN_STOCK,
            recipients=(emails[p.user_id],),
            variables={"book_id": p.book_id, "title": p.book_title, "author": p.book_author},
            created_at=now,
        )
        for p in sorted(notified, key=lambda p: p.id)
        if p.user_id in emails  # a pre-booker's account is never deleted; be safe anyway
    ]
