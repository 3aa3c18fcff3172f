"""Benchmark the search: a query mix on a generated catalog, ours against hand-written
raw-driver queries, in the same run, plus the index build time and size.

Usage: ``python -m benchmarks search [--backend sqlite|postgres|memory|all] [--books N]
[--iterations N] [--json OUT]`` (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
from attrs import asdict, frozen
from sqlalchemy import event

from benchmarks.run import machine
from benchmarks.search.corpus import Corpus, demo_genre_paths
from benchmarks.search.raw import (
    RawFilters,
    RawMemorySearch,
    RawPostgresSearch,
    RawResult,
    RawSqliteSearch,
)
from benchmarks.stores import SETTINGS, open_store
from benchmarks.timing import compare, ratios
from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_core.catalog.commands import CreateGenre
from bookshop_core.catalog.entities import Book
from bookshop_core.kernel.principal import Principal
from bookshop_core.search.ports import SearchUnitOfWork

__all__ = ["main"]

PAGE_SIZE = 20
#: Books written per transaction while loading the catalog.
LOAD_CHUNK = 10_000
#: Documents per ``SearchIndex.put`` call (as ``Search.reindex`` batches them).
INDEX_BATCH = 500
BACKENDS = ["postgres", "sqlite", "memory"]


@frozen
class Case:
    """One query of the mix: what the shopper typed and asked for."""

    name: str
    q: str
    genre: str | None = None  # a top-level genre's name (its sub-genres included)
    max_price_cents: int | None = None
    in_stock: bool = False
    depth: float = 0.0  # 0: the first page; 0.9: the page 90% of the way through the results
    facets: bool = False


def query_mix(corpus: Corpus, books: int) -> list[Case]:
    """The mix. A word ending the query without a space is a prefix of the word being typed
    (the library's rule), so the whole-word queries end with a space."""
    # A tail word found in about ten books: rank r of N books occurs in ~N*57/(r*11.4) books.
    rare = corpus.vocabulary.words[min(len(corpus.vocabulary.words) - 1, int(books * 0.45))]
    return [
        Case("common term", "life "),
        Case("rare term", f"{rare} "),
        Case("two terms", "history war "),
        Case("phrase", '"young man"'),
        Case("prefix", "hist"),
        Case("filters", "love ", genre="Fiction", max_price_cents=2000, in_stock=True),
        Case("deep page", "life ", depth=0.9),
        Case("facets", "love ", facets=True),
    ]


@frozen
class Outcome:
    """What one search returned, in a form both sides can be compared in."""

    books: list[dict[str, Any]]
    scores: list[int]
    total: int
    facets: tuple[Any, ...] | None


def _ours(result: Any) -> Outcome:
    facets = result.facets
    return Outcome(
        books=[asdict(hit.book) for hit in result.page.items],
        scores=[hit.score for hit in result.page.items],
        total=result.page.total,
        facets=None
        if facets is None
        else (
            sorted((-g.count, g.name, g.genre_id) for g in facets.genres),
            facets.in_stock,
            [p.count for p in facets.prices],
        ),
    )


def _raw(result: RawResult) -> Outcome:
    return Outcome(
        books=result.books,
        scores=result.scores,
        total=result.total,
        facets=None
        if result.genres is None
        else (
            sorted((-n, name, genre_id) for genre_id, name, n in result.genres),
            result.in_stock,
            result.buckets,
        ),
    )


# -- the stores --------------------------------------------------------------------------------


@asynccontextmanager
async def _store(backend: str) -> AsyncIterator[tuple[str, str]]:
    if backend == "memory":
        yield "memory://", ""
        return
    async with open_store(backend) as store:
        yield store


def _rss_bytes() -> int:
    """This process's resident set size (Linux), for the memory index's rough size."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _load(shop: Shop, corpus: Corpus, books: int) -> tuple[dict[str, int], list[Book], float]:
    """The demo genres, then ``books`` generated books through ``uow.books.add_many`` (one
    multi-row INSERT per 500 books, :data:`LOAD_CHUNK` books per transaction). Returns the
    genre ids by path, the books and the seconds the books took."""
    admin = Principal.system()
    genres: dict[str, int] = {}
    for path in demo_genre_paths():
        parent, _, name = path.rpartition("/")
        genre = await shop.catalog.create_genre(
            admin, CreateGenre(name=name, parent_id=genres.get(parent))
        )
        genres[path] = genre.id
    drafts = corpus.new_books(books, list(genres.values()))
    added: list[Book] = []
    began = time.perf_counter()
    for start in range(0, len(drafts), LOAD_CHUNK):
        async with shop.unit_of_work() as uow:
            added += await uow.books.add_many(drafts[start : start + LOAD_CHUNK])
            await uow.commit()
    return genres, added, time.perf_counter() - began


async def _index(shop: Shop, books: list[Book]) -> float:
    """Index ``books`` the way the catalog's import does (the search context's in-transaction
    handler): the library's analyzer makes each book's document, ``uow.search_index.put``
    writes them, :data:`LOAD_CHUNK` books per transaction. Returns the seconds it took."""
    analyzer = shop.search.analyzer
    began = time.perf_counter()
    for start in range(0, len(books), LOAD_CHUNK):
        async with shop.unit_of_work() as uow:
            index = cast(SearchUnitOfWork, uow).search_index
            chunk = books[start : start + LOAD_CHUNK]
            for at in range(0, len(chunk), INDEX_BATCH):
                await index.put([analyzer.document(book) for book in chunk[at : at + INDEX_BATCH]])
            await uow.commit()
    return time.perf_counter() - began


async def _index_size(backend: str, target: str) -> dict[str, Any]:
    """What the index takes on disk: the full-text table (PostgreSQL heap, TOAST, GIN index,
    primary key; SQLite the FTS5 shadow tables) and the postings table (PostgreSQL heap,
    primary key, book_id index; SQLite its B-trees' pages), and, for comparison, the books."""
    if backend == "postgres":
        connection = await asyncpg.connect(target)
        try:
            row = await connection.fetchrow(
                "SELECT pg_relation_size('book_search') AS table_bytes,"
                " pg_table_size('book_search') - pg_relation_size('book_search') AS toast_bytes,"
                " pg_relation_size('ix_book_search_document') AS gin_bytes,"
                " pg_relation_size('pk_book_search') AS pkey_bytes,"
                " pg_relation_size('search_postings') AS postings_bytes,"
                " pg_relation_size('pk_search_postings') AS postings_pkey_bytes,"
                " pg_relation_size('ix_search_postings_book_id') AS postings_book_id_bytes,"
                " pg_table_size('books') AS books_bytes"
            )
            return dict(row)
        finally:
            await connection.close()
    async with aiosqlite.connect(target) as db:
        ((page_size,),) = await db.execute_fetchall("PRAGMA page_size")
        rows = await db.execute_fetchall(
            "SELECT name, count(*), sum(pgsize) FROM dbstat"
            " WHERE name LIKE 'book_search_fts%' OR name LIKE '%search_postings%' OR name = 'books'"
            " GROUP BY name ORDER BY name"
        )
    return {
        "page_size": page_size,
        "tables": {name: {"pages": pages, "bytes": size} for name, pages, size in rows},
    }


#: The planner settings the PostgreSQL database gets (``ALTER DATABASE ... SET``), as a
#: deployment would tune them; both sides run with them. ``random_page_cost`` 1.1 (the usual
#: value for SSDs or a database that fits in memory, instead of 4, priced for spinning
#: disks): at 4 the planner reads the whole search table for a word in a quarter of the
#: books rather than the matches the GIN index points at (see docs/search.md, Tuning).
PG_SETTINGS = ("random_page_cost=1.1",)
#: The PRAGMAs every SQLite connection of both sides runs after the engine's own, as a
#: deployment would tune them: a 64 MiB page cache (SQLite's default is 2 MiB), so that the
#: books a filtered search or its facets look up stay in memory (see docs/search.md).
SQLITE_TUNING = ("PRAGMA cache_size = -65536",)


def _tune_sqlite(shop: Shop, pragmas: Sequence[str]) -> None:
    """Make every new connection of ``shop``'s engine run ``pragmas`` (its pool is emptied
    afterwards, by the caller)."""
    engine = cast(Any, shop.backend).engine

    @event.listens_for(engine.sync_engine, "connect")
    def _run_pragmas(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()


async def _maintain(backend: str, target: str, pg_settings: Sequence[str] = ()) -> float:
    """Fresh statistics (and on PostgreSQL the GIN pending list merged), as autovacuum would
    leave a live database, and on PostgreSQL the database's ``pg_settings`` (``name=value``;
    new connections get them); returns the seconds it took."""
    began = time.perf_counter()
    if backend == "postgres":
        connection = await asyncpg.connect(target)
        try:
            for setting in pg_settings:
                name, _, value = setting.partition("=")
                alter = await connection.fetchval(
                    "SELECT format('ALTER DATABASE %I SET %I = %L',"
                    " current_database(), $1::text, $2::text)",
                    name.strip(),
                    value.strip(),
                )
                await connection.execute(alter)
            await connection.execute("VACUUM ANALYZE")
        finally:
            await connection.close()
    elif backend == "sqlite":
        async with aiosqlite.connect(target) as db:
            await db.execute("ANALYZE")
            await db.commit()
    return time.perf_counter() - began


# -- the benchmark -----------------------------------------------------------------------------

Search = Callable[[int], Awaitable[Any]]
RawSearch = RawPostgresSearch | RawSqliteSearch | RawMemorySearch


def _sides(
    shop: Shop,
    raw: RawSearch | None,
    case: Case,
    genres: dict[str, int],
    page: int,
) -> tuple[Search, Search | None]:
    from bookshop_core.search.commands import SearchBooks  # the search context, when present

    genre_id = genres[case.genre] if case.genre else None
    command = SearchBooks(
        q=case.q,
        genre_id=genre_id,
        max_price=None
        if case.max_price_cents is None
        else Decimal(case.max_price_cents).scaleb(-2),
        in_stock=case.in_stock,
        page=page,
        size=PAGE_SIZE,
        facets=case.facets,
    )
    filters = RawFilters(
        genre_id=genre_id, max_price_cents=case.max_price_cents, in_stock=case.in_stock
    )

    async def ours(i: int) -> Any:
        return await shop.search.search(command)

    if raw is None:
        return ours, None

    async def baseline(i: int) -> RawResult:
        return await raw.search(case.q, filters, page, PAGE_SIZE, case.facets)

    return ours, baseline


async def _page_of(shop: Shop, case: Case, genres: dict[str, int]) -> int:
    if not case.depth:
        return 1
    ours, _ = _sides(shop, None, case, genres, 1)
    total: int = (await ours(0)).page.total
    return max(1, math.ceil(total * case.depth / PAGE_SIZE))


async def bench_backend(backend: str, args: argparse.Namespace, corpus: Corpus) -> dict[str, Any]:
    """Load, index, measure the index, then time the mix on one backend."""
    report: dict[str, Any] = {"backend": backend, "results": []}
    async with _store(backend) as (url, target):
        shop = await build_shop(url, migrate=backend != "memory", settings=SETTINGS)
        raw: RawSearch | None = None
        try:
            genres, books, load_s = await _load(shop, corpus, args.books)
            rss = _rss_bytes()
            build: dict[str, Any] = {
                "books": len(books),
                "load_s": round(load_s, 2),
                "index_s": round(await _index(shop, books), 2),
            }
            if backend == "memory":
                build["rss_growth_bytes"] = _rss_bytes() - rss
            if args.reindex:
                began = time.perf_counter()
                await shop.search.reindex(Principal.system())
                build["reindex_s"] = round(time.perf_counter() - began, 2)
            if backend == "memory":
                began = time.perf_counter()
                listed = sorted(await shop.catalog.list_genres(), key=lambda g: g.id)
                raw = RawMemorySearch(
                    (asdict(book) for book in books),
                    {g.id: g.parent_id for g in listed},
                    {g.id: g.name for g in listed},
                )
                build["raw_index_s"] = round(time.perf_counter() - began, 2)
            else:
                chosen = PG_SETTINGS if args.pg_setting is None else args.pg_setting
                settings = [setting for setting in chosen if setting]
                pragmas = SQLITE_TUNING if args.sqlite_pragma is None else args.sqlite_pragma
                tuning = [pragma for pragma in pragmas if pragma]
                build["maintenance_s"] = round(await _maintain(backend, target, settings), 2)
                if backend == "postgres":
                    build["pg_settings"] = list(settings)
                else:
                    build["sqlite_tuning"] = list(tuning)
                    _tune_sqlite(shop, tuning)
                # The library's pooled connections predate the tuning: reconnect.
                await cast(Any, shop.backend).engine.dispose()
                build["size"] = await _index_size(backend, target)
                raw = await (
                    RawPostgresSearch.open(target)
                    if backend == "postgres"
                    else RawSqliteSearch.open(target, tuning)
                )
            report["build"] = build
            _print_build(backend, build)
            print(_TITLE)
            print(_HEADER)
            for case in query_mix(corpus, args.books):
                if args.query and case.name.replace(" ", "-") not in args.query:
                    continue
                result = await _bench_case(shop, raw, case, genres, args)
                result["backend"] = backend
                report["results"].append(result)
                _print_row(result)
        finally:
            if isinstance(raw, RawPostgresSearch | RawSqliteSearch):
                await raw.aclose()
            await shop.aclose()
    return report


async def _bench_case(
    shop: Shop,
    raw: RawSearch | None,
    case: Case,
    genres: dict[str, int],
    args: argparse.Namespace,
) -> dict[str, Any]:
    page = await _page_of(shop, case, genres)
    ours, baseline = _sides(shop, raw, case, genres, page)
    first = _ours(await ours(0))
    if baseline is not None:
        other = _raw(await baseline(0))
        if first != other:
            raise AssertionError(f"{case.name}: ours and raw disagree:\n{first}\n{other}")
    statements = None
    if not isinstance(raw, RawMemorySearch | None):
        from bookshop_adapters.sqlalchemy.statements import count_statements

        with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
            await ours(0)
        statements = {"ours": counted.count, "raw": 2 if case.facets else 1}
    sides = {"ours": ours} if baseline is None else {"ours": ours, "raw": baseline}
    stats = await compare(sides, iterations=args.iterations, warmup=args.warmup)
    result: dict[str, Any] = {
        "query": case.name,
        "q": case.q,
        "page": page,
        "total": first.total,
        "statements": statements,
        **{name: s.as_dict() for name, s in stats.items()},
    }
    if "raw" in stats:
        result.update(ratios(stats["ours"], stats["raw"]))
    return result


# -- output ------------------------------------------------------------------------------------


def _print_build(backend: str, build: dict[str, Any]) -> None:
    line = (
        f"{backend}: {build['books']:,} books loaded in {build['load_s']:.1f} s,"
        f" indexed (analyzer + SearchIndex.put) in {build['index_s']:.1f} s"
    )
    if "reindex_s" in build:
        line += f", Search.reindex {build['reindex_s']:.1f} s"
    if "raw_index_s" in build:
        line += f" (the hand-written dict index: {build['raw_index_s']:.1f} s)"
    if "maintenance_s" in build:
        line += f", VACUUM/ANALYZE {build['maintenance_s']:.1f} s"
    if "rss_growth_bytes" in build:
        line += f", process RSS +{build['rss_growth_bytes'] / 2**20:.0f} MiB while indexing"
    size = build.get("size")
    if size and "gin_bytes" in size:
        line += (
            f"; GIN {size['gin_bytes'] / 2**20:.1f} MiB, book_search heap"
            f" {size['table_bytes'] / 2**20:.1f} MiB + TOAST {size['toast_bytes'] / 2**20:.1f} MiB;"
            f" search_postings heap {size['postings_bytes'] / 2**20:.1f} MiB + primary key"
            f" {size['postings_pkey_bytes'] / 2**20:.1f} MiB + book_id index"
            f" {size['postings_book_id_bytes'] / 2**20:.1f} MiB"
            f" (books {size['books_bytes'] / 2**20:.1f} MiB)"
        )
    elif size:
        parts = [
            f"{name} {t['pages']:,} pages ({t['bytes'] / 2**20:.1f} MiB)"
            for name, t in size["tables"].items()
        ]
        line += "; " + ", ".join(parts)
    print(line, flush=True)


_SIDE = f"{'p50':>8}{'p95':>8}{'cpu':>7}"
_TITLE = f"{'':<36} |{'ours':^24} |{'raw':^24} |"
_HEADER = (
    f"{'backend':<9}{'query':<13}{'total':>8}{'stmts':>6} |{_SIDE} |{_SIDE} |"
    f"{'p50 x':>7}{'p95 x':>7}"
)


def _side(stats: dict[str, float] | None) -> str:
    if stats is None:
        return f"{'-':>8}{'-':>8}{'-':>7}"
    ms = {k: v / 1000 for k, v in stats.items()}
    return f"{ms['median_us']:>8.2f}{ms['p95_us']:>8.2f}{ms['cpu_us']:>7.2f}"


def _print_row(r: dict[str, Any]) -> None:
    stmts = "" if r["statements"] is None else f"{r['statements']['ours']}/{r['statements']['raw']}"
    ratios = f"{r['ratio']:>6.2f}x{r['ratio_p95']:>6.2f}x" if "ratio" in r else f"{'-':>7}{'-':>7}"
    print(
        f"{r['backend']:<9}{r['query']:<13}{r['total']:>8,}{stmts:>6} |{_side(r['ours'])} |"
        f"{_side(r.get('raw'))} |{ratios}",
        flush=True,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks search", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    parser.add_argument("--books", type=int, default=100_000, help="books in the catalog")
    parser.add_argument("--iterations", type=int, default=200, help="timed calls per side")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per side first")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the catalog")
    parser.add_argument(
        "--query",
        action="append",
        help="run only this query of the mix (repeatable; e.g. common-term, deep-page)",
    )
    parser.add_argument(
        "--reindex",
        action="store_true",
        help="also time Search.reindex (the search-reindex command) over the loaded books",
    )
    parser.add_argument(
        "--pg-setting",
        action="append",
        metavar="NAME=VALUE",
        help="a PostgreSQL planner setting of the benchmark database, for both sides"
        f" (repeatable; default: {' '.join(PG_SETTINGS)}; --pg-setting= for none)",
    )
    parser.add_argument(
        "--sqlite-pragma",
        action="append",
        metavar="PRAGMA",
        help="a PRAGMA every SQLite connection of both sides runs (repeatable; default:"
        f" {'; '.join(SQLITE_TUNING)}; --sqlite-pragma= for none)",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    return parser.parse_args(argv)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    backends = BACKENDS if args.backend == "all" else [args.backend]
    began = time.perf_counter()
    corpus = Corpus(args.seed)
    print(
        f"{args.books:,} generated books (seed {args.seed}, generated in"
        f" {time.perf_counter() - began:.1f} s); {args.iterations} timed calls per side,"
        f" {args.warmup} warm-up; page size {PAGE_SIZE}"
    )
    print("latencies and CPU per call in ms; stmts = SQL statements ours/raw;"
          " p50 x, p95 x = ours / raw")  # fmt: skip
    load_before = os.getloadavg()
    reports = []
    for backend in backends:
        print(flush=True)
        reports.append(await bench_backend(backend, args, corpus))
    return {
        "machine": {**machine(), "load_before": load_before, "load_after": os.getloadavg()},
        "config": {
            k: getattr(args, k) for k in ("books", "iterations", "warmup", "seed", "reindex")
        },
        "queries": [asdict(case) for case in query_mix(corpus, args.books)],
        "backends": reports,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    report = asyncio.run(amain(args))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
