"""Benchmark checkout: N concurrent buyers over a few hot books and many cold ones, ours
(``shop.orders.checkout``) against a hand-written raw-driver checkout, in the same run.

Usage: ``python -m benchmarks checkout [--backend sqlite|postgres|all] [--buyers N]
[--rounds N] [--json OUT]`` (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from attrs import asdict, frozen
from sqlalchemy import event, text

from benchmarks.checkout.raw import RawPostgresCheckout, RawSqliteCheckout
from benchmarks.run import machine
from benchmarks.stores import SETTINGS, open_store
from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_adapters.sqlalchemy.engine import open_sql_backend
from bookshop_adapters.sqlalchemy.migrate import migrate
from bookshop_adapters.sqlalchemy.statements import count_statements
from bookshop_core.catalog.entities import NewBook
from bookshop_core.commerce.commands import Checkout
from bookshop_core.commerce.ports import PaymentRequest, PaymentResult
from bookshop_core.identity.entities import NewUser
from bookshop_core.kernel.principal import Principal, Role

__all__ = ["main"]

#: Stock of every book: never runs out, whatever the run's length (the benchmark measures
#: successful checkouts; the insufficient-stock path is the contract suite's business).
STOCK = 100_000_000
#: Connections each side may open: the engine's pool (PostgreSQL 20, kept open; SQLite
#: 5 + 15 overflow) holds at most 20.
POOL = 20

Raw = RawPostgresCheckout | RawSqliteCheckout
Side = Callable[[int], Awaitable[Any]]


class NoopGateway:
    """Approves at once: the benchmark measures the shop, not a payment provider."""

    async def charge(self, request: PaymentRequest) -> PaymentResult:
        return PaymentResult.approve(f"noop_{request.order_id}")

    async def find(self, order_id: int) -> PaymentResult | None:
        return PaymentResult.approve(f"noop_{order_id}")


@frozen
class Catalog:
    hot: list[int]  # the few books every cart holds one of
    cold: list[int]  # the many books the rest of each cart comes from


@frozen
class Stats:
    """One side's figures over its timed rounds."""

    orders: int
    errors: int
    orders_per_s: float  # orders / wall time of the rounds (every buyer at once)
    p50_ms: float  # latency of one checkout, as its buyer sees it
    p95_ms: float
    cpu_ms: float  # this process's CPU time (every thread) per order

    @classmethod
    def of(cls, latencies_ns: list[int], errors: int, wall_ns: int, cpu_ns: int) -> Stats:
        ms = [ns / 1e6 for ns in latencies_ns]
        return cls(
            orders=len(ms),
            errors=errors,
            orders_per_s=round(len(ms) / (wall_ns / 1e9), 1),
            p50_ms=round(statistics.median(ms), 2),
            p95_ms=round(statistics.quantiles(ms, n=20)[18], 2),
            cpu_ms=round(cpu_ns / 1e6 / max(len(ms), 1), 3),
        )


# -- setting up --------------------------------------------------------------------------------


async def _seed(shop: Shop, args: argparse.Namespace, users: int) -> tuple[Catalog, list[int]]:
    """``--hot`` hot books first (the lowest ids: every checkout locks its hot book first),
    then ``--cold`` cold ones, every one with :data:`STOCK` copies; ``users`` buyers."""
    now = shop.clock.now()
    rng = random.Random(args.seed)

    def book(name: str) -> NewBook:
        return NewBook(
            title=name,
            author=f"Author {rng.randint(1, 500)}",
            price=Decimal(rng.randint(299, 9999)).scaleb(-2),
            isbn=None,
            genre_id=None,
            description=None,
            cover_image_url=None,
            publish_date=date(2000, 1, 1),
            stock_quantity=STOCK,
            created_at=now,
        )

    async with shop.unit_of_work() as uow:
        hot = await uow.books.add_many([book(f"Hot book {n}") for n in range(args.hot)])
        cold = await uow.books.add_many([book(f"Cold book {n}") for n in range(args.cold)])
        buyers = [
            await uow.users.add(NewUser(f"buyer{n}@example.com", None, Role.USER, now))
            for n in range(users)
        ]
        await uow.commit()
    async with shop.backend.engine.connect() as connection:  # type: ignore[attr-defined]
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return Catalog([b.id for b in hot], [b.id for b in cold]), [u.id for u in buyers]


def _carts(
    catalog: Catalog, users: list[int], lines: int, rng: random.Random
) -> list[tuple[int, int, int]]:
    """One cart per user: one hot book and ``lines - 1`` cold ones, 1 or 2 copies each."""
    rows = []
    for user in users:
        books = [rng.choice(catalog.hot), *rng.sample(catalog.cold, lines - 1)]
        rows += [(user, book, rng.randint(1, 2)) for book in books]
    return rows


# -- both sides compute the same thing ---------------------------------------------------------

_ORDER = "SELECT status, total_cents, cart_fingerprint FROM orders WHERE user_id = $1"
_ITEMS = (
    "SELECT i.book_id, i.title, i.author, i.quantity, i.unit_price_cents FROM order_items i"
    " JOIN orders o ON o.id = i.order_id WHERE o.user_id = $1 ORDER BY i.book_id"
)
_CART = "SELECT count(*) FROM cart_items WHERE user_id = $1"
_EMAIL = "SELECT email FROM users WHERE id = $1"
_MAILS = "SELECT kind, recipients, variables, status FROM outbox_messages"


async def _written(raw: Raw, user: int) -> dict[str, Any]:
    """What one checkout left in the store for ``user``, without ids and times."""
    ((email,),) = await raw.fetch(_EMAIL, user)
    mails = []
    for kind, recipients, variables, status in await raw.fetch(_MAILS):
        if email not in _json(recipients):
            continue
        found = {k: v for k, v in _json(variables).items() if k not in ("order_id", "created_at")}
        mails.append((kind, found, status))
    return {
        "orders": await raw.fetch(_ORDER, user),
        "items": await raw.fetch(_ITEMS, user),
        "cart": await raw.fetch(_CART, user),
        "mails": mails,
    }


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _check(shop: Shop, raw: Raw, catalog: Catalog, ours_user: int, raw_user: int) -> None:
    """The same cart checked out by each side leaves the same rows (ids and times aside)."""
    cart = [(catalog.cold[0], 2), (catalog.hot[0], 1), (catalog.cold[-1], 1)]
    await raw.fill_carts([(u, b, q) for u in (ours_user, raw_user) for b, q in cart])
    await shop.orders.checkout(Principal(ours_user), Checkout())
    await raw.checkout(raw_user)
    ours, theirs = await _written(raw, ours_user), await _written(raw, raw_user)
    if ours != theirs or not ours["orders"] or not ours["mails"]:
        raise AssertionError(f"ours and raw disagree:\n{ours}\n{theirs}")


async def _conserved(raw: Raw, catalog: Catalog) -> None:
    """After the run: every order confirmed with its email queued, no cart line left, and
    for every book initial stock = current stock + copies sold."""
    ((pending,),) = await raw.fetch("SELECT count(*) FROM orders WHERE status <> 'confirmed'")
    ((orders,),) = await raw.fetch("SELECT count(*) FROM orders")
    ((mails,),) = await raw.fetch("SELECT count(*) FROM outbox_messages")
    ((lines,),) = await raw.fetch("SELECT count(*) FROM cart_items")
    ((unbalanced,),) = await raw.fetch(
        "SELECT count(*) FROM books b WHERE b.stock_quantity + coalesce("
        "(SELECT sum(i.quantity) FROM order_items i WHERE i.book_id = b.id), 0) <> $1",
        STOCK,
    )
    if pending or mails != orders or lines or unbalanced:
        raise AssertionError(
            f"inconsistent: {pending} orders not confirmed, {orders} orders but {mails} emails,"
            f" {lines} cart lines left, {unbalanced} books whose stock does not add up"
        )


# -- timing ------------------------------------------------------------------------------------


async def _round(side: Side, users: list[int]) -> tuple[list[int], int, int, int]:
    """Every user checks out at once: their latencies, errors, wall and CPU time."""

    async def timed(user: int) -> int:
        began = time.perf_counter_ns()
        await side(user)
        return time.perf_counter_ns() - began

    cpu = time.process_time_ns()
    began = time.perf_counter_ns()
    outcomes = await asyncio.gather(*(timed(u) for u in users), return_exceptions=True)
    wall = time.perf_counter_ns() - began
    cpu = time.process_time_ns() - cpu
    latencies = [o for o in outcomes if isinstance(o, int)]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for error in errors[:1]:
        logging.getLogger("benchmarks.checkout").error("checkout failed: %r", error)
    return latencies, len(errors), wall, cpu


async def _compare(
    sides: dict[str, tuple[Side, list[int]]],
    raw: Raw,
    catalog: Catalog,
    args: argparse.Namespace,
    buyers: int,
) -> dict[str, Stats]:
    """Warm-up rounds, then ``--rounds`` timed rounds per side, alternating which side goes
    first; round ``r`` of both sides checks out the same carts."""
    rng = random.Random(args.seed + buyers)
    names = list(sides)
    latencies: dict[str, list[int]] = {name: [] for name in names}
    totals = {name: [0, 0, 0] for name in names}  # errors, wall, cpu
    for number in range(args.warmup + args.rounds):
        carts = _carts(catalog, list(range(buyers)), args.lines, rng)
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            side, users = sides[name]
            await raw.fill_carts([(users[u], book, q) for u, book, q in carts])
            found, errors, wall, cpu = await _round(side, users[:buyers])
            if number >= args.warmup:
                latencies[name] += found
                for at, value in enumerate((errors, wall, cpu)):
                    totals[name][at] += value
    return {name: Stats.of(latencies[name], *totals[name]) for name in names}


@contextmanager
def _statement_times(shop: Shop) -> Iterator[dict[str, list[int]]]:
    """Time every statement (driver and database, as SQLAlchemy sees it), by its SQL."""
    engine = shop.backend.engine.sync_engine  # type: ignore[attr-defined]
    times: dict[str, list[int]] = defaultdict(list)

    def before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        conn.info["bench_began"] = time.perf_counter_ns()

    def after(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        times[" ".join(statement.split())].append(
            time.perf_counter_ns() - conn.info.pop("bench_began")
        )

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield times
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


async def _breakdown(
    shop: Shop, raw: Raw, catalog: Catalog, users: tuple[int, int], args: argparse.Namespace
) -> dict[str, Any]:
    """One buyer at a time (no contention): each side's latency, and where ours goes,
    statement by statement (time inside the cursor: driver and database)."""
    rng = random.Random(args.seed)
    ours_user, raw_user = users
    n = max(args.rounds * 5, 50)
    spent = {"ours": [], "raw": []}  # type: dict[str, list[int]]
    with _statement_times(shop) as times:
        for i in range(n + 10):
            cart = _carts(catalog, [0], args.lines, rng)
            await raw.fill_carts([(u, b, q) for u in (ours_user, raw_user) for _, b, q in cart])
            for name, call in (
                ("ours", lambda: shop.orders.checkout(Principal(ours_user), Checkout())),
                ("raw", lambda: raw.checkout(raw_user)),
            )[:: 1 if i % 2 else -1]:
                began = time.perf_counter_ns()
                await call()
                if i >= 10:
                    spent[name].append(time.perf_counter_ns() - began)
            if i == 9:
                times.clear()
    ours_ms = statistics.median(spent["ours"]) / 1e6
    raw_ms = statistics.median(spent["raw"]) / 1e6
    statements = [
        {
            "sql": sql,
            "per_checkout": len(ts) / n,
            "median_ms": round(statistics.median(ts) / 1e6, 3),
        }
        for sql, ts in times.items()
    ]
    in_statements = sum(s["per_checkout"] * s["median_ms"] for s in statements)
    return {
        "checkouts": n,
        "ours_p50_ms": round(ours_ms, 2),
        "raw_p50_ms": round(raw_ms, 2),
        "ratio": round(ours_ms / raw_ms, 2),
        "ours_in_statements_ms": round(in_statements, 2),
        "statements": statements,
    }


# -- the benchmark -----------------------------------------------------------------------------


async def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    most = max(args.buyers)
    report: dict[str, Any] = {"backend": backend, "results": []}
    async with open_store(backend) as (url, target):
        gateway = NoopGateway()
        shop, opened = await _shop(url, gateway, args.pool)
        try:
            catalog, users = await _seed(shop, args, 2 * most + 4)
            ours_users, raw_users = users[:most], users[most : 2 * most]
            spare = users[2 * most :]
            size = args.pool or POOL
            raw: Raw = await (
                RawPostgresCheckout.open(target, gateway, size)
                if backend == "postgres"
                else RawSqliteCheckout.open(target, gateway, size)
            )
            try:
                report["server"] = await raw.server_version()
                await _check(shop, raw, catalog, spare[0], spare[1])
                report["statements"] = await _count(shop, raw, catalog, spare[0])
                _print_statements(backend, report["statements"], args.statements)
                for buyers in args.buyers:
                    stats = await _compare(
                        {
                            "ours": (_ours(shop), ours_users),
                            "raw": (raw.checkout, raw_users),
                        },
                        raw,
                        catalog,
                        args,
                        buyers,
                    )
                    result = _result(backend, buyers, stats)
                    report["results"].append(result)
                    _print_row(result)
                if args.breakdown:
                    report["breakdown"] = await _breakdown(
                        shop, raw, catalog, (spare[2], spare[3]), args
                    )
                    _print_breakdown(backend, report["breakdown"])
                if args.profile:
                    await _profile(shop, raw, catalog, ours_users, backend, args)
                await _conserved(raw, catalog)
            finally:
                await raw.aclose()
        finally:
            await shop.aclose()
            if opened is not None:
                await opened.aclose()
    return report


async def _shop(url: str, gateway: NoopGateway, pool: int | None) -> tuple[Shop, Any]:
    """Our shop on ``url`` (and the backend to close after it, if we opened one): with the
    engine's default pool, or ``pool`` connections kept open (no overflow connections, which
    the default pool closes as they come back)."""
    if pool is None:
        shop = await build_shop(url, migrate=True, settings=SETTINGS, payment_gateway=gateway)
        return shop, None
    await migrate(url)
    backend = await open_sql_backend(url, pool_size=pool, max_overflow=0)
    return await build_shop(backend=backend, settings=SETTINGS, payment_gateway=gateway), backend


def _ours(shop: Shop) -> Side:
    checkout = Checkout()

    async def side(user: int) -> Any:
        return await shop.orders.checkout(Principal(user), checkout)

    return side


async def _count(shop: Shop, raw: Raw, catalog: Catalog, user: int) -> dict[str, Any]:
    """Statements of one checkout of a 1-line and of a 50-line cart (ours; raw's is fixed)."""
    counted: dict[str, Any] = {"raw": raw.STATEMENTS}
    for lines in (1, 50):
        await raw.fill_carts([(user, book, 1) for book in catalog.cold[100 : 100 + lines]])
        with count_statements(shop.backend) as counter:  # type: ignore[arg-type]
            await shop.orders.checkout(Principal(user), Checkout())
        counted[f"ours_{lines}_line{'s' if lines > 1 else ''}"] = counter.count
        counted["ours_sql"] = [" ".join(s.split()) for s in counter.statements]
    return counted


async def _profile(
    shop: Shop,
    raw: Raw,
    catalog: Catalog,
    users: list[int],
    backend: str,
    args: argparse.Namespace,
) -> None:
    """Our side's rounds at the largest buyer count under cProfile, for ``python -m pstats``."""
    rng = random.Random(args.seed)
    buyers = max(args.buyers)
    # CPU time, not wall time: on a shared machine a wall clock charges other processes'
    # time slices to whatever call was running when the scheduler switched away.
    profiler = cProfile.Profile(time.process_time)
    side = _ours(shop)
    for _ in range(args.rounds):
        carts = _carts(catalog, list(range(buyers)), args.lines, rng)
        await raw.fill_carts([(users[u], book, q) for u, book, q in carts])
        profiler.enable()
        await _round(side, users[:buyers])
        profiler.disable()
    out = Path(args.profile, f"{backend}-checkout.pstats")
    out.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(out)


def _result(backend: str, buyers: int, stats: dict[str, Stats]) -> dict[str, Any]:
    ours, base = stats["ours"], stats["raw"]
    return {
        "backend": backend,
        "buyers": buyers,
        "ours": asdict(ours),
        "raw": asdict(base),
        # Cost ratios, ours / raw: above 1, ours costs more.
        "throughput_ratio": round(base.orders_per_s / ours.orders_per_s, 2),
        "p50_ratio": round(ours.p50_ms / base.p50_ms, 2),
        "p95_ratio": round(ours.p95_ms / base.p95_ms, 2),
        "cpu_ratio": round(ours.cpu_ms / base.cpu_ms, 2),
    }


# -- output ------------------------------------------------------------------------------------

_SIDE = f"{'ord/s':>7}{'p50':>7}{'p95':>7}{'cpu':>6}"
_TITLE = f"{'':<16} |{'ours':^27} |{'raw':^27} |{'ours / raw':^24}"
_HEADER = (
    f"{'backend':<9}{'buyers':>7} |{_SIDE} |{_SIDE} |{'time':>6}{'p50':>6}{'p95':>6}{'cpu':>6}"
)


def _side(s: dict[str, Any]) -> str:
    return f"{s['orders_per_s']:>7.0f}{s['p50_ms']:>7.1f}{s['p95_ms']:>7.1f}{s['cpu_ms']:>6.2f}"


def _print_row(r: dict[str, Any]) -> None:
    errors = r["ours"]["errors"] + r["raw"]["errors"]
    print(
        f"{r['backend']:<9}{r['buyers']:>7} |{_side(r['ours'])} |{_side(r['raw'])} |"
        f"{r['throughput_ratio']:>5.2f}x{r['p50_ratio']:>5.2f}x{r['p95_ratio']:>5.2f}x"
        f"{r['cpu_ratio']:>5.2f}x" + (f"  ({errors} failed checkouts)" if errors else ""),
        flush=True,
    )


def _print_statements(backend: str, counted: dict[str, Any], full: bool) -> None:
    print(
        f"{backend}: statements per checkout: ours {counted['ours_1_line']} (1 line),"
        f" {counted['ours_50_lines']} (50 lines); raw {counted['raw']}",
        flush=True,
    )
    if full:
        for sql in counted["ours_sql"]:
            print(f"    {sql[:160]}")


def _print_breakdown(backend: str, b: dict[str, Any]) -> None:
    print(
        f"{backend}: one buyer at a time, {b['checkouts']} checkouts: p50 ours"
        f" {b['ours_p50_ms']:.2f} ms, raw {b['raw_p50_ms']:.2f} ms ({b['ratio']:.2f}x); ours"
        f" spends {b['ours_in_statements_ms']:.2f} ms inside statements (driver + database):"
    )
    for s in sorted(b["statements"], key=lambda s: -s["per_checkout"] * s["median_ms"]):
        print(f"  {s['per_checkout']:>4.1f} x {s['median_ms']:>6.3f} ms  {s['sql'][:110]}")
    print(flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks checkout", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument(
        "--buyers",
        type=int,
        action="append",
        help="concurrent buyers per round (repeatable; default 32)",
    )
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds per side")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds per side first")
    parser.add_argument("--hot", type=int, default=4, help="hot books (one in every cart)")
    parser.add_argument("--cold", type=int, default=5000, help="cold books")
    parser.add_argument("--lines", type=int, default=3, help="lines per cart (one hot)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pool",
        type=int,
        metavar="N",
        help="N connections kept open on each side (default: the engine's pool, 20 on"
        " PostgreSQL, 5 + 15 overflow on SQLite; the raw side 20)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time one buyer at a time, ours statement by statement",
    )
    parser.add_argument("--statements", action="store_true", help="print the SQL of our checkout")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="DIR", help="cProfile our side; .pstats in DIR")
    args = parser.parse_args(argv)
    args.buyers = args.buyers or [32]
    if args.lines < 1 or args.hot < 1 or args.cold < max(args.lines, 101 + 50):
        parser.error("need --lines >= 1, --hot >= 1 and --cold >= 151")
    return args


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    backends = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    print(
        f"{args.rounds} timed rounds per side ({args.warmup} warm-up), each: every buyer"
        f" checks out a {args.lines}-line cart (1 of {args.hot} hot books + cold ones of"
        f" {args.cold}) at once; the two sides alternate"
    )
    print(
        "ord/s = orders per second of wall time; p50/p95 = one checkout's latency (ms);"
        " cpu = this process's CPU ms per order; cost ratios: time = raw ord/s / ours ord/s"
    )
    print(_TITLE)
    print(_HEADER)
    load_before = os.getloadavg()
    reports = []
    for backend in backends:
        reports.append(await bench_backend(backend, args))
    return {
        "machine": {**machine(), "load_before": load_before, "load_after": os.getloadavg()},
        "config": {
            k: getattr(args, k)
            for k in ("buyers", "rounds", "warmup", "hot", "cold", "lines", "seed", "pool")
        },
        "backends": reports,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    report = asyncio.run(amain(args))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
