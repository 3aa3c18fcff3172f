"""The ``bookshop`` operator CLI, run as a real process on a SQLite file.

One migrated database is made per module (by the CLI itself) and copied for each test, so each
test starts from an empty, migrated shop without paying for the migrations again.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

HEADER = "title,author,price,isbn,genre,publish_date,description,stock_quantity"
GOOD_ROWS = [
    "Dune,Frank Herbert,9.99,978-0-441-01359-3,Fiction/Science Fiction,1965-08-01,Spice,4",
    '"Neuromancer, 1st ed.",William Gibson,12.50,,Fiction/Science Fiction,,"Cyber, punk",0',
    "The Hobbit,J. R. R. Tolkien,8.00,0-261-10221-4,Fiction/Fantasy,1937-09-21,,2",
]
BAD_ROW = "Broken,,-3,978-0-000-00000-1,Fiction,1999-02-30,,many"


@attrs.frozen
class Result:
    code: int
    stdout: str
    stderr: str


@attrs.frozen
class Cli:
    """Runs ``python -m bookshop_examples.cli`` against one database, as an operator would."""

    database_url: str

    def __call__(self, *args: str, timeout: float = 60) -> Result:
        env = {**os.environ, "BOOKSHOP_DATABASE_URL": self.database_url}
        proc = subprocess.run(
            [sys.executable, "-m", "bookshop_examples.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, result
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def created_id(self, *args: str) -> int:
        """Run an ``add`` command and return the id it reports (``Created ... 7: ...``)."""
        match = re.search(r"^Created \w+ (\d+):", self.ok(*args).stdout, re.MULTILINE)
        assert match, args
        return int(match.group(1))


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the CLI's ``migrate`` brought to the latest schema."""
    path = tmp_path_factory.mktemp("cli-template") / "template.db"
    result = Cli(sqlite_url(path)).ok("migrate")
    assert "up to date" in result.stdout
    return path


@pytest.fixture
def cli(migrated_db: Path, tmp_path: Path) -> Cli:
    """The CLI on a fresh copy of the migrated, empty database."""
    path = tmp_path / "shop.db"
    shutil.copyfile(migrated_db, path)
    return Cli(sqlite_url(path))


def write_csv(path: Path, *rows: str) -> Path:
    """A CSV as a spreadsheet exports it: UTF-8 with a byte-order mark, CRLF line ends."""
    path.write_bytes(("\ufeff" + "\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8"))
    return path


def book_total(cli: Cli) -> int:
    return int(cli.json("book", "list")["total"])


# -- operations ---------------------------------------------------------------------------


def test_migrate_on_a_migrated_database_is_a_no_op(cli: Cli) -> None:
    """Migrating twice is safe: the second run finds the schema up to date."""
    assert "up to date" in cli.ok("migrate").stdout


def test_migrate_memory_says_there_is_nothing_to_migrate() -> None:
    """memory:// keeps no schema, and the CLI says so instead of failing."""
    assert "nothing to migrate" in Cli("memory://").ok("migrate").stdout


def test_seed_demo_imports_the_bundled_catalog_once(cli: Cli) -> None:
    """seed-demo fills an empty catalog with every demo book; a second run changes nothing."""
    from bookshop_adapters.demo import demo_rows

    expected = len(demo_rows())
    assert expected > 0
    first = cli.ok("seed-demo")
    assert re.match(
        rf"Seeded the demo catalog: {expected} books, [1-9]\d* genres\.\n", first.stdout
    )

    second = cli.ok("seed-demo")
    assert "already has books" in second.stdout
    assert book_total(cli) == expected


def test_seed_demo_prints_new_demo_credentials_once(cli: Cli) -> None:
    """seed-demo creates a demo admin and customer and prints their passwords only when new."""
    first = cli.ok("seed-demo").stdout
    assert re.search(r"^Demo admin: admin@example\.com / password \S{16,}$", first, re.M)
    assert re.search(r"^Demo user: customer@example\.com / password \S{16,}$", first, re.M)

    second = cli.ok("seed-demo").stdout
    assert " / password " not in second
    assert "admin@example.com exists already" in second


def signs_in(database_url: str, email: str, password: str) -> bool:
    """Whether ``password`` opens a session for ``email`` in the shop at ``database_url``."""
    from bookshop_adapters import ShopSettings, build_shop
    from bookshop_core import AuthenticationError, Login

    async def attempt() -> bool:
        settings = ShopSettings(jwt_secret="a test secret of at least 32 bytes!!")
        async with build_shop(database_url, settings=settings) as shop:
            try:
                await shop.identity.login(Login(email=email, password=password))
            except AuthenticationError:
                return False
            return True

    return asyncio.run(attempt())


def test_seed_demo_reset_passwords_prints_new_working_ones(cli: Cli) -> None:
    """seed-demo --reset-passwords on a seeded shop prints new passwords for the demo admin and
    customer; the new ones sign in, the old ones no longer do, and the catalog is untouched."""
    first = cli.ok("seed-demo").stdout
    old = dict(re.findall(r"^Demo \w+: (\S+) / password (\S+)$", first, re.M))
    books = book_total(cli)

    reset = cli.ok("seed-demo", "--reset-passwords").stdout
    new = dict(re.findall(r"^Demo \w+: (\S+) / password (\S{16,})$", reset, re.M))
    assert sorted(new) == sorted(old) == ["admin@example.com", "customer@example.com"]
    for email, password in new.items():
        assert password != old[email]
        assert signs_in(cli.database_url, email, password)
        assert not signs_in(cli.database_url, email, old[email])
    assert book_total(cli) == books


def test_create_admin_creates_an_admin_once(cli: Cli) -> None:
    """create-admin makes an admin account; the same email again is AUTH_EMAIL_CONFLICT."""
    password = "correct horse battery staple"
    created = cli.ok("create-admin", "Boss@Example.com", "--password", password)
    assert re.fullmatch(r"Created admin boss@example\.com \(id \d+\)\.\n", created.stdout)

    again = cli("create-admin", "boss@example.com", "--password", password)
    assert again.code == 1
    assert again.stderr.startswith("error: AUTH_EMAIL_CONFLICT:")


def test_create_admin_refuses_a_weak_password(cli: Cli) -> None:
    """The password policy applies to operators too: a common password is refused cleanly."""
    result = cli("create-admin", "boss@example.com", "--password", "password1")
    assert result.code == 1
    assert result.stderr.startswith("error: VALIDATION_ERROR:")


def test_serve_help_lists_its_options() -> None:
    """serve documents host, port and reload."""
    cli = Cli("memory://")
    out = cli.ok("serve", "--help").stdout
    for option in ("--host", "--port", "--reload / --no-reload"):
        assert option in out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(cli: Cli, tmp_path: Path) -> Iterator[str]:
    """``bookshop serve`` running on a free port over the test's database; yields its URL."""
    cli.ok("import-books", str(write_csv(tmp_path / "books.csv", *GOOD_ROWS)))
    port = free_port()
    env = {**os.environ, "BOOKSHOP_DATABASE_URL": cli.database_url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bookshop_examples.cli",
            "serve",
            "--port",
            str(port),
            "--no-reload",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/books", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"serve did not start: {proc.communicate()[1]}")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_runs_the_http_app_on_the_given_database(server: str) -> None:
    """serve hands its --database-url to the HTTP app: the API lists the books imported."""
    response = httpx.get(f"{server}/books", timeout=5)
    assert response.status_code == 200
    assert response.json()["total"] == len(GOOD_ROWS)


# -- import-books -------------------------------------------------------------------------


def test_import_books_imports_every_row_and_creates_genres(cli: Cli, tmp_path: Path) -> None:
    """A clean file is imported whole, genre paths become a taxonomy, exit code 0."""
    result = cli.ok("import-books", str(write_csv(tmp_path / "books.csv", *GOOD_ROWS)))
    assert "Imported 3 books, rejected 0 rows, created 3 genres." in result.stdout
    assert "Importing 3 rows" in result.stderr  # the progress bar's label

    books = cli.json("book", "list", "--sort", "title")["items"]
    assert [b["title"] for b in books] == ["Dune", "Neuromancer, 1st ed.", "The Hobbit"]
    assert books[0]["isbn"] == "9780441013593"
    assert books[0]["stock_quantity"] == 4
    [fiction] = cli.json("genre", "list")
    assert fiction["name"] == "Fiction"
    assert sorted(c["name"] for c in fiction["children"]) == ["Fantasy", "Science Fiction"]


def test_import_books_with_a_bad_row_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    """One bad row: exit 1, the row and each bad field reported on stderr, nothing written."""
    path = write_csv(tmp_path / "books.csv", GOOD_ROWS[0], BAD_ROW, GOOD_ROWS[1])
    result = cli("import-books", str(path))
    assert result.code == 1
    [report] = [line for line in result.stderr.splitlines() if line.startswith("row ")]
    assert report.startswith("row 2 (line 3): ")
    for field in ("author", "price", "isbn", "publish_date", "stock_quantity"):
        assert f"{field}: " in report
    assert "Nothing was imported" in result.stderr
    assert "Imported 0 books, rejected 1 row" in result.stdout
    assert book_total(cli) == 0


def test_import_books_partial_imports_the_good_rows(cli: Cli, tmp_path: Path) -> None:
    """--partial writes the good rows, still reports the bad one, and exits 1."""
    path = write_csv(tmp_path / "books.csv", GOOD_ROWS[0], BAD_ROW, GOOD_ROWS[1])
    result = cli("import-books", "--partial", str(path))
    assert result.code == 1
    assert "row 2 (line 3): " in result.stderr
    assert "Imported 2 books, rejected 1 row" in result.stdout
    assert "1 bad row skipped" in result.stderr
    listing = cli.ok("book", "list").stdout.splitlines()
    assert [line.split()[-1] for line in listing[1:-1]] == ["Herbert", "Gibson"]
    assert listing[-1] == "page 1 of 1, 2 books"


# -- genres -------------------------------------------------------------------------------


def test_genre_add_list_rename_move_delete(cli: Cli) -> None:
    """The taxonomy can be built and reshaped from the console; a used genre is kept."""
    fiction = cli.created_id("genre", "add", "Fiction")
    fantasy = cli.created_id("genre", "add", "Fantasy", "--parent", str(fiction))
    assert cli.ok("genre", "list").stdout.splitlines() == [
        f"{fiction:>5}  Fiction",
        f"{fantasy:>5}    Fantasy",
    ]

    cli.ok("genre", "rename", str(fantasy), "High Fantasy")
    cli.ok("genre", "move", str(fantasy), "--top-level")
    cli.ok("genre", "move", str(fiction), "--parent", str(fantasy))
    assert cli.json("genre", "list", "--flat") == [
        {"id": fiction, "name": "Fiction", "parent_id": fantasy},
        {"id": fantasy, "name": "High Fantasy", "parent_id": None},
    ]
    assert cli.ok("genre", "delete", str(fiction)).stdout == f"Deleted genre {fiction}\n"


# -- books and stock ----------------------------------------------------------------------


def test_book_add_show_update_list_delete(cli: Cli) -> None:
    """A book's whole life from the console, ending in a clean BOOK_NOT_FOUND."""
    created = cli.json(
        "book", "add", "--title", "Dune", "--author", "Frank Herbert", "--price", "9.99",
        "--isbn", "0-441-01359-7", "--publish-date", "1965-08-01",
    )  # fmt: skip
    book_id = created["id"]
    assert (created["isbn"], created["stock_quantity"]) == ("9780441013593", 0)
    shown = cli.ok("book", "show", str(book_id)).stdout
    assert "title:           Dune" in shown

    updated = cli.json("book", "update", str(book_id), "--price", "11", "--clear", "isbn")
    assert (updated["price"], updated["isbn"], updated["title"]) == ("11.00", None, "Dune")
    listed = cli.json("book", "list", "--author", "herbert")
    assert [b["id"] for b in listed["items"]] == [book_id]

    cli.ok("book", "delete", str(book_id))
    missing = cli("book", "show", str(book_id))
    assert missing.code == 1
    assert missing.stderr == f"error: BOOK_NOT_FOUND: Book {book_id} not found\n"


def test_stock_set_and_adjust(cli: Cli) -> None:
    """Stock goes from 0 to positive, down, to an absolute value, and never below 0."""
    book_id = cli.created_id("book", "add", "--title", "T", "--author", "A", "--price", "5")
    assert "5 in stock" in cli.ok("stock", "adjust", str(book_id), "5").stdout
    assert "3 in stock" in cli.ok("stock", "adjust", str(book_id), "-2").stdout
    assert "0 in stock" in cli.ok("stock", "set", str(book_id), "0").stdout
    short = cli("stock", "adjust", str(book_id), "-1")
    assert short.code == 1
    assert short.stderr.startswith("error: BOOK_INSUFFICIENT_STOCK: ")


# -- errors -------------------------------------------------------------------------------


def run_without(modules: list[str], *args: str) -> Result:
    """Run the CLI in a process where ``modules`` cannot be imported, as if their extra had
    not been installed (``sys.modules[name] = None`` makes ``import name`` fail)."""
    script = (
        "import runpy, sys\n"
        f"for name in {modules!r}: sys.modules[name] = None\n"
        f"sys.argv = ['bookshop', *{list(args)!r}]\n"
        "runpy.run_module('bookshop_examples.cli', run_name='__main__')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_postgres_without_asyncpg_is_one_line_naming_the_extra() -> None:
    """migrate on a PostgreSQL URL without asyncpg: one line naming the extra, exit 1."""
    url = "postgresql+asyncpg://shop:secret@127.0.0.1:1/shop"
    result = run_without(["asyncpg"], "--database-url", url, "migrate")
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: PostgreSQL support needs the 'postgres' extra: pip install 'bookshop[postgres]'\n"
    )


def test_serve_without_the_http_extra_is_one_line_naming_it() -> None:
    """serve without uvicorn: one line naming the http extra, exit 1."""
    result = run_without(["uvicorn"], "--database-url", "memory://", "serve")
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: bookshop serve needs the 'http' extra: pip install 'bookshop[http]'\n"
    )


def test_validation_error_is_one_line_then_each_field() -> None:
    """Bad input: ``error: VALIDATION_ERROR: ...`` and one line per bad field, exit 1."""
    cli = Cli("memory://")
    result = cli("book", "add", "--title", "T", "--author", "A", "--price", "-1", "--isbn", "12")
    assert result.code == 1
    first, *fields = result.stderr.splitlines()
    assert first.startswith("error: VALIDATION_ERROR: ")
    assert sorted(line.split(":")[0].strip() for line in fields) == ["isbn", "price"]
    assert result.stdout == ""


def test_usage_errors_exit_2() -> None:
    """Unknown store URLs are usage errors (exit 2), reported by click, not as tracebacks."""
    cli = Cli("memory://")
    result = cli("--database-url", "mysql://nope", "book", "list")
    assert result.code == 2
    assert "--database-url" in result.stderr


def test_a_malformed_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A BOOKSHOP_* variable that does not parse: one line naming it, exit 1, no traceback."""
    monkeypatch.setenv("BOOKSHOP_STORE_LOCK_TIMEOUT", "soon")
    result = Cli("memory://")("book", "list")
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: BOOKSHOP_STORE_LOCK_TIMEOUT must be a positive number of seconds, not 'soon'\n"
    )


def test_an_unknown_report_time_zone_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """BOOKSHOP_ANALYTICS_TIME_ZONE naming no zone: refused when the settings are read, one
    line naming the variable (not a bad --database-url), exit 1."""
    monkeypatch.setenv("BOOKSHOP_ANALYTICS_TIME_ZONE", "Nope/Zone")
    result = Cli("memory://")("report", "sales")
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: BOOKSHOP_ANALYTICS_TIME_ZONE must be an IANA time zone such as UTC or "
        "Europe/Berlin, not 'Nope/Zone'\n"
    )
