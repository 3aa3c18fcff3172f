"""Sending the outbox: one dispatch pass (:class:`Dispatcher`) and a long-running worker.

A pass claims a batch of due messages (one short transaction), renders and sends each one with
no transaction open (the mail server may be slow; the store is not kept waiting), then records
every outcome in one more short transaction::

    report = await shop.dispatcher.dispatch_pending()

An embedding app runs a worker beside its server; it dispatches whenever a transaction of this
process queued a message (an after-commit event wakes it) and every ``poll_interval``
otherwise (for messages queued by other processes, and retries coming due)::

    worker = shop.dispatcher.worker()
    await worker.start()
    ...
    await worker.stop()

Outcomes: accepted by the server -> sent. :class:`~bookshop_core.notifications.MailRejected`
(refused for good) or a message that cannot be built into an email -> dead at once. Anything
else (server unreachable, a template to fix, an unexpected error) -> retried with exponential
backoff (:class:`~bookshop_core.notifications.outbox.OutboxSettings`), dead after
``max_attempts``. A message is never lost: it stays in the store in one of these states.

At least once: see :mod:`bookshop_core.notifications.outbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Final, Self

from attrs import frozen

from bookshop_core.errors import DomainError, ValidationError
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.events import DomainEvent, EventBus
from bookshop_core.kernel.uow import Transactions
from bookshop_core.notifications.errors import MailerNotConfigured, MailRejected
from bookshop_core.notifications.outbox import (
    DeliveryFailure,
    OutboxMessage,
    OutboxMessageQueued,
    OutboxSettings,
    OutboxUnitOfWork,
)
from bookshop_core.notifications.ports import Mailer, MessageRenderer

__all__ = ["DispatchReport", "Dispatcher", "OutboxWorker"]

log = logging.getLogger("bookshop.notifications")

#: The most messages one pass may claim (a batch is sent one message at a time).
MAX_BATCH: Final = 1000

#: Why a message claimed again after its last attempt is dead without another try.
_LAST_ATTEMPT_LOST: Final = "the dispatcher of the last attempt stopped before recording it"


@frozen
class DispatchReport:
    """What one dispatch pass did.

    Attributes:
        claimed: Messages claimed.
        sent: Accepted by the mail server and marked sent.
        retrying: Failed, to be tried again later.
        dead: Failed for good (refused, or out of attempts).
        released: Claimed but not tried (the lease ran out, or the pass was stopped);
            pending again at once.
    """

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    released: int = 0


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Outcomes:
    """What happened to each claimed message, recorded together at the end of a pass."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.failures: list[DeliveryFailure] = []
        self.untried: list[tuple[int, int]] = []

    def report(self, claimed: int) -> DispatchReport:
        dead = sum(1 for f in self.failures if f.next_attempt_at is None)
        return DispatchReport(
            claimed=claimed,
            sent=len(self.sent),
            retrying=len(self.failures) - dead,
            dead=dead,
            released=len(self.untried),
        )


class Dispatcher:
    """Sends due outbox messages; separate from the use cases that queue them.

    Args:
        transactions: Opens units of work carrying the outbox.
        clock: The source of "now" (due times, leases, backoff).
        mailer: Sends the emails; ``None`` when the shop has no mailer configured (every
            pass then raises ``MAIL_NOT_CONFIGURED`` and messages stay queued).
        renderer: Renders each message's kind and variables; required with a mailer.
        settings: Batch size, lease, backoff and attempts.
    """

    def __init__(
        self,
        transactions: Transactions[OutboxUnitOfWork],
        clock: Clock,
        *,
        mailer: Mailer | None,
        renderer: MessageRenderer | None,
        settings: OutboxSettings | None = None,
    ) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)
        self._mailer = mailer
        self._renderer = renderer
        self.settings = settings or OutboxSettings()
        self._wakers: set[Callable[[], None]] = set()

    @property
    def configured(self) -> bool:
        """Whether this dispatcher can send (it has a mailer and a renderer)."""
        return self._mailer is not None and self._renderer is not None

    def _ports(self) -> tuple[Mailer, MessageRenderer]:
        if self._mailer is None or self._renderer is None:
            missing = "mailer" if self._mailer is None else "renderer"
            raise MailerNotConfigured(
                f"No {missing} is configured; queued emails cannot be sent "
                f"(pass {missing}= to build_shop)"
            )
        return self._mailer, self._renderer

    async def dispatch_pending(self, limit: int | None = None) -> DispatchReport:
        """One pass: claim up to ``limit`` due messages, send each, record the outcomes.

        Four statements on SQL stores whatever the batch size (claim; then sent, failed and
        released, in one transaction), and no transaction is open while mail is sent.

        Args:
            limit: At most this many messages (default ``settings.batch_size``; 1 to 1000).

        Returns:
            What the pass did; ``claimed == limit`` suggests more are due.

        Raises:
            Unavailable: ``MAIL_NOT_CONFIGURED`` when the shop has no mailer (nothing is
                claimed); ``STORE_*`` when the store fails (a claim made is then retried
                when its lease expires).
            ValidationError: ``limit`` out of range.
        """
        mailer, renderer = self._ports()
        limit = self._checked_limit(limit)
        async with self._tx.write() as tx:
            claimed = await tx.uow.outbox.claim(
                limit, now=self._clock.now(), lease=self.settings.lease
            )
            await tx.commit()
        if not claimed:
            return DispatchReport()
        outcomes = _Outcomes()
        try:
            await self._send_all(claimed, mailer, renderer, outcomes)
        finally:
            # Also when cancelled mid-batch (a worker stopping): what was sent is recorded,
            # what was not tried is given back at once instead of waiting for the lease.
            done = set(outcomes.sent) | {f.id for f in outcomes.failures}
            outcomes.untried += [(m.id, m.attempts) for m in claimed if m.id not in done]
            await self._record(outcomes)
        report = outcomes.report(len(claimed))
        log.info("outbox pass: %s", report)
        return report

    def _checked_limit(self, limit: int | None) -> int:
        if limit is None:
            return min(self.settings.batch_size, MAX_BATCH)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BATCH:
            raise ValidationError.single("limit", f"must be an integer from 1 to {MAX_BATCH}")
        return limit

    async def _send_all(
        self,
        claimed: list[OutboxMessage],
        mailer: Mailer,
        renderer: MessageRenderer,
        outcomes: _Outcomes,
    ) -> None:
        for message in claimed:
            assert message.claimed_until is not None
            if self._clock.now() >= message.claimed_until:
                # Another dispatcher may claim it now: sending would risk a duplicate.
                break
            if message.attempts > self.settings.max_attempts:
                outcomes.failures.append(
                    DeliveryFailure(message.id, message.attempts, _LAST_ATTEMPT_LOST, None)
                )
                continue
            failure = await self._send_one(message, mailer, renderer)
            if failure is None:
                outcomes.sent.append(message.id)
            else:
                outcomes.failures.append(failure)

    async def _send_one(
        self, message: OutboxMessage, mailer: Mailer, renderer: MessageRenderer
    ) -> DeliveryFailure | None:
        """Render and send ``message``; ``None`` when the server accepted it."""
        try:
            email = renderer.render(message.kind, message.variables).to_email(
                message_id=message.message_id, to=message.recipients
            )
        except ValueError as exc:  # not a valid email (a header, an address): for good
            return self._failure(message, exc, permanent=True)
        except Exception as exc:  # MAIL_TEMPLATE_ERROR, or a bug: an operator can fix it
            return self._failure(message, exc, permanent=False)
        try:
            await mailer.send(email)
        except MailRejected as exc:
            return self._failure(message, exc, permanent=True)
        except Exception as exc:  # MAIL_UNAVAILABLE, or anything unexpected: retry later
            return self._failure(message, exc, permanent=False)
        return None

    def _failure(
        self, message: OutboxMessage, exc: Exception, *, permanent: bool
    ) -> DeliveryFailure:
        next_attempt = (
            None if permanent else self.settings.after_failure(message.attempts, self._clock.now())
        )
        level = logging.WARNING if next_attempt is not None else logging.ERROR
        log.log(
            level,
            "outbox message %d (%s) attempt %d failed%s: %s",
            message.id,
            message.kind,
            message.attempts,
            "" if next_attempt is not None else ", now dead",
            _describe(exc),
            # A traceback only for the unexpected (a bug), not for a server that is down.
            exc_info=not isinstance(exc, ValueError | DomainError),
        )
        return DeliveryFailure(message.id, message.attempts, _describe(exc), next_attempt)

    async def _record(self, outcomes: _Outcomes) -> None:
        async with self._tx.write() as tx:
            outbox = tx.uow.outbox
            await outbox.mark_sent(outcomes.sent, now=self._clock.now())
            await outbox.mark_failed(outcomes.failures)
            await outbox.release(outcomes.untried)
            await tx.commit()

    # -- waking workers ---------------------------------------------------------------

    def subscribe(self, bus: EventBus) -> None:
        """Wake this dispatcher's running workers after every commit that queued a message."""
        bus.subscribe(OutboxMessageQueued, self._queued)

    def wake_after(self, bus: EventBus, event_type: type[DomainEvent]) -> None:
        """Also wake the running workers after every commit that records ``event_type``: for
        an in-transaction handler that queues mail on the unit of work directly (the
        pre-booking broadcast on ``BookRestocked``), which cannot record
        :class:`OutboxMessageQueued` itself. A wake-up with nothing to send costs one claim."""
        bus.subscribe(event_type, self._queued)

    async def _queued(self, event: DomainEvent) -> None:
        for wake in tuple(self._wakers):
            wake()

    def worker(self, *, poll_interval: float | None = None) -> OutboxWorker:
        """A worker that runs passes of this dispatcher until stopped (not started yet).

        Args:
            poll_interval: Seconds between passes when nothing wakes it (default:
                ``settings.poll_interval``).
        """
        interval = (
            self.settings.poll_interval.total_seconds() if poll_interval is None else poll_interval
        )
        return OutboxWorker(self, poll_interval=interval)


class OutboxWorker:
    """Runs dispatch passes in the background until stopped.

    After a pass that claimed a full batch it runs the next at once; otherwise it sleeps
    ``poll_interval`` seconds or until a commit of this process queues a message. A failing
    pass (the store down, say) is logged and retried after ``poll_interval``: the worker
    never dies of it.

    Use it beside a server, e.g. in an ASGI lifespan::

        async with shop.dispatcher.worker():
            yield

    Args:
        dispatcher: Whose passes to run.
        poll_interval: Seconds between passes when nothing wakes the worker (> 0).
    """

    def __init__(self, dispatcher: Dispatcher, *, poll_interval: float) -> None:
        if not poll_interval > 0:
            raise ValueError("poll_interval must be positive")
        self._dispatcher = dispatcher
        self.poll_interval = poll_interval
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        #: Passes run so far (for health output and tests).
        self.passes = 0
        #: The latest pass's report.
        self.last_report: DispatchReport | None = None
        #: Why the latest pass failed, or ``None`` when it succeeded.
        self.last_error: BaseException | None = None

    @property
    def running(self) -> bool:
        """Whether the worker's task is running."""
        return self._task is not None and not self._task.done()

    def notify(self) -> None:
        """Run a pass now (or right after the current one)."""
        self._wake.set()

    async def start(self) -> None:
        """Start the background task.

        Raises:
            Unavailable: ``MAIL_NOT_CONFIGURED``: the shop has no mailer (nothing starts).
            RuntimeError: already running.
        """
        if self.running:
            raise RuntimeError("the outbox worker is already running")
        self._dispatcher._ports()  # fail now, not in the background
        self._stopping = False
        self._wake.set()  # a first pass at once: messages may be waiting
        self._dispatcher._wakers.add(self.notify)
        self._task = asyncio.create_task(self._run(), name="bookshop-outbox-worker")

    async def stop(self, *, grace: float = 30.0) -> None:
        """Stop after the current pass, waiting at most ``grace`` seconds for it; past that
        the pass is cancelled (what it sent is still recorded, the rest given back).
        Idempotent."""
        self._dispatcher._wakers.discard(self.notify)
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            if self._stopping:
                return
            self._wake.clear()
            if await self._pass_filled_batch():
                self._wake.set()  # more may be due: go again at once

    async def _pass_filled_batch(self) -> bool:
        try:
            report = await self._dispatcher.dispatch_pending()
        except Exception as exc:
            self.last_error = exc
            log.exception("outbox pass failed; retrying in %.1f s", self.poll_interval)
            return False
        finally:
            self.passes += 1
        self.last_error = None
        self.last_report = report
        return report.claimed >= self._dispatcher.settings.batch_size

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
