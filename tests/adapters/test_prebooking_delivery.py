"""The restock broadcast delivering real mail: 500 waiting pre-bookers, one restock, drained
through the SMTP mailer and the shipped templates to an aiosmtpd server on loopback, counted
where it arrives. On every backend; the statement budget of the same restock is pinned in
``tests/contract/test_prebooking.py``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.mail import SmtpMailer
from bookshop_adapters.testing.builders import ADMIN, add_book
from bookshop_adapters.testing.contract.outbox import OUTBOX_SETTINGS, template_renderer
from bookshop_adapters.testing.contract.prebooking import add_pre_bookers
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.catalog.commands import SetStock
from bookshop_core.catalog.entities import Book
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal
from bookshop_core.prebooking import PreBookingStatus
from tests.mail.smtp_server import Received, SmtpTestServer

PRE_BOOKERS = 500
#: ``template_renderer()`` links to books under this address (the default ``/books/{id}``).
BOOK_LINK = "https://books.example/books/{book_id}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A plain SMTP server on a free loopback port, running for the test."""
    with SmtpTestServer() as server:
        yield server


async def _drain(shop: Shop) -> int:
    """Dispatch passes until one claims nothing; returns how many messages were sent."""
    sent = 0
    while (report := await shop.dispatcher.dispatch_pending()).claimed:
        assert (report.retrying, report.dead, report.released) == (0, 0, 0), report
        sent += report.sent
    return sent


async def _set_stock(shop: Shop, book: Book, quantity: int) -> None:
    await shop.catalog.set_stock(ADMIN, book.id, SetStock(quantity=quantity))


async def _statuses(shop: Shop, readers: list[Principal]) -> Counter[PreBookingStatus]:
    return Counter([p.status for r in readers for p in await shop.prebookings.list_mine(r)])


def _by_recipient(server: SmtpTestServer) -> Counter[str]:
    """Arrivals per envelope recipient."""
    return Counter(to for received in server.received for to in received.rcpt_tos)


def _assert_back_in_stock_mail(received: Received, book: Book) -> None:
    message = received.message
    assert message["Subject"] == f"'{book.title}' is back in stock"
    assert str(message["To"]) == received.rcpt_tos[0]
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    link = BOOK_LINK.format(book_id=book.id)
    assert link in text.get_content()
    assert f'href="{link}"' in html.get_content()


async def test_500_prebookers_one_restock_500_emails_each_once(
    make_shop: MakeShop, smtp_server: SmtpTestServer, clock: ManualClock
) -> None:
    """One restock of a book 500 users wait for: 500 emails arrive, one per pre-booker, each
    back-in-stock mail linking to the book; all are notified; a second restock sends none."""
    async with make_shop(
        settings=ShopSettings(outbox=OUTBOX_SETTINGS),
        mailer=SmtpMailer(smtp_server.settings()),
        renderer=template_renderer(),
    ) as shop:
        readers = await add_pre_bookers(shop, clock, PRE_BOOKERS)
        book = await add_book(shop, "Dune", author="Frank Herbert")
        for reader in readers:
            await shop.prebookings.prebook(reader, book.id)
        await _set_stock(shop, book, 3)
        assert await _drain(shop) == PRE_BOOKERS
        assert await _statuses(shop, readers) == {PreBookingStatus.NOTIFIED: PRE_BOOKERS}
        # Sold out and restocked again: nobody is waiting any more, nothing is queued.
        await _set_stock(shop, book, 0)
        await _set_stock(shop, book, 2)
        assert await _drain(shop) == 0
    assert len(smtp_server.received) == PRE_BOOKERS
    assert _by_recipient(smtp_server) == Counter(
        f"reader{n}@example.com" for n in range(PRE_BOOKERS)
    )
    assert len({r.message_id for r in smtp_server.received}) == PRE_BOOKERS
    for received in smtp_server.received:
        _assert_back_in_stock_mail(received, book)
