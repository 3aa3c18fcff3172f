"""Outbox administration: admins see queued, sent and dead emails, and retry dead ones."""

from __future__ import annotations

import logging

from attrs import field, frozen

from bookshop_core.errors import FieldError, ValidationError
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest
from bookshop_core.kernel.principal import Principal, require_admin
from bookshop_core.kernel.uow import Transactions
from bookshop_core.notifications.errors import OutboxMessageNotFound, OutboxNotDead
from bookshop_core.notifications.outbox import (
    OutboxMessage,
    OutboxMessageQueued,
    OutboxStatus,
    OutboxUnitOfWork,
)

__all__ = ["ListOutbox", "OutboxAdmin"]

log = logging.getLogger("bookshop.notifications")


def _status(value: OutboxStatus | str | None) -> OutboxStatus | None:
    if value is None or isinstance(value, OutboxStatus):
        return value
    try:
        return OutboxStatus(value)
    except ValueError:
        choices = ", ".join(s.value for s in OutboxStatus)
        raise ValidationError.single("status", f"must be one of {choices}") from None


@frozen
class ListOutbox:
    """Filter and page for the admin's list of outbox messages (newest first).

    Args:
        status: Only messages in this status (``"pending"``, ``"sending"``, ``"sent"``,
            ``"dead"``); all by default.
        page: From 1.
        per_page: From 1 to 100.

    Raises:
        ValidationError: an unknown status, a page or size out of range (all at once).
    """

    status: OutboxStatus | None = field(default=None, converter=_status)
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE

    def __attrs_post_init__(self) -> None:
        try:
            PageRequest(self.page, self.per_page)
        except ValidationError as exc:
            raise ValidationError(
                [
                    FieldError(("per_page",) if e.loc == ("size",) else e.loc, e.msg, e.type)
                    for e in exc.errors
                ]
            ) from None

    @property
    def page_request(self) -> PageRequest:
        return PageRequest(self.page, self.per_page)


class OutboxAdmin:
    """Admin use cases on the outbox; every method requires an admin ``Principal``
    (``AUTH_FORBIDDEN`` otherwise).

    Args:
        transactions: Opens units of work carrying the outbox.
        clock: The source of "now" (a retried message is due at once).
    """

    def __init__(self, transactions: Transactions[OutboxUnitOfWork], clock: Clock) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)

    async def list_messages(
        self, principal: Principal, query: ListOutbox | None = None
    ) -> Page[OutboxMessage]:
        """One page of outbox messages, newest first, optionally of one status.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN`` for non-admins.
        """
        require_admin(principal)
        query = query or ListOutbox()
        async with self._tx.read() as uow:
            return await uow.outbox.list(query.status, query.page_request)

    async def get_message(self, principal: Principal, message_id: int) -> OutboxMessage:
        """One outbox message.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``OUTBOX_MESSAGE_NOT_FOUND``.
            ValidationError: ``message_id`` is not a positive id.
        """
        require_admin(principal)
        check_id(message_id, "message_id")
        async with self._tx.read() as uow:
            message = await uow.outbox.get(message_id)
        if message is None:
            raise _not_found(message_id)
        return message

    async def retry(self, principal: Principal, message_id: int) -> OutboxMessage:
        """Give a dead message a fresh set of attempts: pending, due now, attempts from 0
        (its last error is kept until the next attempt). Atomic: of two admins retrying at
        once, one succeeds and the other gets ``OUTBOX_NOT_DEAD``.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``OUTBOX_MESSAGE_NOT_FOUND``.
            Conflict: ``OUTBOX_NOT_DEAD`` for a pending, sending or sent message
                (``details["status"]``).
            ValidationError: ``message_id`` is not a positive id.
        """
        require_admin(principal)
        check_id(message_id, "message_id")
        async with self._tx.write() as tx:
            revived = await tx.uow.outbox.retry(message_id, now=self._clock.now())
            if revived is None:
                current = await tx.uow.outbox.get(message_id)
                if current is None:
                    raise _not_found(message_id)
                raise OutboxNotDead(
                    f"Outbox message {message_id} is {current.status.value}, not dead",
                    details={"status": current.status.value},
                )
            tx.record(OutboxMessageQueued(revived.kind, revived.message_id))  # wake workers
            await tx.commit()
        log.info("outbox message %d retried by %d", message_id, principal.user_id)
        return revived


def _not_found(message_id: int) -> OutboxMessageNotFound:
    return OutboxMessageNotFound(f"Outbox message {message_id} not found")
