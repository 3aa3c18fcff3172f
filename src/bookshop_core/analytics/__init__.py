"""The analytics context (admins): sales of today / this ISO week / this month in the shop's
time zone against the same span of the previous period, best sellers by revenue or volume, and
low stock; each report is one aggregate of the store, in exact money."""

from bookshop_core.analytics.commands import (
    LowStockQuery,
    SalesSummaryQuery,
    TopBooksQuery,
    time_zone,
)
from bookshop_core.analytics.entities import (
    LowStockBook,
    LowStockReport,
    Period,
    SalesSummary,
    SalesTotals,
    TimeSpan,
    TopBook,
    TopBooks,
    TopBooksSort,
)
from bookshop_core.analytics.periods import period_spans
from bookshop_core.analytics.ports import AnalyticsUnitOfWork, ReportRepository
from bookshop_core.analytics.rendering import (
    low_stock_dict,
    render_amount,
    sales_summary_dict,
    top_books_dict,
)
from bookshop_core.analytics.use_cases import Analytics, AnalyticsSettings

__all__ = [
    "Analytics",
    "AnalyticsSettings",
    "AnalyticsUnitOfWork",
    "LowStockBook",
    "LowStockQuery",
    "LowStockReport",
    "Period",
    "ReportRepository",
    "SalesSummary",
    "SalesSummaryQuery",
    "SalesTotals",
    "TimeSpan",
    "TopBook",
    "TopBooks",
    "TopBooksQuery",
    "TopBooksSort",
    "low_stock_dict",
    "period_spans",
    "render_amount",
    "sales_summary_dict",
    "time_zone",
    "top_books_dict",
]
