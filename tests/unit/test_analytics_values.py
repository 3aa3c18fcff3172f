"""Analytics values without a store: query validation, the shop's time zone setting, the
derived figures and their rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings

from bookshop_adapters.testing import strategies as bs
from bookshop_core.analytics import (
    AnalyticsSettings,
    LowStockQuery,
    Period,
    SalesSummary,
    SalesSummaryQuery,
    TimeSpan,
    TopBooksQuery,
    render_amount,
    sales_summary_dict,
)
from bookshop_core.convert import structure
from bookshop_core.errors import ValidationError

_SPAN = TimeSpan(datetime(2024, 5, 15, tzinfo=UTC), datetime(2024, 5, 16, tzinfo=UTC))


def _summary(revenue: str, orders: int, previous: str) -> SalesSummary:
    return SalesSummary(
        period=Period.TODAY,
        time_zone="UTC",
        current=_SPAN,
        previous=_SPAN,
        revenue=Decimal(revenue),
        order_count=orders,
        previous_revenue=Decimal(previous),
        previous_order_count=1,
    )


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "Europe", "../../etc/passwd", "", "UTC\x00", "x" * 65, "Ünïcode"]
)
def test_an_unknown_time_zone_is_a_validation_error_on_tz(name: str) -> None:
    """Anything but an IANA zone name is VALIDATION_ERROR on ``tz`` (never a file lookup
    error)."""
    with pytest.raises(ValidationError) as caught:
        SalesSummaryQuery(tz=name)
    assert [e.loc for e in caught.value.errors] == [("tz",)]


def test_every_bad_field_is_reported_at_once() -> None:
    """A bad limit, sort and zone: one error naming all three."""
    with pytest.raises(ValidationError) as caught:
        TopBooksQuery(limit=51, sort_by="price", tz="Nowhere")  # type: ignore[arg-type]
    assert sorted(e.loc for e in caught.value.errors) == [("limit",), ("sort_by",), ("tz",)]


@pytest.mark.parametrize(("threshold", "limit"), [(-1, 10), (10, 0), (10, 501), (True, 10)])
def test_low_stock_bounds(threshold: int, limit: int) -> None:
    """The threshold is an integer >= 0; the limit 1..500."""
    with pytest.raises(ValidationError):
        LowStockQuery(threshold=threshold, limit=limit)


def test_the_shop_time_zone_setting_refuses_an_unknown_zone() -> None:
    """A misconfigured shop fails when built, not at its first report."""
    with pytest.raises(ValueError, match="time_zone"):
        AnalyticsSettings(time_zone="Atlantis/Capital")
    assert AnalyticsSettings().time_zone == "UTC"


def test_aov_and_delta_are_exact_and_rounded_only_when_rendered() -> None:
    """10.00 over 3 orders against 3.00: exact figures, rendered half-up to cents."""
    summary = _summary("10.00", 3, "3.00")
    assert summary.aov.quantize(Decimal("0.0001")) == Decimal("3.3333")
    assert summary.delta_percentage is not None
    assert summary.delta_percentage.quantize(Decimal("0.0001")) == Decimal("233.3333")
    rendered = sales_summary_dict(summary)
    assert (rendered["aov"], rendered["delta_percentage"]) == (3.33, 233.33)


def test_no_orders_give_an_aov_of_zero_and_no_previous_sales_no_delta() -> None:
    """aov is 0 without orders; the delta is None when the previous span sold nothing."""
    assert _summary("0.00", 0, "5.00").aov == 0
    assert _summary("5.00", 1, "0.00").delta_percentage is None


def test_rendering_rounds_half_up() -> None:
    """0.005 renders as 0.01 and 2.675 as 2.68 (not the float's 2.67)."""
    assert (render_amount(Decimal("0.005")), render_amount(Decimal("2.675"))) == (0.01, 2.68)


@settings(max_examples=50)
@given(bs.sales_summary_queries(), bs.top_books_queries(), bs.low_stock_queries())
def test_the_testing_kit_strategies_yield_queries_a_query_string_rebuilds(
    summary: SalesSummaryQuery, top: TopBooksQuery, low: LowStockQuery
) -> None:
    """The kit's analytics strategies build accepted queries, and the same values as query
    string text (what the HTTP app and the CLI receive) build equal ones."""
    as_text: dict[type, dict[str, str | None]] = {
        SalesSummaryQuery: {"period": summary.period.value, "tz": summary.tz},
        TopBooksQuery: {
            "sort_by": top.sort_by.value,
            "limit": str(top.limit),
            "period": None if top.period is None else top.period.value,
            "tz": top.tz,
        },
        LowStockQuery: {"threshold": str(low.threshold), "limit": str(low.limit)},
    }
    for query in (summary, top, low):
        text = {k: v for k, v in as_text[type(query)].items() if v is not None}
        assert structure(text, type(query)) == query
