"""The Clock port: the only source of "now" in the core."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock", "UtcClock", "ensure_utc", "utc_clock"]


@runtime_checkable
class Clock(Protocol):
    """Tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; for tests and simulations.

    Args:
        start: The initial instant (aware); defaults to 2024-01-01T00:00:00Z.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start or datetime(2024, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; returns the new now."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a ManualClock never goes backwards")
        self._now += step
        return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (aware)."""
        self._now = ensure_utc(instant)


def ensure_utc(instant: datetime) -> datetime:
    """Normalise an aware datetime to UTC; naive datetimes are refused, never guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetimes are not accepted; pass an aware UTC datetime")
    return instant.astimezone(UTC)


class UtcClock:
    """Any clock, answering in UTC: an aware instant in another offset is converted, and a
    naive one refused (``ValueError``), so timestamps are UTC whichever clock is plugged in.

    Args:
        clock: The clock to ask.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return ensure_utc(self.clock.now())


def utc_clock(clock: Clock) -> Clock:
    """``clock`` as a clock that always answers in UTC (the built-in clocks already do)."""
    if type(clock) in (SystemClock, ManualClock, UtcClock):
        return clock
    return UtcClock(clock)
