"""Acceptance: the ``bookshop`` operator command, run as a process on a SQLite file."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bookshop_core import CreateGenre, ListUsers, Login, ManualClock, Principal, Role
from tests.acceptance.conftest import open_shop, sqlite_url

ROOT = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[str]]


def _command() -> list[str]:
    script = Path(sys.executable).with_name("bookshop")
    if script.exists():
        return [str(script)]
    found = shutil.which("bookshop")
    return [found] if found else [sys.executable, "-m", "bookshop_examples.cli"]


def _environ(database: Path) -> dict[str, str]:
    return {
        **os.environ,
        "BOOKSHOP_DATABASE_URL": sqlite_url(database),
        "BOOKSHOP_JWT_SECRET": "cli-acceptance-secret-0123456789abcdef",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def _start(database: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*_command(), *args],
        cwd=database.parent,
        env=_environ(database),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str], input: str | None = None) -> Done:
    stdout, stderr = process.communicate(input, timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


Done = subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Done]:
    """A fresh SQLite file migrated once by ``bookshop migrate``, and that run."""
    database = tmp_path_factory.mktemp("template") / "shop.db"
    return database, _finish(_start(database, "migrate"))


@pytest.fixture
def database(tmp_path: Path, template: tuple[Path, Done]) -> Path:
    """A migrated SQLite file of this test's own."""
    assert template[1].returncode == 0, template[1].stderr
    copy = tmp_path / "shop.db"
    shutil.copyfile(template[0], copy)
    return copy


@pytest.fixture
def run(database: Path) -> Run:
    """``run(*args, input=None)``: the bookshop command on this test's migrated SQLite file."""

    def run(*args: str, input: str | None = None) -> Done:
        return _finish(_start(database, *args), input)

    return run


ERROR_RUNS = {
    "not found": ("book", "show", "99"),
    "invalid": ("book", "list", "--min-price", "20", "--max-price", "10", "--size", "500"),
    "usage": ("no-such-command",),
    "weak password": ("create-admin", "root@example.com", "--password", "password"),
}


@pytest.fixture(scope="module")
def error_runs(
    tmp_path_factory: pytest.TempPathFactory, template: tuple[Path, Done]
) -> dict[str, Done]:
    """The failing commands of ERROR_RUNS, run side by side on one migrated file."""
    database = tmp_path_factory.mktemp("errors") / "shop.db"
    shutil.copyfile(template[0], database)
    started = {name: _start(database, *args) for name, args in ERROR_RUNS.items()}
    return {name: _finish(process) for name, process in started.items()}


async def can_login(database: Path, email: str, password: str) -> Role:
    """Sign in with the library on the CLI's database; the account's role."""
    async with open_shop(sqlite_url(database), ManualClock()) as shop:
        pair = await shop.identity.login(Login(email=email, password=password))
        return (await shop.identity.authenticate(pair.access_token)).role


async def accounts(database: Path) -> dict[str, Role]:
    """Every account of the CLI's database, by email, with its role."""
    async with open_shop(sqlite_url(database), ManualClock()) as shop:
        page = await shop.identity.list_users(Principal.system(), ListUsers(per_page=100))
    return {user.email: user.role for user in page.items}


def test_migrate_fresh_file(template: tuple[Path, Done]) -> None:
    """``bookshop migrate`` creates the schema of a fresh SQLite file and exits 0."""
    database, result = template
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert database.exists()


async def test_create_admin_with_password(run: Run, database: Path) -> None:
    """``create-admin EMAIL --password P`` makes an admin account (email normalised)."""
    result = run("create-admin", "Boss@Example.com", "--password", "a long admin passphrase")
    assert result.returncode == 0, result.stderr
    assert re.search(r"Created admin boss@example.com \(id \d+\)", result.stdout)
    assert await accounts(database) == {"boss@example.com": Role.ADMIN}


async def test_create_admin_prompts_for_password(run: Run, database: Path) -> None:
    """Without --password, create-admin prompts (twice) and uses what is typed."""
    typed = "typed at the prompt, twice\n"
    result = run("create-admin", "root@example.com", input=typed * 2)
    assert result.returncode == 0, result.stderr
    assert "typed at the prompt" not in result.stdout
    assert await can_login(database, "root@example.com", typed.strip()) is Role.ADMIN


def test_create_admin_refuses_weak_password(error_runs: dict[str, Done]) -> None:
    """A common password is refused: exit 1 with the code on stderr."""
    result = error_runs["weak password"]
    assert result.returncode == 1
    assert result.stderr.startswith("error: VALIDATION_ERROR: password:")


async def test_catalog_commands_and_json(run: Run, database: Path) -> None:
    """book add, stock set and book list --json speak the HTTP wire format."""
    async with open_shop(sqlite_url(database), ManualClock()) as shop:
        genre = await shop.catalog.create_genre(Principal.system(), CreateGenre("Fiction"))
    added = run(
        "book", "add", "--title", "Dune", "--author", "Frank Herbert", "--price", "9.9",
        "--isbn", "0-441-17271-7", "--genre-id", str(genre.id), "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    book = json.loads(added.stdout)
    assert (book["price"], book["isbn"], book["stock_quantity"]) == ("9.90", "9780441172719", 0)
    stock = run("stock", "set", str(book["id"]), "4")
    assert stock.returncode == 0
    assert "4 in stock" in stock.stdout
    listed = run("book", "list", "--genre-id", str(genre.id), "--in-stock", "--json")
    page = json.loads(listed.stdout)
    assert (page["total"], page["page"], page["size"]) == (1, 1, 20)
    assert page["items"][0]["price"] == "9.90"


def test_domain_error_exit_code(error_runs: dict[str, Done]) -> None:
    """A domain error prints ``error: CODE: message`` on stderr and exits 1."""
    result = error_runs["not found"]
    assert result.returncode == 1
    assert result.stderr.strip() == "error: BOOK_NOT_FOUND: Book 99 not found"


def test_validation_error_names_each_field(error_runs: dict[str, Done]) -> None:
    """min > max and an oversized page are one VALIDATION_ERROR naming both fields."""
    result = error_runs["invalid"]
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: VALIDATION_ERROR:")
    assert "min_price" in first
    assert "size" in first


def test_usage_error_exit_code(error_runs: dict[str, Done]) -> None:
    """An unknown command is a usage error: exit 2."""
    assert error_runs["usage"].returncode == 2


async def test_seed_demo_prints_working_credentials(run: Run, database: Path) -> None:
    """seed-demo fills the catalog and prints a demo admin and customer that can sign in."""
    result = run("seed-demo")
    assert result.returncode == 0, result.stderr
    found = dict(re.findall(r"(\S+@example\.com) / password (\S+)", result.stdout))
    assert set(found) == {"admin@example.com", "customer@example.com"}
    assert await can_login(database, "admin@example.com", found["admin@example.com"]) is Role.ADMIN
    assert (await accounts(database))["customer@example.com"] is Role.USER
    async with open_shop(sqlite_url(database), ManualClock()) as shop:
        page = await shop.catalog.list_books()
    assert page.total >= 100
    assert all(len(b.isbn) == 13 for b in page.items if b.isbn)


async def test_import_books_all_or_nothing(run: Run, tmp_path: Path, database: Path) -> None:
    """import-books writes nothing on a bad row unless --partial, reporting the row."""
    csv = tmp_path / "books.csv"
    csv.write_text(
        "title,author,price,isbn,genre,stock_quantity\n"
        "Mort,Terry Pratchett,8.99,978-0-552-13106-3,Fiction/Fantasy,4\n"
        "Broken,Nobody,-1,,,\n",
        encoding="utf-8",
    )
    result = run("import-books", str(csv))
    assert result.returncode != 0
    assert "row 2" in result.stdout + result.stderr
    assert await titles_in(database) == []
    result = run("import-books", str(csv), "--partial")
    assert "row 2" in result.stdout + result.stderr
    assert await titles_in(database) == ["Mort"]


async def titles_in(database: Path) -> list[str]:
    async with open_shop(sqlite_url(database), ManualClock()) as shop:
        return [book.title for book in (await shop.catalog.list_books()).items]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_answers_health(database: Path) -> None:
    """``bookshop serve --port P`` serves the HTTP example on 127.0.0.1:P."""
    port = _free_port()
    server = _start(database, "serve", "--port", str(port))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200
    finally:
        server.terminate()
        server.communicate(timeout=30)
