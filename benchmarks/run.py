"""Benchmark the hot paths against hand-written raw-driver code, in the same run.

Usage: ``python -m benchmarks [--backend sqlite|postgres|all] [--iterations N] [--json OUT]``
(see ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import platform
import random
import sqlite3
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from attrs import asdict, frozen

from benchmarks.raw import RawPostgres, RawSqlite, Token
from benchmarks.stores import Seeded, build, open_store, seed
from benchmarks.timing import Operation, compare
from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.sqlalchemy.statements import count_statements
from bookshop_core.catalog.commands import ListBooks, SetStock
from bookshop_core.catalog.entities import BookSort
from bookshop_core.kernel.principal import Principal

PAGE_SIZE = 20
PAGES = 5  # list requests cycle through pages 1..PAGES of each top-level genre
#: The hot paths, as ``--path`` names them.
PATH_NAMES = ["book-detail", "list-by-genre", "set-stock", "authenticate"]


@frozen
class HotPath:
    """One hot path: our use case, the raw baseline, and how to compare their results."""

    name: str
    ours: Operation
    raw: Operation
    raw_statements: int
    same: Callable[[Any, Any], bool]


def _book(book: Any) -> dict[str, Any]:
    return asdict(book)


def hot_paths(shop: Shop, raw: RawSqlite | RawPostgres, data: Seeded, n: int) -> list[HotPath]:
    rng = random.Random(7)
    ids = [rng.choice(data.book_ids) for _ in range(n)]
    genres = data.top_genre_ids
    admin = Principal.system()

    def genre_page(i: int) -> tuple[int, int]:
        return genres[i % len(genres)], 1 + (i // len(genres)) % PAGES

    async def ours_list(i: int) -> Any:
        genre, page = genre_page(i)
        query = ListBooks(genre_id=genre, sort=BookSort.PRICE, page=page, size=PAGE_SIZE)
        return await shop.catalog.list_books(query)

    async def raw_list(i: int) -> Any:
        genre, page = genre_page(i)
        return await raw.list_books(genre, page, PAGE_SIZE)

    return [
        HotPath(
            "book detail",
            lambda i: shop.catalog.get_book(ids[i % n]),
            lambda i: raw.get_book(ids[i % n]),
            raw_statements=1,
            same=lambda ours, raw: _book(ours) == raw,
        ),
        HotPath(
            "list by genre",
            ours_list,
            raw_list,
            raw_statements=2,
            same=lambda ours, raw: ([_book(b) for b in ours.items], ours.total) == raw,
        ),
        HotPath(
            "set stock",
            lambda i: shop.catalog.set_stock(admin, ids[i % n], SetStock(1 + i % 100)),
            lambda i: raw.set_stock(ids[i % n], 1 + i % 100),
            raw_statements=2,
            same=lambda ours, raw: _book(ours) == raw[1],
        ),
        HotPath(
            "authenticate",
            lambda i: shop.identity.authenticate(data.access_token),
            lambda i: raw.authenticate(data.access_token),
            raw_statements=2,
            same=lambda ours, raw: (ours.user_id, ours.role.value) == raw,
        ),
    ]


async def _check(path: HotPath) -> None:
    """Both sides must compute the same thing, or the comparison means nothing."""
    for i in (0, 1, 7):
        ours = await path.ours(i)
        raw = await path.raw(i)
        if not path.same(ours, raw):
            raise AssertionError(f"{path.name}: ours and raw disagree:\n{ours!r}\n{raw!r}")


async def bench_backend(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    async with open_store(backend) as (url, target):
        shop = await build(url)
        try:
            data = await seed(shop, args.books, random.Random(args.seed))
            token = Token.for_shop(shop)
            raw: RawSqlite | RawPostgres = (
                await RawSqlite.open(target, token)
                if backend == "sqlite"
                else await RawPostgres.open(target, token)
            )
            try:
                server = await raw.server_version()
                n = args.warmup + args.iterations
                for path in hot_paths(shop, raw, data, n):
                    if args.path and path.name.replace(" ", "-") not in args.path:
                        continue
                    await _check(path)
                    with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
                        await path.ours(0)
                    stats = await compare(
                        {"ours": path.ours, "raw": path.raw},
                        iterations=args.iterations,
                        warmup=args.warmup,
                    )
                    ours, base = stats["ours"], stats["raw"]
                    result = {
                        "backend": backend,
                        "server": server,
                        "path": path.name,
                        "statements": {"ours": counted.count, "raw": path.raw_statements},
                        "ours": ours.as_dict(),
                        "raw": base.as_dict(),
                        "ratio": round(ours.median_us / base.median_us, 2),
                        "cpu_ratio": round(ours.cpu_us / base.cpu_us, 2),
                    }
                    results.append(result)
                    _print_row(result)
                    if args.profile:
                        await _profile(path, backend, args)
            finally:
                await raw.aclose()
        finally:
            await shop.aclose()
    return results


async def _profile(path: HotPath, backend: str, args: argparse.Namespace) -> None:
    """Our side of ``path`` under cProfile, saved for ``python -m pstats``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(args.iterations):
        await path.ours(i)
    profiler.disable()
    out = Path(args.profile, f"{backend}-{path.name.replace(' ', '-')}.pstats")
    out.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(out)


_SIDE = f"{'op/s':>8}{'median':>8}{'p95':>8}{'cpu':>7}"
_HEADER = f"{'backend':<9}{'path':<14}{'stmts':>6} |{_SIDE} |{_SIDE} |{'ratio':>7}{'cpu':>7}"
_TITLE = f"{'':<29} |{'ours':^31} |{'raw':^31} |"


def _side(stats: dict[str, float]) -> str:
    return (
        f"{stats['ops_per_s']:>8,.0f}{stats['median_us']:>8.0f}"
        f"{stats['p95_us']:>8.0f}{stats['cpu_us']:>7.0f}"
    )


def _print_row(r: dict[str, Any]) -> None:
    stmts = f"{r['statements']['ours']}/{r['statements']['raw']}"
    print(
        f"{r['backend']:<9}{r['path']:<14}{stmts:>6} |{_side(r['ours'])} |{_side(r['raw'])} |"
        f"{r['ratio']:>6.2f}x{r['cpu_ratio']:>6.2f}x",
        flush=True,
    )


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        **{pkg: version(pkg) for pkg in ("sqlalchemy", "aiosqlite", "asyncpg", "pyjwt")},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--iterations", type=int, default=2000, help="timed calls per side")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per side first")
    parser.add_argument("--books", type=int, default=5000, help="books in the catalog")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the catalog")
    parser.add_argument(
        "--path",
        action="append",
        choices=PATH_NAMES,
        help="run only this hot path (repeatable; default: all)",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="DIR", help="cProfile our side; .pstats in DIR")
    return parser.parse_args(argv)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    backends = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    print(f"{args.iterations} timed calls per side, {args.warmup} warm-up, {args.books} books")
    print(
        "latencies and CPU per call in µs; stmts = SQL statements ours/raw;"
        " ratio = median ours / median raw; cpu = CPU ours / CPU raw"
    )
    print(_TITLE)
    print(_HEADER)
    load_before = os.getloadavg()
    results = []
    for backend in backends:
        results += await bench_backend(backend, args)
    return {
        "machine": {**machine(), "load_before": load_before, "load_after": os.getloadavg()},
        "config": {k: getattr(args, k) for k in ("iterations", "warmup", "books", "seed")},
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The shop warns about missing OAuth and JWT configuration; the benchmark sets what it uses.
    logging.basicConfig(level=logging.ERROR)
    report = asyncio.run(amain(args))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
