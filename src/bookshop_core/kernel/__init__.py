"""The shared kernel: money, time, ids, pagination, principals, events, units of work."""

from bookshop_core.kernel.clock import Clock, ManualClock, SystemClock, ensure_utc
from bookshop_core.kernel.events import DomainEvent, EventBus
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.money import (
    cents_to_money,
    money_to_cents,
    parse_money,
    quantize_money,
)
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.principal import Principal, Role, require_admin
from bookshop_core.kernel.uow import Transaction, Transactions, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "Clock",
    "DomainEvent",
    "EventBus",
    "ManualClock",
    "Page",
    "PageRequest",
    "Principal",
    "Role",
    "SystemClock",
    "Transaction",
    "Transactions",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "cents_to_money",
    "check_id",
    "ensure_utc",
    "money_to_cents",
    "parse_money",
    "quantize_money",
    "require_admin",
]
