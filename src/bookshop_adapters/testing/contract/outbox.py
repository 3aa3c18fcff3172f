"""Contract: the transactional outbox and its dispatcher, on every backend.

Messages are queued exactly as a use case queues them (:func:`queue_email` in a transaction
of the shop's event bus) and sent through a :class:`~bookshop_adapters.mail.MemoryMailer`
(whose ``fail_next`` plays a mail server that is down) with the shipped Jinja2 templates. The
class overrides ``shop`` with one configured for that, built by the harness's ``make_shop``;
it needs the ``mail`` extra (Jinja2).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
import pytest_asyncio

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.mail import MemoryMailer
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.errors import DomainError
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal, Role
from bookshop_core.kernel.uow import Transactions
from bookshop_core.notifications import (
    DeliveryFailure,
    Dispatcher,
    ListOutbox,
    MailRejected,
    MessageKind,
    MessageRenderer,
    NewOutboxMessage,
    OutboxMessage,
    OutboxSettings,
    OutboxStatus,
    OutboxWorker,
    queue_email,
    queue_emails,
)

__all__ = ["OUTBOX_SETTINGS", "OutboxContract", "queue_messages", "template_renderer"]

#: Short, round delays so that a test can step the clock through the schedule:
#: 10 s, 20 s, 40 s, then 60 s (the cap); the fifth failure makes a message dead.
OUTBOX_SETTINGS = OutboxSettings(
    batch_size=50,
    lease=timedelta(minutes=2),
    base_delay=timedelta(seconds=10),
    backoff_factor=2,
    max_delay=timedelta(seconds=60),
    max_attempts=5,
)

ADMIN = Principal(user_id=1, role=Role.ADMIN)


class _RolledBack(Exception):
    """The failure of a use case after it queued its email."""


def _message(clock: ManualClock, n: int) -> NewOutboxMessage:
    return NewOutboxMessage(
        kind=MessageKind.BACK_IN_STOCK,
        recipients=(f"reader{n}@example.com",),
        variables={"book_id": n + 1, "title": f"Book {n}", "author": "An Author"},
        created_at=clock.now(),
    )


async def queue_messages(shop: Shop, clock: ManualClock, count: int) -> list[str]:
    """Queue ``count`` back-in-stock messages in one transaction, as a use case does;
    returns their message ids."""
    messages = [_message(clock, n) for n in range(count)]
    async with Transactions(shop.unit_of_work, shop.events).write() as tx:
        if count == 1:
            await queue_email(tx, messages[0])
        else:
            await queue_emails(tx, messages)
        await tx.commit()
    return [m.message_id for m in messages]


async def _all(shop: Shop, status: OutboxStatus | None = None) -> list[OutboxMessage]:
    page = await shop.outbox.list_messages(ADMIN, ListOutbox(status=status, per_page=100))
    assert page.total <= 100, "the test reads one page"
    return list(page.items)


async def _one(shop: Shop) -> OutboxMessage:
    [message] = await _all(shop)
    return message


def _sent_ids(mailer: MemoryMailer) -> Counter[str]:
    return Counter(m.message_id for m in mailer.sent)


async def _refused(awaitable: Awaitable[object], code: str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await awaitable
    assert caught.value.code == code, caught.value
    return caught.value


class OutboxContract:
    """Queued in the transaction, sent after commit, retried with backoff, never lost,
    never sent twice by concurrent dispatchers, dead after its attempts, retried by admins."""

    @pytest.fixture
    def mailer(self) -> MemoryMailer:
        """Records what the shop sends."""
        return MemoryMailer()

    @pytest_asyncio.fixture
    async def shop(self, make_shop: MakeShop, mailer: MemoryMailer) -> AsyncIterator[Shop]:
        """A shop on this test's store that sends through ``mailer`` with the shipped
        templates and :data:`OUTBOX_SETTINGS`."""
        pytest.importorskip("jinja2", reason="the outbox contract renders with the mail extra")
        settings = ShopSettings(outbox=OUTBOX_SETTINGS)
        async with make_shop(
            settings=settings, mailer=mailer, renderer=template_renderer()
        ) as opened:
            yield opened

    # -- queued in the transaction ----------------------------------------------------------

    async def test_a_use_case_that_fails_after_queueing_sends_nothing(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """A message queued by a transaction that rolls back is never stored nor sent."""

        async def queue_then_fail() -> None:
            async with Transactions(shop.unit_of_work, shop.events).write() as tx:
                await queue_email(tx, _message(clock, 1))
                raise _RolledBack

        with pytest.raises(_RolledBack):
            await queue_then_fail()
        assert await _all(shop) == []
        report = await shop.dispatcher.dispatch_pending()
        assert report.claimed == 0
        assert mailer.attempts == 0

    async def test_a_queued_message_is_sent_once_with_its_message_id(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """One pass renders and sends it with its stable id; the next pass sends nothing."""
        [message_id] = await queue_messages(shop, clock, 1)
        queued = await _one(shop)
        assert (queued.status, queued.attempts, queued.message_id) == (
            OutboxStatus.PENDING,
            0,
            message_id,
        )
        assert queued.variables == {"book_id": 1, "title": "Book 0", "author": "An Author"}
        report = await shop.dispatcher.dispatch_pending()
        assert (report.claimed, report.sent) == (1, 1)
        [email] = mailer.sent
        assert email.message_id == message_id
        assert email.to == ("reader0@example.com",)
        assert "Book 0" in email.subject
        assert "https://books.example/books/1" in email.text
        sent = await _one(shop)
        assert (sent.status, sent.attempts, sent.sent_at, sent.claimed_until) == (
            OutboxStatus.SENT,
            1,
            clock.now(),
            None,
        )
        assert (await shop.dispatcher.dispatch_pending()).claimed == 0
        assert len(mailer.sent) == 1

    async def test_without_a_mailer_dispatching_fails_clearly_and_keeps_the_message(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A shop built without ``mailer=`` queues, but dispatching is MAIL_NOT_CONFIGURED."""
        async with make_shop() as shop:
            await queue_messages(shop, clock, 1)
            await _refused(shop.dispatcher.dispatch_pending(), "MAIL_NOT_CONFIGURED")
            with pytest.raises(DomainError):
                await shop.dispatcher.worker().start()
            assert (await _one(shop)).status is OutboxStatus.PENDING

    # -- retries ----------------------------------------------------------------------------

    async def test_mail_server_down_for_the_first_attempts_loses_and_doubles_nothing(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """Every message arrives once the server is back: none lost, none twice."""
        message_ids = await queue_messages(shop, clock, 12)
        mailer.fail_next(30)  # two and a half passes' worth of failures
        for _ in range(OUTBOX_SETTINGS.max_attempts):
            await shop.dispatcher.dispatch_pending()
            clock.advance(OUTBOX_SETTINGS.max_delay)
        assert _sent_ids(mailer) == Counter(message_ids)
        assert {m.status for m in await _all(shop)} == {OutboxStatus.SENT}

    async def test_failed_attempts_back_off_exponentially_up_to_the_cap(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """Waits of 10, 20, 40, 60, and no claim before a message is due."""
        await queue_messages(shop, clock, 1)
        mailer.fail_next(100)
        waits = []
        for _ in range(4):
            await shop.dispatcher.dispatch_pending()
            failed = await _one(shop)
            assert failed.status is OutboxStatus.PENDING
            assert failed.last_error is not None
            assert "MailUnavailable" in failed.last_error
            waits.append(failed.next_attempt_at - clock.now())
            clock.advance(failed.next_attempt_at - clock.now() - timedelta(seconds=1))
            assert (await shop.dispatcher.dispatch_pending()).claimed == 0  # not yet due
            clock.advance(seconds=1)
        assert waits == [timedelta(seconds=s) for s in (10, 20, 40, 60)]

    async def test_a_message_is_dead_after_its_last_attempt_and_an_admin_revives_it(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """The fifth failure makes it dead (listed as such); retry gives it new attempts."""
        [message_id] = await queue_messages(shop, clock, 1)
        mailer.fail_next(OUTBOX_SETTINGS.max_attempts)
        for _ in range(OUTBOX_SETTINGS.max_attempts):
            await shop.dispatcher.dispatch_pending()
            clock.advance(OUTBOX_SETTINGS.max_delay)
        [dead] = await _all(shop, OutboxStatus.DEAD)
        assert dead.attempts == OUTBOX_SETTINGS.max_attempts
        assert (await shop.dispatcher.dispatch_pending()).claimed == 0
        revived = await shop.outbox.retry(ADMIN, dead.id)
        assert (revived.status, revived.attempts, revived.next_attempt_at) == (
            OutboxStatus.PENDING,
            0,
            clock.now(),
        )
        assert (await shop.dispatcher.dispatch_pending()).sent == 1
        assert _sent_ids(mailer) == Counter([message_id])

    async def test_a_permanent_refusal_is_dead_at_once(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """MAIL_REJECTED is not retried."""
        await queue_messages(shop, clock, 1)
        mailer.fail_next(1, lambda: MailRejected("550 no such user"))
        report = await shop.dispatcher.dispatch_pending()
        assert (report.dead, report.retrying) == (1, 0)
        dead = await _one(shop)
        assert (dead.status, dead.attempts) == (OutboxStatus.DEAD, 1)
        assert dead.last_error is not None
        assert "550 no such user" in dead.last_error

    async def test_only_admins_retry_and_only_dead_messages(
        self, shop: Shop, clock: ManualClock, customer: Principal
    ) -> None:
        """AUTH_FORBIDDEN, OUTBOX_MESSAGE_NOT_FOUND, OUTBOX_NOT_DEAD (with the status)."""
        await queue_messages(shop, clock, 1)
        pending = await _one(shop)
        await _refused(shop.outbox.retry(customer, pending.id), "AUTH_FORBIDDEN")
        await _refused(shop.outbox.list_messages(customer), "AUTH_FORBIDDEN")
        await _refused(shop.outbox.retry(ADMIN, pending.id + 1000), "OUTBOX_MESSAGE_NOT_FOUND")
        await _refused(
            shop.outbox.get_message(ADMIN, pending.id + 1000), "OUTBOX_MESSAGE_NOT_FOUND"
        )
        error = await _refused(shop.outbox.retry(ADMIN, pending.id), "OUTBOX_NOT_DEAD")
        assert error.details == {"status": "pending"}
        assert (await shop.outbox.get_message(ADMIN, pending.id)) == pending

    async def test_the_admin_list_is_newest_first_paginated_and_filtered(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """Pages with exact totals; a status filter; an unknown status is refused."""
        await queue_messages(shop, clock, 5)
        await shop.dispatcher.dispatch_pending(limit=2)
        first = await shop.outbox.list_messages(ADMIN, ListOutbox(page=1, per_page=3))
        second = await shop.outbox.list_messages(ADMIN, ListOutbox(page=2, per_page=3))
        ids = [m.id for m in (*first.items, *second.items)]
        assert ids == sorted(ids, reverse=True)
        assert len(set(ids)) == 5
        assert (first.total, second.total, len(second.items)) == (5, 5, 2)
        sent = await shop.outbox.list_messages(ADMIN, ListOutbox(status="sent"))
        assert sent.total == 2
        assert {m.status for m in sent.items} == {OutboxStatus.SENT}
        assert (await shop.outbox.list_messages(ADMIN, ListOutbox(status="dead"))).total == 0
        with pytest.raises(DomainError) as caught:
            ListOutbox(status="lost")
        assert caught.value.code == "VALIDATION_ERROR"

    # -- leases and concurrent dispatchers --------------------------------------------------

    async def test_a_dead_dispatchers_claim_expires_and_another_sends_the_message(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """Claimed and never finished: invisible for the lease, then sent by the next pass
        (with the same Message-ID); the stale claim cannot overwrite the new one."""
        [message_id] = await queue_messages(shop, clock, 1)
        async with shop.unit_of_work() as uow:  # a dispatcher that dies after claiming
            [claimed] = await uow.outbox.claim(10, now=clock.now(), lease=OUTBOX_SETTINGS.lease)
            await uow.commit()
        clock.advance(OUTBOX_SETTINGS.lease - timedelta(seconds=1))
        assert (await shop.dispatcher.dispatch_pending()).claimed == 0
        clock.advance(seconds=1)
        assert (await shop.dispatcher.dispatch_pending()).sent == 1
        assert _sent_ids(mailer) == Counter([message_id])
        async with shop.unit_of_work() as uow:  # the first dispatcher wakes up and fails
            stale = DeliveryFailure(claimed.id, claimed.attempts, "late", clock.now())
            await uow.outbox.mark_failed([stale])
            await uow.commit()
        sent = await _one(shop)
        assert (sent.status, sent.attempts, sent.last_error) == (OutboxStatus.SENT, 2, None)

    async def test_a_claim_expired_after_the_last_attempt_makes_the_message_dead(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """A message whose dispatchers keep dying stops after max_attempts, unsent."""
        await queue_messages(shop, clock, 1)
        for _ in range(OUTBOX_SETTINGS.max_attempts):
            async with shop.unit_of_work() as uow:
                assert await uow.outbox.claim(1, now=clock.now(), lease=OUTBOX_SETTINGS.lease)
                await uow.commit()
            clock.advance(OUTBOX_SETTINGS.lease)
        report = await shop.dispatcher.dispatch_pending()
        assert (report.claimed, report.dead) == (1, 1)
        assert mailer.attempts == 0
        assert (await _one(shop)).status is OutboxStatus.DEAD

    async def test_concurrent_claims_never_share_a_message(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Four concurrent claims of 60 over 200 due messages: disjoint, 200 in all."""
        await queue_messages(shop, clock, 200)

        async def claim() -> list[int]:
            async with shop.unit_of_work() as uow:
                claimed = await uow.outbox.claim(60, now=clock.now(), lease=OUTBOX_SETTINGS.lease)
                await uow.commit()
            return [m.id for m in claimed]

        batches = await asyncio.gather(*(claim() for _ in range(4)))
        claimed = [i for batch in batches for i in batch]
        assert len(claimed) == len(set(claimed)) == 200

    async def test_two_dispatchers_deliver_each_of_200_messages_exactly_once(
        self, shop: Shop, make_shop: MakeShop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """Two shops' dispatchers on one store, passes interleaved: each message once."""
        message_ids = await queue_messages(shop, clock, 200)
        async with make_shop(
            settings=ShopSettings(outbox=OUTBOX_SETTINGS),
            mailer=mailer,
            renderer=template_renderer(),
        ) as other:

            async def drain(dispatcher: Dispatcher) -> None:
                for _ in range(200):
                    if not (await dispatcher.dispatch_pending(limit=25)).claimed:
                        return
                    await asyncio.sleep(0)  # let the other dispatcher in

            await asyncio.gather(drain(shop.dispatcher), drain(other.dispatcher))
        assert _sent_ids(mailer) == Counter(message_ids)

    # -- the worker -------------------------------------------------------------------------

    async def test_the_worker_sends_right_after_a_commit_and_stops_cleanly(
        self, shop: Shop, mailer: MemoryMailer, clock: ManualClock
    ) -> None:
        """A worker polling hourly still sends at once: the commit wakes it."""
        worker = shop.dispatcher.worker(poll_interval=3600)
        async with worker:
            assert worker.running
            await _until_passes(worker, 1)  # the first pass runs at start
            message_ids = await queue_messages(shop, clock, 3)
            await _until(lambda: len(mailer.sent) == 3)
        assert not worker.running
        assert _sent_ids(mailer) == Counter(message_ids)
        await worker.stop()  # idempotent


def template_renderer() -> MessageRenderer:
    """The shipped Jinja2 templates, linking to ``https://books.example``."""
    from bookshop_adapters.mail import JinjaRenderer, MailTemplateSettings

    return JinjaRenderer(MailTemplateSettings(base_url="https://books.example"))


async def _until(condition: Callable[[], bool], *, turns: int = 2000) -> None:
    """Let the event loop run until ``condition()`` holds (bounded by turns, not time)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the worker did not get there")


async def _until_passes(worker: OutboxWorker, passes: int) -> None:
    await _until(lambda: worker.passes >= passes)
