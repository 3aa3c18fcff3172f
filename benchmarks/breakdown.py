"""Where the book-detail overhead goes: the same read, one layer added at a time.

Usage: ``python -m benchmarks.breakdown [--backend sqlite|postgres|all] [--iterations N]``

1. ``raw``: the raw-driver baseline of ``python -m benchmarks``.
2. ``core prebuilt``: SQLAlchemy Core on the shop's engine (a pooled connection, one read-only
   transaction), executing one ``SELECT`` built once from the ``Table``'s columns with a
   ``bindparam`` for the id, as ``books.get`` does.
3. ``unit of work``: ``SqlUnitOfWork(read_only=True)`` + ``books.get`` (explicit ``BEGIN``,
   error translation, mapping the row to a ``Book``).
4. ``use case``: ``shop.catalog.get_book`` (id check, ``Transactions.read``).

Then, compared with step 2, two ways of building the statement on every call instead:

- ``built: table columns``: the ``SELECT`` built anew from the ``Table``'s columns;
- ``built: ORM attributes``: built anew from the mapped class's attributes (``BookRow.id``...),
  as the repositories did before they used prebuilt statements.

On SQLite it also counts the hand-offs to aiosqlite's worker thread per call.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
from collections import Counter
from typing import Any

import aiosqlite.core
from sqlalchemy import bindparam, select

from benchmarks.raw import RawPostgres, RawSqlite, Token
from benchmarks.stores import build, open_store, seed
from benchmarks.timing import Operation, compare
from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.sqlalchemy.catalog import BOOK_COLUMNS
from bookshop_adapters.sqlalchemy.tables import BookRow
from bookshop_adapters.sqlalchemy.uow import READ_ONLY_OPTION


def ladder(shop: Shop, raw: RawSqlite | RawPostgres, ids: list[int]) -> dict[str, Operation]:
    backend: Any = shop.backend
    engine = backend.engine.execution_options(
        **{READ_ONLY_OPTION: True, "postgresql_readonly": True}
    )
    table = BookRow.__table__
    table_columns = [table.c[column.key] for column in BOOK_COLUMNS]
    orm_attributes = [getattr(BookRow, column.key) for column in BOOK_COLUMNS]
    prebuilt = select(*table_columns).where(table.c.id == bindparam("book_id"))

    def pick(i: int) -> int:
        return ids[i % len(ids)]

    async def core_prebuilt(i: int) -> Any:
        async with engine.connect() as connection:
            return (await connection.execute(prebuilt, {"book_id": pick(i)})).one()

    async def core_table(i: int) -> Any:
        async with engine.connect() as connection:
            statement = select(*table_columns).where(table.c.id == pick(i))
            return (await connection.execute(statement)).one()

    async def core_orm(i: int) -> Any:
        async with engine.connect() as connection:
            statement = select(*orm_attributes).where(BookRow.id == pick(i))
            return (await connection.execute(statement)).one()

    async def unit_of_work(i: int) -> Any:
        async with backend.unit_of_work(read_only=True) as uow:
            return await uow.books.get(pick(i))

    return {
        "raw": lambda i: raw.get_book(pick(i)),
        "core prebuilt": core_prebuilt,
        "unit of work": unit_of_work,
        "use case": lambda i: shop.catalog.get_book(pick(i)),
        "built: table columns": core_table,
        "built: ORM attributes": core_orm,
    }


#: The step each step's ``+cpu`` is measured from: the one before, except for the alternatives.
COMPARED_WITH = {
    "core prebuilt": "raw",
    "unit of work": "core prebuilt",
    "use case": "unit of work",
    "built: table columns": "core prebuilt",
    "built: ORM attributes": "core prebuilt",
}


async def _hops(operation: Operation) -> int:
    """How many calls ``operation`` queues to aiosqlite's worker thread."""
    counted: Counter[str] = Counter()
    original: Any = aiosqlite.core.Connection._execute

    async def counting(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counted["hops"] += 1
        return await original(self, fn, *args, **kwargs)

    aiosqlite.core.Connection._execute = counting  # type: ignore[method-assign]
    try:
        await operation(0)
    finally:
        aiosqlite.core.Connection._execute = original  # type: ignore[method-assign]
    return counted["hops"]


async def run(backend: str, iterations: int, warmup: int, books: int) -> None:
    async with open_store(backend) as (url, target):
        shop = await build(url)
        try:
            data = await seed(shop, books, random.Random(1))
            token = Token.for_shop(shop)
            raw: RawSqlite | RawPostgres = (
                await RawSqlite.open(target, token)
                if backend == "sqlite"
                else await RawPostgres.open(target, token)
            )
            try:
                sides = ladder(
                    shop, raw, random.Random(7).sample(data.book_ids, min(500, len(data.book_ids)))
                )
                hops = {name: await _hops(op) for name, op in sides.items()}
                stats = await compare(sides, iterations=iterations, warmup=warmup)
            finally:
                await raw.aclose()
        finally:
            await shop.aclose()
    print(f"\n{backend}: book detail, {iterations} calls per step (µs per call)")
    print(f"{'step':<22}{'median':>8}{'p95':>8}{'cpu':>8}{'+cpu':>8}{'x raw':>7}{'hops':>6}")
    base = stats["raw"].cpu_us
    for name, s in stats.items():
        compared = COMPARED_WITH.get(name)
        added = "" if compared is None else f"{s.cpu_us - stats[compared].cpu_us:+.0f}"
        hop = str(hops[name]) if backend == "sqlite" else "-"
        print(
            f"{name:<22}{s.median_us:>8.0f}{s.p95_us:>8.0f}{s.cpu_us:>8.0f}{added:>8}"
            f"{s.cpu_us / base:>6.1f}x{hop:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.breakdown", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--books", type=int, default=5000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for backend in ["sqlite", "postgres"] if args.backend == "all" else [args.backend]:
        asyncio.run(run(backend, args.iterations, args.warmup, args.books))


if __name__ == "__main__":
    main()
