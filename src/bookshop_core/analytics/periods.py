"""Report periods in a time zone: where today, this ISO week and this month begin, and the
matching span of the previous period.

Boundaries are wall-clock instants of the zone (midnight, Monday 00:00, the 1st at 00:00)
converted to UTC, so a period that contains a daylight-saving change is 23 or 25 hours longer
or shorter in UTC and still starts at local midnight. A wall-clock time that does not exist
(a midnight skipped by a DST change) resolves to the first instant after the gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bookshop_core.analytics.entities import Period, TimeSpan

__all__ = ["RESOLUTION", "period_spans", "period_start"]

#: The finest instant the stores keep (PostgreSQL and SQLite both keep microseconds): "up to
#: now, inclusive" is the half-open span ending one resolution after now.
RESOLUTION = timedelta(microseconds=1)


def period_start(period: Period, day: date) -> date:
    """The first local day of the period that contains ``day``."""
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())  # ISO weeks begin on Monday
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


def _previous_start(period: Period, start: date) -> date:
    if period is Period.WEEK:
        return start - timedelta(days=7)
    if period is Period.MONTH:
        return (start - timedelta(days=1)).replace(day=1)
    return start - timedelta(days=1)


def _utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time of ``zone`` as an aware UTC instant (``fold=0``: the earlier
    of a repeated hour; a skipped time maps past the gap)."""
    return wall.replace(tzinfo=zone).astimezone(UTC)


def period_spans(period: Period, now: datetime, zone: ZoneInfo) -> tuple[TimeSpan, TimeSpan]:
    """The current period up to ``now`` and the same elapsed span of the previous period.

    "The same elapsed span" is measured on the wall clock: at 10:00 on a Monday, today is
    compared with Sunday 00:00-10:00 local time, even when Sunday was 23 hours long. It never
    runs past the previous period's end (on March 31st the previous span is all of February).

    Args:
        period: Today, this ISO week or this calendar month.
        now: The current instant (aware).
        zone: The time zone the period's boundaries are in.

    Returns:
        ``(current, previous)``: half-open UTC spans; ``current`` includes ``now``.
    """
    local_now = now.astimezone(zone).replace(tzinfo=None)
    start = datetime.combine(period_start(period, local_now.date()), time())
    previous_start = datetime.combine(_previous_start(period, start.date()), time())
    elapsed = local_now - start + RESOLUTION
    previous_end = min(previous_start + elapsed, start)
    current = TimeSpan(_utc(start, zone), now.astimezone(UTC) + RESOLUTION)
    previous = TimeSpan(_utc(previous_start, zone), _utc(previous_end, zone))
    return current, previous
