"""The SQL outbox repository.

Statement budget: every method is one statement (``list`` two: the page and its total), so a
dispatch pass costs the same whatever the batch size. :meth:`SqlOutboxRepository.claim` is one
``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING``:

- PostgreSQL: the subquery takes the row locks ``FOR UPDATE SKIP LOCKED``, so concurrent
  claims in any number of processes skip each other's rows instead of waiting, and a row
  claimed (and committed) meanwhile no longer matches when re-checked.
- SQLite: the write transaction (``BEGIN IMMEDIATE``) is serialised by the database, so the
  one statement runs alone.

``mark_failed`` and ``release`` are one ``executemany`` each, guarded by the attempt the
claim returned, so a dispatcher that lost its lease cannot overwrite a newer claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row, and_, bindparam, func, insert, or_, select, update

from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import OutboxMessageRow, table_of
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.notifications.outbox import (
    DeliveryFailure,
    NewOutboxMessage,
    OutboxMessage,
    OutboxStatus,
)

__all__ = ["SqlOutboxRepository"]

_outbox: Final = table_of(OutboxMessageRow)
_c: Final = _outbox.c

_COLUMNS: Final = (
    _c.id,
    _c.message_id,
    _c.kind,
    _c.recipients,
    _c.variables,
    _c.status,
    _c.attempts,
    _c.next_attempt_at,
    _c.claimed_until,
    _c.last_error,
    _c.created_at,
    _c.sent_at,
)

_PENDING: Final = OutboxStatus.PENDING.value
_SENDING: Final = OutboxStatus.SENDING.value

#: Messages inserted per statement by ``add_many`` (well under every driver's bind limit).
_INSERT_BATCH: Final = 500


def _from_row(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        message_id=row.message_id,
        kind=row.kind,
        recipients=tuple(row.recipients),
        variables=dict(row.variables),
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        claimed_until=row.claimed_until,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def _values(message: NewOutboxMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "kind": message.kind,
        "recipients": list(message.recipients),
        "variables": dict(message.variables),
        "status": _PENDING,
        "attempts": 0,
        "next_attempt_at": message.created_at,
        "claimed_until": None,
        "last_error": None,
        "created_at": message.created_at,
        "sent_at": None,
    }


#: The claimed attempt of one message: still sending, with the attempt count its claim set.
_IN_ATTEMPT: Final = and_(
    _c.id == bindparam("b_id"),
    _c.status == _SENDING,
    _c.attempts == bindparam("b_attempt"),
)

_MARK_FAILED: Final = (
    update(_outbox)
    .where(_IN_ATTEMPT)
    .values(
        status=bindparam("b_status"),
        next_attempt_at=func.coalesce(
            bindparam("b_next", type_=_c.next_attempt_at.type), _c.next_attempt_at
        ),
        claimed_until=None,
        last_error=bindparam("b_error"),
    )
)

_RELEASE: Final = (
    update(_outbox)
    .where(_IN_ATTEMPT)
    .values(status=_PENDING, claimed_until=None, attempts=_c.attempts - 1)
)


#: ``add``: built once, the message as its parameters (compiled once and cached; a statement
#: built with ``.values(**row)`` on every call costs a cache key of its values each time).
_ADD: Final = insert(_outbox).returning(_c.id)


def _queued(message_id: int, message: NewOutboxMessage) -> OutboxMessage:
    """The message as :meth:`SqlOutboxRepository.add` stored it (as the memory store keeps it:
    nothing is read back but the id)."""
    return OutboxMessage(
        id=message_id,
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


class SqlOutboxRepository(SqlRepository):
    """Queued emails in the ``outbox_messages`` table."""

    async def add(self, message: NewOutboxMessage) -> OutboxMessage:
        """Insert ``message`` and return it with its id (one prebuilt ``INSERT ... RETURNING
        id``)."""
        result = await self._execute(_ADD, _values(message))
        return _queued(result.scalar_one(), message)

    async def add_many(self, messages: Sequence[NewOutboxMessage]) -> None:
        """Insert every message, :data:`_INSERT_BATCH` rows per statement."""
        for start in range(0, len(messages), _INSERT_BATCH):
            rows = [_values(m) for m in messages[start : start + _INSERT_BATCH]]
            await self._execute(insert(_outbox).values(rows))

    async def get(self, message_id: int) -> OutboxMessage | None:
        """The message with this id."""
        result = await self._execute(select(*_COLUMNS).where(_c.id == message_id))
        row = result.first()
        return None if row is None else _from_row(row)

    async def claim(self, limit: int, *, now: datetime, lease: timedelta) -> list[OutboxMessage]:
        """Claim up to ``limit`` due messages in one statement (see the module docstring)."""
        due = (
            select(_c.id)
            .where(
                or_(
                    and_(_c.status == _PENDING, _c.next_attempt_at <= now),
                    and_(_c.status == _SENDING, _c.claimed_until <= now),
                )
            )
            .order_by(_c.next_attempt_at, _c.id)
            .limit(limit)
        )
        if self._dialect_name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(_outbox)
            .where(_c.id.in_(due.scalar_subquery()))
            .values(status=_SENDING, attempts=_c.attempts + 1, claimed_until=now + lease)
            .returning(*_COLUMNS)
        )
        result = await self._execute(statement)
        # RETURNING follows no ORDER BY: sort as the claim chose.
        return sorted(map(_from_row, result), key=lambda m: (m.next_attempt_at, m.id))

    async def mark_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        """Mark these messages sent, if still sending (one statement)."""
        if not ids:
            return
        await self._execute(
            update(_outbox)
            .where(_c.id.in_(list(ids)), _c.status == _SENDING)
            .values(status=OutboxStatus.SENT.value, sent_at=now, claimed_until=None)
        )

    async def mark_failed(self, failures: Sequence[DeliveryFailure]) -> None:
        """Record failed attempts (one ``executemany``)."""
        if not failures:
            return
        await self._execute(
            _MARK_FAILED,
            [
                {
                    "b_id": f.id,
                    "b_attempt": f.attempt,
                    "b_status": OutboxStatus.DEAD.value if f.next_attempt_at is None else _PENDING,
                    "b_next": f.next_attempt_at,
                    "b_error": f.error,
                }
                for f in failures
            ],
        )

    async def release(self, ids_and_attempts: Sequence[tuple[int, int]]) -> None:
        """Give back untried claims (one ``executemany``)."""
        if not ids_and_attempts:
            return
        await self._execute(
            _RELEASE, [{"b_id": i, "b_attempt": attempt} for i, attempt in ids_and_attempts]
        )

    async def list(self, status: OutboxStatus | None, page: PageRequest) -> Page[OutboxMessage]:
        """One page, newest first, and the exact total (two statements)."""
        condition = [] if status is None else [_c.status == status.value]
        rows = await self._execute(
            select(*_COLUMNS)
            .where(*condition)
            .order_by(_c.id.desc())
            .offset(page.offset)
            .limit(page.limit)
        )
        items = [_from_row(row) for row in rows]
        total = (
            await self._execute(select(func.count()).select_from(_outbox).where(*condition))
        ).scalar_one()
        return Page.of(items, total, page)

    async def retry(self, message_id: int, *, now: datetime) -> OutboxMessage | None:
        """Dead -> pending, due now, attempts from 0 (one ``UPDATE ... RETURNING``)."""
        result = await self._execute(
            update(_outbox)
            .where(_c.id == message_id, _c.status == OutboxStatus.DEAD.value)
            .values(status=_PENDING, attempts=0, next_attempt_at=now, claimed_until=None)
            .returning(*_COLUMNS)
        )
        row = result.first()
        return None if row is None else _from_row(row)
