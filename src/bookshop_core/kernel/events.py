"""Domain events and the bus that delivers them.

A use case records events on its transaction. Handlers subscribed *in transaction* run before
the commit, inside the same unit of work, so what they write commits or rolls back with the
change that caused it (e.g. marking pre-bookings notified and queueing emails). Handlers
subscribed *after commit* run once the change is durable, and never for a rolled-back change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from attrs import frozen

__all__ = ["AfterCommitHandler", "DomainEvent", "EventBus", "InTransactionHandler"]

log = logging.getLogger("bookshop.events")


@frozen
class DomainEvent:
    """Base class of every event; subclasses are frozen attrs classes."""


E = TypeVar("E", bound=DomainEvent)
InTransactionHandler = Callable[[Any, Any], Awaitable[None]]
"""``async def handler(event, uow) -> None``: runs inside the transaction."""
AfterCommitHandler = Callable[[Any], Awaitable[None]]
"""``async def handler(event) -> None``: runs after the commit; failures are logged."""


class EventBus:
    """Routes events to handlers by type (subclasses of the subscribed type included)."""

    def __init__(self) -> None:
        self._in_tx: dict[type[DomainEvent], list[InTransactionHandler]] = defaultdict(list)
        self._after: dict[type[DomainEvent], list[AfterCommitHandler]] = defaultdict(list)

    def subscribe_in_transaction(
        self, event_type: type[E], handler: Callable[[E, Any], Awaitable[None]]
    ) -> None:
        """Run ``handler(event, uow)`` inside the transaction that records ``event_type``."""
        self._in_tx[event_type].append(handler)

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        """Run ``handler(event)`` after the transaction that recorded ``event_type`` commits."""
        self._after[event_type].append(handler)

    async def run_in_transaction(self, event: DomainEvent, uow: object) -> None:
        for handler in self._matching(self._in_tx, event):
            await handler(event, uow)

    async def run_after_commit(self, event: DomainEvent) -> None:
        for handler in self._matching(self._after, event):
            try:
                await handler(event)
            except Exception:  # the change is committed; a handler's failure must not undo it
                log.exception("after-commit handler %r failed for %r", handler, event)

    @staticmethod
    def _matching(
        table: dict[type[DomainEvent], list[Callable[..., Awaitable[None]]]], event: DomainEvent
    ) -> list[Callable[..., Awaitable[None]]]:
        return [h for cls in type(event).__mro__ if cls in table for h in table[cls]]
