"""``bookshop search`` and ``bookshop search-reindex``, run as a real process on a SQLite file.

What a query finds is the contract suite's; here: arguments reach ``SearchBooks``, the output
reads well, errors are one line with exit code 1.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.examples.test_cli_commands import Cli, sqlite_url, write_csv

ROWS = [
    "The Hobbit,J. R. R. Tolkien,8.00,,Fiction/Fantasy,,A dragon's hoard,2",
    "The Two Towers,J. R. R. Tolkien,10.50,,Fiction/Fantasy/Epic Fantasy,,,0",
    "Tolkien: A Biography,Humphrey Carpenter,25.00,,Biography,,,1",
    "Dune,Frank Herbert,9.99,,Fiction/Science Fiction,,Spice,4",
]


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with four books, imported (and so indexed) by the CLI."""
    directory = tmp_path_factory.mktemp("cli-search")
    path = directory / "template.db"
    cli = Cli(sqlite_url(path))
    cli.ok("migrate")
    cli.ok("import-books", str(write_csv(directory / "books.csv", *ROWS)))
    return path


@pytest.fixture
def cli(seeded_db: Path, tmp_path: Path) -> Cli:
    """The CLI on a fresh copy of the seeded database."""
    path = tmp_path / "shop.db"
    shutil.copyfile(seeded_db, path)
    return Cli(sqlite_url(path))


def listed_titles(stdout: str) -> list[str]:
    """The titles of the result table, in order."""
    return re.findall(r"^\s*\d+\s+\d+\s+[\d.]+\s+\d+\s+(.+?) / ", stdout, re.MULTILINE)


def test_search_prints_the_best_matches_first(cli: Cli) -> None:
    """search QUERY prints id, score, price, stock, title / author by relevance, then the
    page line."""
    out = cli.ok("search", "tolkien").stdout
    assert out.splitlines()[0].split() == ["ID", "SCORE", "PRICE", "STOCK", "TITLE", "/", "AUTHOR"]
    assert listed_titles(out) == ["Tolkien: A Biography", "The Hobbit", "The Two Towers"]
    assert out.splitlines()[-1] == "page 1 of 1, 3 books"


def test_search_options_reach_the_search(cli: Cli) -> None:
    """Filters, sort and page options are passed on (genre with sub-genres, in stock, price)."""
    genres = {g["name"]: g["id"] for g in cli.json("genre", "list", "--flat")}
    out = cli.ok("search", "tolkien", "--genre-id", str(genres["Fantasy"]), "--sort", "price")
    assert listed_titles(out.stdout) == ["The Hobbit", "The Two Towers"]
    out = cli.ok("search", "tolkien", "--in-stock", "--max-price", "20", "--size", "1")
    assert listed_titles(out.stdout) == ["The Hobbit"]
    assert out.stdout.splitlines()[-1] == "page 1 of 1, 1 book"


def test_search_json_is_the_search_result(cli: Cli) -> None:
    """--json prints the unstructured SearchResult: page of hits (book, score), facets,
    suggestion."""
    result = cli.json("search", "dragon", "--facets")
    hit = result["page"]["items"][0]
    assert (hit["book"]["title"], hit["score"], result["page"]["total"]) == ("The Hobbit", 1, 1)
    assert result["facets"]["in_stock"] == 1
    assert result["suggestion"] is None


def test_search_suggests_a_query_when_nothing_is_found(cli: Cli) -> None:
    """A query that finds nothing prints the empty page and a did-you-mean line."""
    out = cli.ok("search", "tolkein").stdout
    assert out.splitlines() == ["page 1 of 1, 0 books", "Did you mean: tolkien"]


def test_search_facets_are_printed_after_the_page(cli: Cli) -> None:
    """--facets prints the counts per top-level genre, in stock and per price bucket."""
    out = cli.ok("search", "--facets").stdout
    assert out.splitlines()[-3:] == [
        "genres: Fiction 3, Biography 1",
        "in stock: 3",
        "prices: under 10.00: 2; 10.00 to 20.00: 1; 20.00 to 50.00: 1; 50.00 and over: 0",
    ]


def test_a_refused_query_is_one_error_line(cli: Cli) -> None:
    """A query of exclusions only is exit 1 with 'error: VALIDATION_ERROR: q: ...'."""
    result = cli("search", "--", "-dune")
    assert result.code == 1
    assert result.stderr == "error: VALIDATION_ERROR: q: needs at least one word to search for\n"


def test_search_reindex_rebuilds_and_counts(cli: Cli) -> None:
    """search-reindex reports how many books it indexed; searches find the same afterwards."""
    before = cli.ok("search", "tolkien").stdout
    assert cli.ok("search-reindex").stdout == "Reindexed 4 books.\n"
    assert cli.ok("search", "tolkien").stdout == before
