"""Micro-benchmark of the search analyzer: µs to analyse one book, on the 387 demo books.

Usage: ``python -m benchmarks.search.analyzer [--rounds N] [--repeat N]``.

Each round analyses every demo book once (``Analyzer.document_of``: title, author and
description, as indexing does) with the shop's analyzer; the figure is the best of
``--repeat`` timings of ``--rounds`` rounds, divided by the books analysed (the best, because
on a shared machine the noise only ever adds time). The first round is reported apart: it runs
with the stemmer's memo empty, the others with it warm, as in a long-lived shop.
Also reported: the analyzer plus what each index does with the document (the PostgreSQL
tsvector text, the SQLite FTS5 row), since the index build pays for both.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from bookshop_adapters.demo.seed import demo_rows
from bookshop_adapters.sqlalchemy.search import fts5_row, tsvector_literal
from bookshop_adapters.stemming import SnowballStemmer
from bookshop_core.search.analysis import Analyzer, SearchDocument

__all__ = ["main"]

_Text = tuple[int, str, str, str | None]


def _texts() -> list[_Text]:
    return [
        (number, row["title"], row["author"], row["description"] or None)
        for number, row in enumerate(demo_rows(), start=1)
    ]


def _analyse(analyzer: Analyzer, books: Sequence[_Text]) -> list[SearchDocument]:
    return [
        analyzer.document_of(book_id, title=title, author=author, description=description)
        for book_id, title, author, description in books
    ]


def _best_us_per_book(run: Callable[[], object], books: int, *, rounds: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(rounds):
            run()
        best = min(best, time.perf_counter() - started)
    return best / (rounds * books) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    """Run the micro-benchmark and print µs per book."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="passes over the books per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings; the best is reported")
    args = parser.parse_args(argv)
    books = _texts()
    words = sum(
        len(Analyzer(SnowballStemmer()).terms(text))
        for _, title, author, description in books
        for text in (title, author, description)
    )
    analyzer = Analyzer(SnowballStemmer())
    started = time.perf_counter()
    _analyse(analyzer, books)
    cold = (time.perf_counter() - started) / len(books) * 1e6
    warm = _best_us_per_book(
        lambda: _analyse(analyzer, books), len(books), rounds=args.rounds, repeat=args.repeat
    )

    def with_postgres() -> None:
        for document in _analyse(analyzer, books):
            tsvector_literal(document)

    def with_sqlite() -> None:
        for document in _analyse(analyzer, books):
            fts5_row(document)

    postgres = _best_us_per_book(with_postgres, len(books), rounds=args.rounds, repeat=args.repeat)
    sqlite = _best_us_per_book(with_sqlite, len(books), rounds=args.rounds, repeat=args.repeat)
    print(f"{len(books)} books, {words / len(books):.1f} words per book")
    print(f"analyzer, first pass (stem memo empty): {cold:8.1f} µs per book")
    print(f"analyzer:                               {warm:8.1f} µs per book")
    print(f"analyzer + PostgreSQL tsvector text:    {postgres:8.1f} µs per book")
    print(f"analyzer + SQLite FTS5 row:             {sqlite:8.1f} µs per book")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
