"""``bookshop report``: the admin reports as tables (or ``--json``, the HTTP API's shape).

Periods begin at midnight, Monday 00:00 or the 1st in the shop's time zone
(``BOOKSHOP_ANALYTICS_TIME_ZONE``, default UTC) unless ``--tz`` names another. Examples::

    bookshop report sales --period week --tz Europe/Berlin
    bookshop report top --by volume --limit 5 --period month
    bookshop report low-stock --threshold 3 --json
"""

from __future__ import annotations

from typing import Any

import click

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
from bookshop_core.kernel.principal import Principal
from bookshop_examples.cli._support import CliState, echo_json, json_option

__all__ = ["report"]

_TZ_HELP = "IANA time zone of the period's boundaries (default: the shop's)."


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> None:
    """Print ``rows`` under ``headers`` in aligned columns (``right``: right-aligned ones)."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if n in right else cell.ljust(width)
            for n, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    click.echo(line(headers))
    for row in rows:
        click.echo(line(row))


@click.group()
def report() -> None:
    """Admin reports: sales of the current period, best sellers, low stock.

    Money is computed exactly and rounded to cents only when printed. Cancelled orders and
    failed payments never count.
    """


@report.command()
@click.option(
    "--period",
    type=click.Choice([p.value for p in Period]),
    default=Period.TODAY.value,
    show_default=True,
)
@click.option("--tz", help=_TZ_HELP)
@json_option
@click.pass_obj
def sales(state: CliState, period: str, tz: str | None, as_json: bool) -> None:
    """Revenue, orders and average order value of the current period so far, against the
    same elapsed span of the previous period."""
    query = SalesSummaryQuery(period=Period(period), tz=tz)
    found = sales_summary_dict(
        state.run(lambda shop: shop.analytics.sales_summary(Principal.system(), query))
    )
    if as_json:
        echo_json(found)
        return
    delta = found["delta_percentage"]
    rows = [
        ["Period", f"{found['period']} ({found['time_zone']}) since {found['start']}"],
        ["Revenue", _money(found["revenue"])],
        ["Orders", str(found["order_count"])],
        ["Average order", _money(found["aov"])],
        ["Previous span", f"{_money(found['previous_revenue'])} from {found['previous_start']}"],
        [
            "Change",
            "n/a (nothing sold in the previous span)" if delta is None else f"{delta:+.2f} %",
        ],
    ]
    _table(["FIGURE", "VALUE"], rows, right=set())


@report.command()
@click.option(
    "--by",
    "sort_by",
    type=click.Choice([s.value for s in TopBooksSort]),
    default=TopBooksSort.REVENUE.value,
    show_default=True,
    help="Rank by revenue or by copies sold.",
)
@click.option(
    "--limit", type=click.IntRange(1, MAX_TOP_LIMIT), default=DEFAULT_TOP_LIMIT, show_default=True
)
@click.option(
    "--period",
    type=click.Choice([p.value for p in Period]),
    help="Only the current period's sales (default: all time).",
)
@click.option("--tz", help=_TZ_HELP)
@json_option
@click.pass_obj
def top(
    state: CliState, sort_by: str, limit: int, period: str | None, tz: str | None, as_json: bool
) -> None:
    """The best-selling books (ties by book id; a deleted book shows as "-" under its title
    at purchase)."""
    query = TopBooksQuery(
        sort_by=TopBooksSort(sort_by),
        limit=limit,
        period=None if period is None else Period(period),
        tz=tz,
    )
    found = top_books_dict(
        state.run(lambda shop: shop.analytics.top_books(Principal.system(), query))
    )
    if as_json:
        echo_json(found)
        return
    items: list[dict[str, Any]] = found["items"]
    if not items:
        click.echo("No sales.")
        return
    rows = [
        [
            str(rank),
            "-" if item["book_id"] is None else str(item["book_id"]),
            item["title"],
            item["author"],
            str(item["units_sold"]),
            _money(item["total_revenue"]),
        ]
        for rank, item in enumerate(items, start=1)
    ]
    _table(["#", "BOOK", "TITLE", "AUTHOR", "UNITS", "REVENUE"], rows, right={0, 1, 4, 5})


@report.command("low-stock")
@click.option(
    "--threshold",
    type=click.IntRange(min=0),
    default=DEFAULT_LOW_STOCK_THRESHOLD,
    show_default=True,
    help="Books with at most this many copies.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LOW_STOCK_LIMIT),
    default=DEFAULT_LOW_STOCK_LIMIT,
    show_default=True,
)
@json_option
@click.pass_obj
def low_stock(state: CliState, threshold: int, limit: int, as_json: bool) -> None:
    """The books at or below the threshold, fewest copies first."""
    query = LowStockQuery(threshold=threshold, limit=limit)
    found = low_stock_dict(
        state.run(lambda shop: shop.analytics.low_stock(Principal.system(), query))
    )
    if as_json:
        echo_json(found)
        return
    items: list[dict[str, Any]] = found["items"]
    if items:
        rows = [
            [str(i["book_id"]), str(i["current_stock"]), i["title"], i["author"]] for i in items
        ]
        _table(["BOOK", "STOCK", "TITLE", "AUTHOR"], rows, right={0, 1})
    noun = "book" if found["total_low_stock"] == 1 else "books"
    click.echo(f"{found['total_low_stock']} {noun} at or below {threshold} copies")
