"""Benchmark the admin reports: ours against hand-written SQL on the raw drivers, in the same
run, on generated sales (``--items`` order lines, 1,000,000 by default).

Usage: ``python -m benchmarks analytics [--backend sqlite|postgres|all] [--items N]
[--iterations N] [--json OUT]`` (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
from attrs import frozen

from benchmarks.analytics.raw import RawPostgresReports, RawSqliteReports
from benchmarks.run import machine
from benchmarks.stores import SETTINGS, open_store
from benchmarks.timing import compare, ratios
from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_core.analytics import (
    LowStockQuery,
    Period,
    SalesSummaryQuery,
    TopBooksQuery,
    TopBooksSort,
    period_spans,
)
from bookshop_core.catalog.entities import NewBook
from bookshop_core.identity.entities import NewUser
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal, Role

__all__ = ["main"]

BACKENDS = ["postgres", "sqlite"]
#: The instant the reports are asked at (mid-month, mid-week, mid-day).
NOW = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)
#: Sales spread over this many days before :data:`NOW`.
HISTORY_DAYS = 400
#: One order line in fifty is of a book deleted since (``book_id`` NULL).
DELETED_SHARE = 0.02
#: Order statuses and their weights (pending: a checkout in flight).
STATUSES = {
    "confirmed": 30,
    "shipped": 25,
    "delivered": 30,
    "cancelled": 8,
    "payment_failed": 5,
    "pending": 2,
}
#: Rows per multi-row write while loading.
CHUNK = 50_000

Admin = Principal.system()


@frozen
class Case:
    """One report of the mix."""

    name: str
    kind: str  # summary | top | low
    period: Period | None = None
    tz: str = "UTC"
    sort_by: TopBooksSort = TopBooksSort.REVENUE
    limit: int = 10
    threshold: int = 10


CASES = [
    Case("summary today", "summary", Period.TODAY),
    Case("summary month", "summary", Period.MONTH, tz="Europe/Berlin"),
    Case("top revenue all", "top", None, sort_by=TopBooksSort.REVENUE),
    Case("top volume month", "top", Period.MONTH, sort_by=TopBooksSort.VOLUME),
    Case("low stock", "low", limit=100, threshold=10),
]


# -- data ---------------------------------------------------------------------------------------


@frozen
class Sales:
    """Generated orders and order lines, as rows of the two tables."""

    orders: list[tuple[Any, ...]]  # id, user_id, status, total_cents, created_at
    items: list[tuple[Any, ...]]  # order_id, book_id, title, author, quantity, unit_price_cents


def generate(
    items: int, books: list[tuple[int, str, str, int]], users: list[int], rng: random.Random
) -> Sales:
    """``items`` order lines in orders of 1 to 5 lines; popular books sell more (a book's
    pick is skewed towards the start of the list)."""
    statuses, weights = list(STATUSES), list(STATUSES.values())
    orders: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    span_us = HISTORY_DAYS * 86_400 * 10**6
    while len(lines) < items:
        order_id = len(orders) + 1
        created = NOW - timedelta(microseconds=rng.randrange(span_us))
        total = 0
        picked: set[int] = set()
        for _ in range(min(rng.randint(1, 5), items - len(lines))):
            index = int(len(books) * rng.random() ** 2)
            if index in picked:
                continue
            picked.add(index)
            book_id, title, author, price = books[index]
            quantity = rng.randint(1, 3)
            if rng.random() < DELETED_SHARE:  # a book deleted since: its id is gone
                lines.append((order_id, None, f"Deleted {index % 500}", author, quantity, price))
            else:
                lines.append((order_id, book_id, title, author, quantity, price))
            total += quantity * price
        status = rng.choices(statuses, weights)[0]
        orders.append((order_id, rng.choice(users), status, total, created))
    return Sales(orders, lines)


async def _catalog(
    shop: Shop, count: int, users: int, rng: random.Random
) -> tuple[list[tuple[int, str, str, int]], list[int]]:
    """``count`` books (stock 0..200) and ``users`` accounts, through the repositories."""
    drafts = [
        NewBook(
            title=f"Book {n:06}",
            author=f"Author {n % 997}",
            price=Decimal(rng.randint(299, 9999)).scaleb(-2),
            isbn=None,
            genre_id=None,
            description=None,
            cover_image_url=None,
            publish_date=None,
            stock_quantity=rng.randint(0, 200),
            created_at=NOW - timedelta(days=HISTORY_DAYS + 1),
        )
        for n in range(count)
    ]
    async with shop.unit_of_work() as uow:
        added = await uow.books.add_many(drafts)
        accounts = [
            await uow.users.add(
                NewUser(
                    email=f"buyer{n}@example.com",
                    password_hash=None,
                    role=Role.USER,
                    created_at=NOW - timedelta(days=HISTORY_DAYS + 1),
                )
            )
            for n in range(users)
        ]
        await uow.commit()
    books = [(b.id, b.title, b.author, int(b.price * 100)) for b in added]
    return books, [u.id for u in accounts]


def _order_row(order: tuple[Any, ...]) -> tuple[Any, ...]:
    order_id, user_id, status, total, created = order
    return (order_id, user_id, status, total, created, created, None, "0" * 64, None, None)


_ORDER_COLUMNS = (
    "id",
    "user_id",
    "status",
    "total_cents",
    "created_at",
    "updated_at",
    "idempotency_key",
    "cart_fingerprint",
    "payment_reference",
    "failure_reason",
)
_ITEM_COLUMNS = ("order_id", "book_id", "title", "author", "quantity", "unit_price_cents")


async def _insert_postgres(dsn: str, sales: Sales) -> None:
    """``COPY`` both tables, then ``VACUUM ANALYZE`` (what autovacuum leaves a live shop)."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "orders", records=map(_order_row, sales.orders), columns=_ORDER_COLUMNS
        )
        await connection.copy_records_to_table(
            "order_items", records=sales.items, columns=_ITEM_COLUMNS
        )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def _insert_sqlite(path: str, sales: Sales) -> None:
    """Multi-row ``executemany`` in one transaction, then ``ANALYZE``."""

    def stamp(row: tuple[Any, ...]) -> tuple[Any, ...]:
        # The library's UTCDateTime on SQLite: naive UTC text, fixed width.
        created = row[4].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return (*row[:4], created, created, *row[6:])

    with sqlite3.connect(path) as db:
        db.executemany(
            f"INSERT INTO orders ({', '.join(_ORDER_COLUMNS)}) VALUES ({', '.join('?' * 10)})",
            (stamp(_order_row(order)) for order in sales.orders),
        )
        db.executemany(
            f"INSERT INTO order_items ({', '.join(_ITEM_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
            sales.items,
        )
        db.execute("ANALYZE")
    db.close()


# -- the benchmark --------------------------------------------------------------------------------

Operation = Callable[[int], Awaitable[Any]]
Raw = RawPostgresReports | RawSqliteReports


def _sides(shop: Shop, raw: Raw, case: Case) -> tuple[Operation, Operation]:
    """Ours and the raw baseline for ``case``, each returning comparable plain values."""
    analytics = shop.analytics
    zone = ZoneInfo(case.tz)
    if case.kind == "summary":
        period = case.period or Period.TODAY
        query = SalesSummaryQuery(period=period, tz=case.tz)

        async def ours(i: int) -> Any:
            s = await analytics.sales_summary(Admin, query)
            return (s.revenue, s.order_count, s.previous_revenue, s.previous_order_count)

        async def baseline(i: int) -> Any:
            current, previous = period_spans(period, NOW, zone)
            return await raw.summary(((current.start, current.end), (previous.start, previous.end)))

        return ours, baseline
    if case.kind == "top":
        top = TopBooksQuery(sort_by=case.sort_by, limit=case.limit, period=case.period, tz=case.tz)

        async def ours_top(i: int) -> Any:
            found = await analytics.top_books(Admin, top)
            return [
                (t.book_id, t.title, t.author, t.total_revenue, t.units_sold) for t in found.items
            ]

        async def raw_top(i: int) -> Any:
            span = None
            if case.period is not None:
                current, _ = period_spans(case.period, NOW, zone)
                span = (current.start, current.end)
            return await raw.top(case.sort_by.value, case.limit, span)

        return ours_top, raw_top
    low = LowStockQuery(threshold=case.threshold, limit=case.limit)

    async def ours_low(i: int) -> Any:
        found = await analytics.low_stock(Admin, low)
        return found.total, [(b.book_id, b.title, b.author, b.current_stock) for b in found.items]

    async def raw_low(i: int) -> Any:
        return await raw.low(case.threshold, case.limit)

    return ours_low, raw_low


async def _bench_case(shop: Shop, raw: Raw, case: Case, args: argparse.Namespace) -> dict[str, Any]:
    from bookshop_adapters.sqlalchemy.statements import count_statements

    ours, baseline = _sides(shop, raw, case)
    first, other = await ours(0), await baseline(0)
    if first != other:
        raise AssertionError(f"{case.name}: ours and raw disagree:\n{first}\n{other}")
    with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
        await ours(0)
    stats = await compare(
        {"ours": ours, "raw": baseline}, iterations=args.iterations, warmup=args.warmup
    )
    return {
        "report": case.name,
        "statements": {"ours": counted.count, "raw": 1},
        **{name: s.as_dict() for name, s in stats.items()},
        **ratios(stats["ours"], stats["raw"]),
    }


async def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Load the catalog and the sales, then time each report on one backend."""
    rng = random.Random(args.seed)
    report: dict[str, Any] = {"backend": backend, "results": []}
    async with open_store(backend) as (url, target):
        shop = await build_shop(url, migrate=True, settings=SETTINGS, clock=ManualClock(NOW))
        raw: Raw | None = None
        try:
            began = time.perf_counter()
            books, users = await _catalog(shop, args.books, args.users, rng)
            sales = generate(args.items, books, users, rng)
            generated = time.perf_counter()
            if backend == "postgres":
                await _insert_postgres(target, sales)
            else:
                await asyncio.to_thread(_insert_sqlite, target, sales)
            loaded = time.perf_counter()
            report["build"] = {
                "books": len(books),
                "orders": len(sales.orders),
                "items": len(sales.items),
                "generate_s": round(generated - began, 1),
                "insert_s": round(loaded - generated, 1),
            }
            print(
                f"{backend}: {len(books):,} books, {len(sales.orders):,} orders,"
                f" {len(sales.items):,} order lines (generated in {generated - began:.1f} s,"
                f" bulk-inserted and analysed in {loaded - generated:.1f} s)",
                flush=True,
            )
            raw = await (
                RawPostgresReports.open(target)
                if backend == "postgres"
                else RawSqliteReports.open(target)
            )
            print(_TITLE)
            print(_HEADER)
            for case in CASES:
                if args.report and case.name.replace(" ", "-") not in args.report:
                    continue
                result = await _bench_case(shop, raw, case, args)
                result["backend"] = backend
                report["results"].append(result)
                _print_row(result)
        finally:
            if raw is not None:
                await raw.aclose()
            await shop.aclose()
    return report


# -- output ---------------------------------------------------------------------------------------

_SIDE = f"{'p50':>9}{'p95':>9}{'cpu':>8}"
_TITLE = f"{'':<33} |{'ours':^26} |{'raw':^26} |"
_HEADER = f"{'backend':<9}{'report':<18}{'stmts':>6} |{_SIDE} |{_SIDE} |{'p50 x':>7}{'p95 x':>7}"


def _side(stats: dict[str, float]) -> str:
    ms = {k: v / 1000 for k, v in stats.items()}
    return f"{ms['median_us']:>9.2f}{ms['p95_us']:>9.2f}{ms['cpu_us']:>8.2f}"


def _print_row(r: dict[str, Any]) -> None:
    stmts = f"{r['statements']['ours']}/{r['statements']['raw']}"
    print(
        f"{r['backend']:<9}{r['report']:<18}{stmts:>6} |{_side(r['ours'])} |{_side(r['raw'])} |"
        f"{r['ratio']:>6.2f}x{r['ratio_p95']:>6.2f}x",
        flush=True,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks analytics", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    parser.add_argument("--items", type=int, default=1_000_000, help="order lines generated")
    parser.add_argument("--books", type=int, default=10_000, help="books in the catalog")
    parser.add_argument("--users", type=int, default=200, help="buyers")
    parser.add_argument("--iterations", type=int, default=30, help="timed calls per side")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per side first")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data")
    parser.add_argument(
        "--report",
        action="append",
        help="run only this report (repeatable; e.g. summary-today, top-revenue-all)",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    return parser.parse_args(argv)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    backends = BACKENDS if args.backend == "all" else [args.backend]
    print(
        f"{args.items:,} order lines over {HISTORY_DAYS} days before {NOW.isoformat()}"
        f" (seed {args.seed}); {args.iterations} timed calls per side, {args.warmup} warm-up"
    )
    print("latencies and CPU per call in ms; stmts = SQL statements ours/raw;"
          " p50 x, p95 x = ours / raw")  # fmt: skip
    load_before = os.getloadavg()
    reports = []
    for backend in backends:
        print(flush=True)
        reports.append(await bench_backend(backend, args))
    return {
        "machine": {**machine(), "load_before": load_before, "load_after": os.getloadavg()},
        "config": {
            k: getattr(args, k) for k in ("items", "books", "users", "iterations", "warmup", "seed")
        },
        "now": NOW.isoformat(),
        "backends": reports,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    report = asyncio.run(amain(args))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
