"""The code in the docs runs: every ```python block of docs/**/*.md and README.md is executed.

Conventions, so that a page reads like a session a user could type:

- The blocks of one page run in order, in one shared namespace, on one event loop; a block may
  use names an earlier block on the same page defined.
- A block may ``await`` at top level (as in ``python -m asyncio``); such a block runs on the
  page's event loop. A block without top-level ``await`` runs as a plain script, so it may call
  ``asyncio.run(...)`` itself.
- Database URLs in the snippets (``sqlite+aiosqlite:///...``, ``postgresql+asyncpg://...``) are
  replaced by ``memory://`` (or ``$BOOKSHOP_DOCS_TEST_URL``), so the docs run anywhere and fast;
  the backends themselves are covered by the contract suite. ``$BOOKSHOP_DATABASE_URL`` points
  there too, for snippets that call ``build_shop()`` with no URL.
- Each page runs in its own temporary working directory.
- A block that cannot run here (it starts a server, needs credentials) is preceded by an HTML
  comment giving the reason: ``<!-- docs-test: skip (starts a server) -->``.
- A ```console block preceded by ``<!-- docs-test: session -->`` is a CLI session: each
  ``$ bookshop ...`` line runs the ``bookshop`` command (in process, with click's runner) on one
  SQLite file per page, and the lines under it must be exactly what the command printed
  (standard output and error, interleaved; the import progress bar is left out).
- A block preceded by ``<!-- docs-test: file NAME -->`` is written to NAME in the page's working
  directory when the page reaches it, for the sessions after it to use.
- Other fences (``bash``, unmarked ``console``, ``toml``, ``json``...) are never executed.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>skip|session|file)\b(?P<arg>[^>]*)-->")
SESSION_URL = "sqlite+aiosqlite:///shop.db"
#: click prints a progress bar's label on its own line when not writing to a terminal.
PROGRESS = re.compile(r"^Importing \d+ rows?$")
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)[^\n]*$")
URL = re.compile(r"""(?P<q>["'])(?:sqlite\+aiosqlite|postgresql\+asyncpg):[^"']*(?P=q)""")


def _pages() -> list[Path]:
    pages = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    return [p for p in pages if p.is_file()]


class Block:
    """One fenced code block: its language, source, first line and docs-test marker."""

    def __init__(
        self, page: Path, line: int, lang: str, source: str, marker: tuple[str, str] | None
    ) -> None:
        self.page = page
        self.line = line
        self.lang = lang
        self.source = source
        self.marker = marker

    @property
    def is_python(self) -> bool:
        return self.lang in ("python", "py", "python3")

    @property
    def skip(self) -> str | None:
        """The reason given for skipping the block, or ``None`` when it runs."""
        if self.marker is None or self.marker[0] != "skip":
            return None
        return self.marker[1]

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _blocks(page: Path) -> Iterator[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opened = FENCE_OPEN.match(lines[index])
        if not opened:
            index += 1
            continue
        indent, ticks, lang = opened["indent"], opened["ticks"], opened["lang"].lower()
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != ticks:
            line = lines[index]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            index += 1
        index += 1  # the closing fence
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        found = MARKER.search(previous)
        marker = (found["kind"], found["arg"].strip(" ()")) if found else None
        yield Block(page, start + 1, lang, "\n".join(body) + "\n", marker)


def _python_blocks(page: Path) -> list[Block]:
    return [b for b in _blocks(page) if b.is_python]


def _runnable_blocks(page: Path) -> list[Block]:
    """The python blocks, the CLI sessions and the files of a page, in page order."""
    return [
        b
        for b in _blocks(page)
        if (b.is_python and b.skip is None)
        or (b.marker is not None and b.marker[0] in ("session", "file"))
    ]


def _run_session(block: Block) -> None:
    from click.testing import CliRunner

    from bookshop_examples.cli.main import main

    runner = CliRunner(env={"BOOKSHOP_DATABASE_URL": SESSION_URL})
    steps: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(block.source.splitlines(), start=block.line + 1):
        if line.startswith("$ "):
            steps.append((number, line[2:], []))
        elif steps:
            steps[-1][2].append(line.rstrip())
        else:
            raise AssertionError(f"{block.page.name}:{number}: output before any command")
    for number, command, expected in steps:
        words = shlex.split(command)
        assert words[0] == "bookshop", f"{block.page.name}:{number}: not a bookshop command"
        result = runner.invoke(main, words[1:], prog_name="bookshop")
        printed = [line.rstrip() for line in result.output.splitlines() if not PROGRESS.match(line)]
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(
                f"{block.page.name}:{number}: $ {command} crashed"
            ) from result.exception
        assert printed == expected, f"{block.page.name}:{number}: $ {command}"


def _run_page(blocks: list[Block], url: str) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    loop = asyncio.new_event_loop()
    try:
        for block in blocks:
            if block.marker is not None and block.marker[0] == "file":
                Path(block.marker[1]).write_text(block.source, encoding="utf-8")
                continue
            if block.marker is not None and block.marker[0] == "session":
                _run_session(block)
                continue
            source = URL.sub(lambda m: f"{m['q']}{url}{m['q']}", block.source)
            # Pad so that line numbers in a traceback are the page's own line numbers.
            source = "\n" * block.line + source
            code = compile(
                source,
                str(block.page),
                "exec",
                flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                dont_inherit=True,
            )
            try:
                if code.co_flags & inspect.CO_COROUTINE:
                    loop.run_until_complete(eval(code, namespace))
                else:
                    exec(code, namespace)
            except BaseException as exc:
                raise AssertionError(f"the block at {block.where} failed: {exc!r}") from exc
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


PAGES = _pages()


def test_the_docs_have_runnable_examples() -> None:
    """The collector finds the README and the guides, and runs something in them."""
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert "README.md" in names
    assert "docs/quickstart.md" in names
    runnable = [b for p in PAGES for b in _python_blocks(p) if b.skip is None]
    assert len(runnable) >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_markers_are_well_formed(page: Path) -> None:
    """A python block is left out only with a stated reason; sessions are console blocks;
    files have a name."""
    for block in _blocks(page):
        if block.marker is None:
            continue
        kind, arg = block.marker
        if kind == "skip":
            assert block.is_python, f"{block.where}: only python blocks are skipped"
            assert arg, f"{block.where}: say why the block is skipped"
        elif kind == "session":
            assert block.lang == "console", f"{block.where}: a session is a console block"
        else:
            assert arg, f"{block.where}: name the file"
            assert "/" not in arg, f"{block.where}: a file name, without a directory"


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if _runnable_blocks(p)],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of the page runs against the in-memory backend without error, and
    every marked CLI session prints what the page says."""
    url = os.environ.get("BOOKSHOP_DOCS_TEST_URL", "memory://")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOOKSHOP_DATABASE_URL", url)
    _run_page(_runnable_blocks(page), url)


ERROR_CODE = re.compile(r"`([A-Z][A-Z0-9_]+)`")
STATUS = re.compile(r"^(\d{3})\b")


def _documented_codes() -> dict[str, tuple[int, str | None, str | None]]:
    """Every code in the tables of docs/errors.md: (HTTP status, class, category) as written."""
    found: dict[str, tuple[int, str | None, str | None]] = {}
    for line in (DOCS / "errors.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2:
            continue
        status_cell = next((cell for cell in cells[1:] if STATUS.match(cell)), None)
        codes = ERROR_CODE.findall(cells[0])
        if status_cell is None or not codes:
            continue
        # "404, 405" next to `HTTP_404`, `HTTP_405`: one status per code; else one for all.
        statuses = [int(s) for s in re.findall(r"\b\d{3}\b", status_cell.split("(")[0])]
        if len(statuses) != len(codes):
            statuses = statuses[:1] * len(codes)
        names = [c.strip("`") for c in cells[1:] if re.fullmatch(r"`[A-Z]\w+`", c)]
        error_class = names[0] if names else None
        category = names[1] if len(names) > 1 else None
        for code, status in zip(codes, statuses, strict=True):
            found[code] = (status, error_class, category)
    return found


def test_error_codes_page_lists_exactly_the_registry() -> None:
    """docs/errors.md lists every registered code, none unknown, each with its class,
    category and the HTTP status the example app answers with."""
    pytest.importorskip("fastapi")
    from bookshop_core import ERRORS
    from bookshop_examples.http.errors import STATUS_BY_CODE, TRANSPORT_CODES

    documented = _documented_codes()
    domain = {code: row for code, row in documented.items() if code not in TRANSPORT_CODES}
    assert sorted(domain) == sorted(ERRORS)
    for code, (status, class_name, category) in domain.items():
        error_class = ERRORS[code]
        assert class_name == error_class.__name__, code
        assert category is not None, code
        assert any(base.__name__ == category for base in error_class.__mro__), code
        assert status == error_class.http_status == STATUS_BY_CODE[code], code
    transport = {code: row for code, row in documented.items() if code in TRANSPORT_CODES}
    assert {code: row[0] for code, row in transport.items()} == dict(TRANSPORT_CODES)
