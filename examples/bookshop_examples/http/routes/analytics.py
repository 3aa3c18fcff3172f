"""Admin analytics: the sales of today / this ISO week / this month, the best sellers and the
books running out of stock.

Each route takes an active admin (:data:`~bookshop_examples.http.deps.AdminDep`). Money and
percentages are JSON numbers rounded half-up to 2 decimals, computed exactly and rounded only
here (:mod:`bookshop_core.analytics.rendering`). Periods begin at midnight, Monday 00:00
or the 1st in the shop's time zone (``BOOKSHOP_ANALYTICS_TIME_ZONE``, default UTC), or in the
``tz`` query parameter's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from bookshop_core.analytics import (
    LowStockQuery,
    Period,
    SalesSummaryQuery,
    TopBooksQuery,
    TopBooksSort,
    low_stock_dict,
    sales_summary_dict,
    top_books_dict,
)
from bookshop_core.analytics.commands import (
    DEFAULT_LOW_STOCK_LIMIT,
    DEFAULT_LOW_STOCK_THRESHOLD,
    DEFAULT_TOP_LIMIT,
    MAX_LOW_STOCK_LIMIT,
    MAX_TOP_LIMIT,
)
from bookshop_examples.http.deps import ADMIN_AUTH_CODES, AdminDep, ShopDep, structure_query
from bookshop_examples.http.errors import error_responses
from bookshop_examples.http.wire import Timestamp

__all__ = ["LowStockOut", "SalesSummaryOut", "TopBooksOut", "router"]

router = APIRouter(tags=["analytics"])

# -- wire models ------------------------------------------------------------------------------


class SalesSummaryOut(BaseModel):
    """The current period so far against the same elapsed span of the previous one."""

    period: str
    revenue: float = Field(description="Sum of quantity x unit price, rounded to cents.")
    order_count: int = Field(description="Distinct confirmed, shipped or delivered orders.")
    aov: float = Field(description="Average order value: revenue / order_count, or 0.")
    delta_percentage: float | None = Field(
        description="Revenue change against the previous span in percent; null when that "
        "span sold nothing."
    )
    time_zone: str = Field(description="The zone the period's boundaries are in.")
    start: Timestamp = Field(description="The period's first instant (UTC).")
    end: Timestamp = Field(description="The end of the span reported (exclusive; now + 1 us).")
    previous_start: Timestamp
    previous_end: Timestamp
    previous_revenue: float
    previous_order_count: int


class TopBookOut(BaseModel):
    """A best seller; ``book_id`` is null for a book deleted since (listed under its title at
    purchase)."""

    book_id: int | None
    title: str
    author: str
    total_revenue: float
    units_sold: int


class TopBooksOut(BaseModel):
    """Best first, ties by book id."""

    sort_by: str
    period: str | None
    items: list[TopBookOut]


class LowStockItemOut(BaseModel):
    """A book at or below the threshold."""

    book_id: int
    title: str
    author: str
    current_stock: int
    threshold: int


class LowStockOut(BaseModel):
    """Books at or below the threshold, stock ascending then id (at most ``limit``)."""

    threshold: int
    total_low_stock: int = Field(description="How many books are low, listed or not.")
    items: list[LowStockItemOut]


def _enum(kind: type[Period] | type[TopBooksSort]) -> dict[str, Any]:
    return {"enum": [member.value for member in kind]}


TimeZoneParam = Annotated[
    str | None,
    Query(
        description="An IANA time zone for the period's boundaries (default: the shop's).",
        json_schema_extra={"examples": ["UTC", "Europe/Berlin"]},
    ),
]

_RESPONSES = error_responses(401, 403, 422, codes=ADMIN_AUTH_CODES)


# -- routes -----------------------------------------------------------------------------------


@router.get(
    "/admin/analytics/sales/summary",
    response_model=SalesSummaryOut,
    responses=_RESPONSES,
    summary="Sales of the current period",
)
async def sales_summary(
    shop: ShopDep,
    principal: AdminDep,
    period: Annotated[
        str | None,
        Query(
            description="today (default), week (ISO, from Monday) or month.",
            json_schema_extra=_enum(Period),
        ),
    ] = None,
    tz: TimeZoneParam = None,
) -> Any:
    """Revenue, distinct orders and average order value of the current period so far, and
    the change against the same elapsed span of the previous period (at 10:00 on a Monday:
    against Sunday 00:00-10:00)."""
    query = structure_query(SalesSummaryQuery, period=period, tz=tz)
    return sales_summary_dict(await shop.analytics.sales_summary(principal, query))


@router.get(
    "/admin/analytics/sales/top-books",
    response_model=TopBooksOut,
    responses=_RESPONSES,
    summary="Best-selling books",
)
async def top_books(
    shop: ShopDep,
    principal: AdminDep,
    sort_by: Annotated[
        str | None,
        Query(
            description="revenue (default) or volume (copies sold).",
            json_schema_extra=_enum(TopBooksSort),
        ),
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            description=f"How many books (default {DEFAULT_TOP_LIMIT}).",
            json_schema_extra={"minimum": 1, "maximum": MAX_TOP_LIMIT},
        ),
    ] = None,
    period: Annotated[
        str | None,
        Query(
            description="Only the current today/week/month (default: all time).",
            json_schema_extra=_enum(Period),
        ),
    ] = None,
    tz: TimeZoneParam = None,
) -> Any:
    """The best sellers by revenue or by copies sold, ties by book id; a book deleted since
    is listed under its title at purchase with ``book_id`` null. Cancelled orders and failed
    payments never count."""
    query = structure_query(TopBooksQuery, sort_by=sort_by, limit=limit, period=period, tz=tz)
    return top_books_dict(await shop.analytics.top_books(principal, query))


@router.get(
    "/admin/analytics/inventory/low-stock",
    response_model=LowStockOut,
    responses=_RESPONSES,
    summary="Books running out of stock",
)
async def low_stock(
    shop: ShopDep,
    principal: AdminDep,
    threshold: Annotated[
        int | None,
        Query(
            description=f"At most this many copies (default {DEFAULT_LOW_STOCK_THRESHOLD}).",
            json_schema_extra={"minimum": 0},
        ),
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            description=f"List at most this many (default {DEFAULT_LOW_STOCK_LIMIT}); "
            "total_low_stock counts them all.",
            json_schema_extra={"minimum": 1, "maximum": MAX_LOW_STOCK_LIMIT},
        ),
    ] = None,
) -> Any:
    """Books at or below the threshold, stock ascending then id, the threshold echoed."""
    query = structure_query(LowStockQuery, threshold=threshold, limit=limit)
    return low_stock_dict(await shop.analytics.low_stock(principal, query))
