"""The in-memory outbox: the reference model of ``OutboxRepository``.

Transactions of the memory backend are serialised by the store's lock, so a claim (select the
due messages, then mark them) is atomic, as the SQL backends' single ``UPDATE`` is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.notifications.outbox import (
    DeliveryFailure,
    NewOutboxMessage,
    OutboxMessage,
    OutboxStatus,
)

__all__ = ["MemoryOutboxRepository"]


class MemoryOutboxRepository:
    """Outbox messages by id in the ``outbox_messages`` table.

    Args:
        store: The shop's in-memory tables.
        journal: The unit of work's undo journal.
    """

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._rows: dict[int, OutboxMessage] = store.table("outbox_messages")
        self._message_ids: dict[str, int] = store.table("outbox_messages_by_message_id")
        self._journal = journal

    def _put(self, message: OutboxMessage) -> None:
        self._journal.put(self._rows, message.id, message)

    async def add(self, message: NewOutboxMessage) -> OutboxMessage:
        """Queue ``message``; returns it with its id."""
        if message.message_id in self._message_ids:  # mirrors the SQL unique constraint
            raise ValueError("duplicate outbox message_id")
        stored = OutboxMessage(
            id=self._store.next_id("outbox_messages"),
            message_id=message.message_id,
            kind=message.kind,
            recipients=message.recipients,
            variables=dict(message.variables),
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=message.created_at,
            claimed_until=None,
            last_error=None,
            created_at=message.created_at,
            sent_at=None,
        )
        self._put(stored)
        self._journal.put(self._message_ids, stored.message_id, stored.id)
        return stored

    async def add_many(self, messages: Sequence[NewOutboxMessage]) -> None:
        """Queue every message."""
        for message in messages:
            await self.add(message)

    async def get(self, message_id: int) -> OutboxMessage | None:
        """The message with this id."""
        return self._rows.get(message_id)

    async def claim(self, limit: int, *, now: datetime, lease: timedelta) -> list[OutboxMessage]:
        """Take up to ``limit`` claimable messages, most overdue first."""
        due = sorted(
            (m for m in self._rows.values() if m.is_claimable(now)),
            key=lambda m: (m.next_attempt_at, m.id),
        )[:limit]
        claimed = [
            attrs.evolve(
                m,
                status=OutboxStatus.SENDING,
                attempts=m.attempts + 1,
                claimed_until=now + lease,
            )
            for m in due
        ]
        for message in claimed:
            self._put(message)
        return claimed

    async def mark_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        """Mark these messages sent (those still sending)."""
        for message_id in ids:
            message = self._rows.get(message_id)
            if message is not None and message.status is OutboxStatus.SENDING:
                self._put(
                    attrs.evolve(message, status=OutboxStatus.SENT, sent_at=now, claimed_until=None)
                )

    async def mark_failed(self, failures: Sequence[DeliveryFailure]) -> None:
        """Back to pending at each failure's ``next_attempt_at``, or dead."""
        for failure in failures:
            message = self._rows.get(failure.id)
            if not _in_attempt(message, failure.attempt):
                continue
            assert message is not None
            if failure.next_attempt_at is None:
                changed = attrs.evolve(
                    message, status=OutboxStatus.DEAD, claimed_until=None, last_error=failure.error
                )
            else:
                changed = attrs.evolve(
                    message,
                    status=OutboxStatus.PENDING,
                    claimed_until=None,
                    next_attempt_at=failure.next_attempt_at,
                    last_error=failure.error,
                )
            self._put(changed)

    async def release(self, ids_and_attempts: Sequence[tuple[int, int]]) -> None:
        """Pending again, the attempt not counted."""
        for message_id, attempt in ids_and_attempts:
            message = self._rows.get(message_id)
            if _in_attempt(message, attempt):
                assert message is not None
                self._put(
                    attrs.evolve(
                        message,
                        status=OutboxStatus.PENDING,
                        claimed_until=None,
                        attempts=message.attempts - 1,
                    )
                )

    async def list(self, status: OutboxStatus | None, page: PageRequest) -> Page[OutboxMessage]:
        """One page, newest first."""
        matching = sorted(
            (m for m in self._rows.values() if status is None or m.status is status),
            key=lambda m: m.id,
            reverse=True,
        )
        return Page.of(matching[page.offset : page.offset + page.limit], len(matching), page)

    async def retry(self, message_id: int, *, now: datetime) -> OutboxMessage | None:
        """Dead -> pending, due now, attempts from 0."""
        message = self._rows.get(message_id)
        if message is None or message.status is not OutboxStatus.DEAD:
            return None
        revived = attrs.evolve(
            message, status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now
        )
        self._put(revived)
        return revived


def _in_attempt(message: OutboxMessage | None, attempt: int) -> bool:
    """Whether ``message`` is still in the claim that made attempt ``attempt``."""
    return (
        message is not None
        and message.status is OutboxStatus.SENDING
        and message.attempts == attempt
    )
