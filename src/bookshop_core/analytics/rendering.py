"""The reports as JSON-ready dicts, in the shape of the HTTP API (``API.md``): money and
percentages as numbers rounded half-up to cents here, and only here; instants as ISO-8601 UTC.

Frontends share these (the HTTP example's responses, the CLI's ``--json``), so the two never
disagree on a figure.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bookshop_core.analytics.entities import LowStockReport, SalesSummary, TopBooks
from bookshop_core.kernel.money import CENT

__all__ = ["low_stock_dict", "render_amount", "sales_summary_dict", "top_books_dict"]


def render_amount(amount: Decimal) -> float:
    """An exact amount or percentage rounded half-up to 2 decimals, as a JSON number.

    The float is the one nearest the 2-decimal value, so it prints as that value
    (``15.99``, never ``15.990000000000002``).
    """
    return float(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def sales_summary_dict(summary: SalesSummary) -> dict[str, Any]:
    """The summary as the wire has it (money rounded here, and only here)."""
    delta = summary.delta_percentage
    return {
        "period": summary.period.value,
        "revenue": render_amount(summary.revenue),
        "order_count": summary.order_count,
        "aov": render_amount(summary.aov),
        "delta_percentage": None if delta is None else render_amount(delta),
        "time_zone": summary.time_zone,
        "start": summary.current.start.isoformat(),
        "end": summary.current.end.isoformat(),
        "previous_start": summary.previous.start.isoformat(),
        "previous_end": summary.previous.end.isoformat(),
        "previous_revenue": render_amount(summary.previous_revenue),
        "previous_order_count": summary.previous_order_count,
    }


def top_books_dict(report: TopBooks) -> dict[str, Any]:
    """The best sellers as the wire has them."""
    return {
        "sort_by": report.sort_by.value,
        "period": None if report.period is None else report.period.value,
        "items": [
            {
                "book_id": item.book_id,
                "title": item.title,
                "author": item.author,
                "total_revenue": render_amount(item.total_revenue),
                "units_sold": item.units_sold,
            }
            for item in report.items
        ],
    }


def low_stock_dict(report: LowStockReport) -> dict[str, Any]:
    """The low-stock report as the wire has it (the threshold echoed on every item too)."""
    return {
        "threshold": report.threshold,
        "total_low_stock": report.total,
        "items": [
            {
                "book_id": item.book_id,
                "title": item.title,
                "author": item.author,
                "current_stock": item.current_stock,
                "threshold": report.threshold,
            }
            for item in report.items
        ],
    }
