"""Column types shared by every table of the SQL adapter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bookshop_core.kernel.clock import ensure_utc

__all__ = ["UTCDateTime"]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant, on every backend.

    Binds aware datetimes only (any offset, converted to UTC; naive values are refused, never
    guessed) and always loads aware UTC datetimes. PostgreSQL stores ``timestamptz``; SQLite,
    which has no time zone type, stores the naive UTC wall time as fixed-width text, so string
    order is chronological order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime expects a datetime, got {type(value).__name__}")
        instant = ensure_utc(value)
        if dialect.name == "sqlite":
            return instant.replace(tzinfo=None)
        return instant

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers always parse it
            raise TypeError(f"UTCDateTime loaded a {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
