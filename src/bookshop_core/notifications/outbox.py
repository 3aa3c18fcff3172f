"""The transactional outbox: emails written in the transaction that causes them, sent later.

A use case that causes an email calls :func:`queue_email` on its transaction: the message is
a row of the store, so it commits or rolls back with the change (no email for a rolled-back
change, none lost when the mail server is down). A
:class:`~bookshop_core.notifications.dispatch.Dispatcher`, separate from every use case, sends
pending messages after commit.

Life of a message::

    pending --claim--> sending --mark_sent--> sent
       ^                  |
       |                  +--mark_failed (attempts < max)--> pending (next_attempt_at later)
       |                  +--mark_failed (attempts = max)--> dead
       +----- retry (admin) ------------------------------------ dead

A claim is a lease: a ``sending`` message whose ``claimed_until`` has passed (its dispatcher
died) is claimable again. Every claim counts an attempt.

Delivery is **at least once**: a dispatcher that dies after the mail server accepted a message
but before ``mark_sent`` committed leaves it to be sent again when its lease expires. The
resend carries the same ``Message-ID`` (:attr:`OutboxMessage.message_id`), so a receiver can
recognise it. In normal operation several dispatchers, in several processes, never send one
message twice: a claim is atomic (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one ``UPDATE ...
RETURNING`` in SQLite's serialised write transaction, the store's lock in memory).
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from attrs import field, frozen

from bookshop_core.kernel.clock import ensure_utc
from bookshop_core.kernel.events import DomainEvent
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.uow import Transaction, UnitOfWork

__all__ = [
    "MAX_ERROR_LENGTH",
    "MAX_KIND_LENGTH",
    "DeliveryFailure",
    "NewOutboxMessage",
    "OutboxMessage",
    "OutboxMessageQueued",
    "OutboxRepository",
    "OutboxSettings",
    "OutboxStatus",
    "OutboxUnitOfWork",
    "new_message_id",
    "queue_email",
    "queue_emails",
]

#: The longest message kind (a template name such as ``"back_in_stock"``).
MAX_KIND_LENGTH: Final = 64
#: ``last_error`` keeps at most this many characters of the failure's description.
MAX_ERROR_LENGTH: Final = 2000


class OutboxStatus(enum.StrEnum):
    """Where a message is in its life (see the module docstring)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


def new_message_id() -> str:
    """A fresh, globally unique message id: 32 hex digits (a UUID4). The email's
    ``Message-ID`` header is built from it, so a resend is recognisable."""
    return uuid.uuid4().hex


def _plain_str(value: str) -> str:
    # A StrEnum member (MessageKind.BACK_IN_STOCK) is stored as its plain value everywhere.
    return str(value) if isinstance(value, str) else value


def _recipients(value: Sequence[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_recipients(instance: object, attribute: object, value: tuple[str, ...]) -> None:
    if not value or not all(isinstance(r, str) and "@" in r for r in value):
        raise ValueError("an outbox message needs at least one email address")


def _check_kind(instance: object, attribute: object, value: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_KIND_LENGTH:
        raise ValueError(f"a message kind is 1 to {MAX_KIND_LENGTH} characters")


def _json_ready(value: Mapping[str, Any]) -> dict[str, Any]:
    """A plain-dict copy of ``value``, refused unless it survives a JSON round trip unchanged
    (every backend stores variables as JSON, so what is read back must equal what was
    queued)."""
    copied = dict(value)
    try:
        text = json.dumps(copied, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"outbox variables must be JSON-ready: {exc}") from exc
    if json.loads(text) != copied:
        raise ValueError("outbox variables must be JSON-ready (use lists, str keys)")
    return copied


@frozen
class NewOutboxMessage:
    """A message to queue: what :meth:`OutboxRepository.add` stores.

    Args:
        kind: The message kind, which names its templates (``"back_in_stock"``).
        recipients: One address, or several (each gets the same email).
        variables: The templates' variables, JSON-ready (str, int, bool, None, lists, dicts
            with str keys; money and dates as strings), fixed when queued.
        created_at: When it was queued (aware UTC); it is due at once.
        message_id: The stable id (default: a fresh one, :func:`new_message_id`).
    """

    kind: str = field(converter=_plain_str, validator=_check_kind)
    recipients: tuple[str, ...] = field(converter=_recipients, validator=_check_recipients)
    variables: Mapping[str, Any] = field(converter=_json_ready)
    created_at: datetime = field(converter=ensure_utc)
    message_id: str = field(factory=new_message_id)


@frozen
class OutboxMessage:
    """A queued email and its delivery state.

    Attributes:
        id: The store's id.
        message_id: Stable across retries; the email's ``Message-ID`` is built from it.
        kind: Names the templates to render.
        recipients: Who gets it.
        variables: The templates' variables (JSON-ready).
        status: pending, sending, sent or dead.
        attempts: How many times it was claimed for sending.
        next_attempt_at: A pending message is not claimed before this instant.
        claimed_until: While ``sending``, the end of the dispatcher's lease.
        last_error: Why the latest attempt failed, if it did.
        created_at: When it was queued.
        sent_at: When the mail server accepted it.
    """

    id: int
    message_id: str
    kind: str
    recipients: tuple[str, ...]
    variables: Mapping[str, Any]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    claimed_until: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    def is_claimable(self, now: datetime) -> bool:
        """Pending and due, or sending with an expired lease (its dispatcher died)."""
        if self.status is OutboxStatus.PENDING:
            return self.next_attempt_at <= now
        if self.status is OutboxStatus.SENDING:
            return self.claimed_until is not None and self.claimed_until <= now
        return False


def _truncated(text: object) -> str:
    return str(text)[:MAX_ERROR_LENGTH]


@frozen
class DeliveryFailure:
    """One failed attempt, as :meth:`OutboxRepository.mark_failed` records it.

    Args:
        id: The message's id.
        attempt: The attempt that failed (the ``attempts`` its claim returned); a message
            claimed again since (its lease expired) is left alone.
        error: Why, for admins (truncated to :data:`MAX_ERROR_LENGTH`).
        next_attempt_at: When to try again; ``None`` makes the message dead.
    """

    id: int
    attempt: int
    error: str = field(converter=_truncated)
    next_attempt_at: datetime | None


def _positive(instance: object, attribute: Any, value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"{attribute.name} must be a positive timedelta")


def _at_least_one(instance: object, attribute: Any, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1")


def _factor(instance: object, attribute: Any, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        raise ValueError("backoff_factor must be a number >= 1")


@frozen
class OutboxSettings:
    """How the outbox is dispatched.

    After failed attempt ``n`` (1, 2, ...) a message waits
    ``min(base_delay * backoff_factor ** (n - 1), max_delay)``; the ``max_attempts``-th
    failure makes it dead.

    Args:
        batch_size: Messages claimed per dispatch pass.
        lease: How long a claim lasts; a dispatcher that has not finished by then (it died)
            loses its messages to the next one. Longer than a batch takes to send.
        base_delay: The wait after the first failure.
        backoff_factor: Each further failure multiplies the wait by this.
        max_delay: The longest wait.
        max_attempts: Attempts before a message is dead.
        poll_interval: How often a worker looks for due messages when nothing wakes it.
    """

    batch_size: int = field(default=50, validator=_at_least_one)
    lease: timedelta = field(default=timedelta(minutes=5), validator=_positive)
    base_delay: timedelta = field(default=timedelta(seconds=30), validator=_positive)
    backoff_factor: float = field(default=2.0, validator=_factor)
    max_delay: timedelta = field(default=timedelta(hours=1), validator=_positive)
    max_attempts: int = field(default=8, validator=_at_least_one)
    poll_interval: timedelta = field(default=timedelta(seconds=5), validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_delay < self.base_delay:
            raise ValueError("max_delay must be at least base_delay")

    def retry_delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt ``attempt`` (from 1)."""
        if attempt < 1:
            raise ValueError("attempts count from 1")
        # Compared in seconds before multiplying, so that a large exponent cannot overflow.
        ceiling = self.max_delay.total_seconds()
        delay = self.base_delay.total_seconds()
        for _ in range(attempt - 1):
            delay *= self.backoff_factor
            if delay >= ceiling:
                return self.max_delay
        return min(timedelta(seconds=delay), self.max_delay)

    def after_failure(self, attempt: int, now: datetime) -> datetime | None:
        """When to try again after failed attempt ``attempt``; ``None`` when it was the last."""
        if attempt >= self.max_attempts:
            return None
        return now + self.retry_delay(attempt)


@frozen
class OutboxMessageQueued(DomainEvent):
    """A message was queued; after commit, workers of this process wake up at once."""

    kind: str
    message_id: str


class OutboxRepository(Protocol):
    """The outbox, in the same store and transaction as everything else.

    Every backend passes the outbox contract (``bookshop_adapters.testing.contract``).
    """

    async def add(self, message: NewOutboxMessage) -> OutboxMessage:
        """Queue ``message`` (pending, due at ``created_at``); returns it with its id."""
        ...

    async def add_many(self, messages: Sequence[NewOutboxMessage]) -> None:
        """Queue several messages in a bounded number of statements (one per batch)."""
        ...

    async def get(self, message_id: int) -> OutboxMessage | None:
        """The message with this id."""
        ...

    async def claim(self, limit: int, *, now: datetime, lease: timedelta) -> list[OutboxMessage]:
        """Take up to ``limit`` claimable messages for sending, atomically.

        Claimable: pending with ``next_attempt_at <= now``, or sending with ``claimed_until
        <= now``; the most overdue first (by ``next_attempt_at``, then id). Each becomes
        ``sending`` with ``claimed_until = now + lease`` and one more attempt. Concurrent
        claims, in any process, never return the same message (until its lease expires).
        One statement.

        Returns:
            The claimed messages as they are now, by ``next_attempt_at`` then id.
        """
        ...

    async def mark_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        """Record that the mail server accepted these messages (those still ``sending``).
        One statement."""
        ...

    async def mark_failed(self, failures: Sequence[DeliveryFailure]) -> None:
        """Record failed attempts: each message goes back to pending at its
        ``next_attempt_at``, or dead. A message no longer in the claimed attempt (sending
        with that ``attempts``) is left alone. One statement (executed for many rows)."""
        ...

    async def release(self, ids_and_attempts: Sequence[tuple[int, int]]) -> None:
        """Give back claimed messages that were not tried (pending again, the attempt not
        counted), e.g. when a dispatcher stops before its lease would run out."""
        ...

    async def list(self, status: OutboxStatus | None, page: PageRequest) -> Page[OutboxMessage]:
        """One page of messages, newest first (by id), optionally of one status, with the
        exact total."""
        ...

    async def retry(self, message_id: int, *, now: datetime) -> OutboxMessage | None:
        """Make a dead message pending again (due at ``now``, attempts from 0), atomically.

        Returns:
            The message, or ``None`` when it does not exist or is not dead (read it with
            :meth:`get` to tell which).
        """
        ...


class OutboxUnitOfWork(UnitOfWork, Protocol):
    """A unit of work carrying the outbox (``uow.outbox``)."""

    @property
    def outbox(self) -> OutboxRepository: ...


async def queue_email(tx: Transaction[Any], message: NewOutboxMessage) -> OutboxMessage:
    """Queue ``message`` in the transaction ``tx`` of the use case that causes it.

    The message commits or rolls back with the rest of ``tx``; after the commit, workers in
    this process are woken (:class:`OutboxMessageQueued`).

    Args:
        tx: A writing transaction whose unit of work carries ``outbox``.
        message: What to send.

    Returns:
        The queued message, with its id.
    """
    uow: OutboxUnitOfWork = tx.uow
    queued = await uow.outbox.add(message)
    tx.record(OutboxMessageQueued(queued.kind, queued.message_id))
    return queued


async def queue_emails(tx: Transaction[Any], messages: Sequence[NewOutboxMessage]) -> None:
    """Queue several messages in ``tx`` in a bounded number of statements (a broadcast).

    Args:
        tx: A writing transaction whose unit of work carries ``outbox``.
        messages: What to send; nothing happens for none.
    """
    if not messages:
        return
    uow: OutboxUnitOfWork = tx.uow
    await uow.outbox.add_many(messages)
    tx.record(OutboxMessageQueued(messages[0].kind, messages[0].message_id))
