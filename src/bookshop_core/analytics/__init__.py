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
from bookshop_core.analytics.use_cases import Analytics, AnalyticsSettings, render_amount

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
    "period_spans",
    "render_amount",
    "time_zone",
]
