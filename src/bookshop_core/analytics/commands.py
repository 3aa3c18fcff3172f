"""Analytics queries: what an admin asks for, checked on construction (every bad field in one
``ValidationError``). Build them directly, or from query strings with
``bookshop_core.structure``."""

from __future__ import annotations

import enum
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import field, frozen

from bookshop_core.analytics.entities import Period, TopBooksSort
from bookshop_core.catalog.commands import MAX_STOCK
from bookshop_core.errors import ValidationError
from bookshop_core.kernel.validation import (
    Problems,
    check_fields,
    install_normalisers,
    integer,
    rule,
)

__all__ = [
    "DEFAULT_LOW_STOCK_LIMIT",
    "DEFAULT_LOW_STOCK_THRESHOLD",
    "DEFAULT_TOP_LIMIT",
    "MAX_LOW_STOCK_LIMIT",
    "MAX_LOW_STOCK_THRESHOLD",
    "MAX_TOP_LIMIT",
    "LowStockQuery",
    "SalesSummaryQuery",
    "TopBooksQuery",
    "time_zone",
]

DEFAULT_TOP_LIMIT: Final = 10
MAX_TOP_LIMIT: Final = 50
DEFAULT_LOW_STOCK_THRESHOLD: Final = 10
#: The largest threshold accepted (the largest stock a book can have).
MAX_LOW_STOCK_THRESHOLD: Final = MAX_STOCK
DEFAULT_LOW_STOCK_LIMIT: Final = 100
MAX_LOW_STOCK_LIMIT: Final = 500
#: IANA names are short ("America/Argentina/ComodRivadavia" is among the longest).
_MAX_ZONE_NAME: Final = 64


def time_zone(name: str, field_name: str = "tz") -> ZoneInfo:
    """The IANA time zone called ``name`` (``"UTC"``, ``"Europe/Berlin"``).

    Raises:
        ValidationError: not a string, or no such zone (like an unknown enum value: a
            request-shape error naming ``field_name``).
    """
    if not isinstance(name, str):
        raise ValidationError.single(field_name, "must be a string", "type_error")
    unknown = ValidationError.single(
        field_name,
        f"must be an IANA time zone such as UTC or Europe/Berlin, not {name[:_MAX_ZONE_NAME]!r}",
    )
    if not name or len(name) > _MAX_ZONE_NAME or not name.isprintable() or not name.isascii():
        raise unknown
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: a path-like key ("../etc/passwd"); OSError: a directory ("Europe").
        raise unknown from None


def _enum_rule(kind: type[enum.StrEnum], *, nullable: bool) -> Any:
    def normalise(value: Any) -> Any:
        try:
            return kind(value) if isinstance(value, str) else value
        except ValueError:
            return value

    def check(problems: Problems, name: str, value: Any) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, kind):
            problems.add(name, f"must be one of: {', '.join(kind)}", "enum")

    return rule(check, normalise)


def _check_zone(problems: Problems, name: str, value: Any) -> None:
    if value is None:
        return
    try:
        time_zone(value, name)
    except ValidationError as exc:
        problems.absorb(exc)


@frozen(field_transformer=install_normalisers)
class SalesSummaryQuery:
    """The sales of the current period so far.

    Args:
        period: ``today``, ``week`` (ISO, from Monday) or ``month``.
        tz: An IANA time zone for the period's boundaries (default: the shop's).
    """

    period: Period = field(default=Period.TODAY, metadata=_enum_rule(Period, nullable=False))
    tz: str | None = field(default=None, metadata=rule(_check_zone))

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen(field_transformer=install_normalisers)
class TopBooksQuery:
    """The best sellers.

    Args:
        sort_by: Rank by ``revenue`` or ``volume`` (copies).
        limit: How many books (1..50).
        period: Only sales of the current ``today``/``week``/``month`` (default: all time).
        tz: An IANA time zone for the period's boundaries (default: the shop's).
    """

    sort_by: TopBooksSort = field(
        default=TopBooksSort.REVENUE, metadata=_enum_rule(TopBooksSort, nullable=False)
    )
    limit: int = field(default=DEFAULT_TOP_LIMIT, metadata=integer(1, MAX_TOP_LIMIT))
    period: Period | None = field(default=None, metadata=_enum_rule(Period, nullable=True))
    tz: str | None = field(default=None, metadata=rule(_check_zone))

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen(field_transformer=install_normalisers)
class LowStockQuery:
    """The books running out.

    Args:
        threshold: Books with at most this many copies (0 up to the largest stock; default 10).
        limit: How many of them to list (1..500; default 100); the report's total counts all.
    """

    threshold: int = field(
        default=DEFAULT_LOW_STOCK_THRESHOLD, metadata=integer(0, MAX_LOW_STOCK_THRESHOLD)
    )
    limit: int = field(default=DEFAULT_LOW_STOCK_LIMIT, metadata=integer(1, MAX_LOW_STOCK_LIMIT))

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()
