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
  comment giving the reason: ``<!-- docs-test: skip (starts a server) -->``. Only ```python
  fences run; ``bash``, ``console``, ``toml`` and the like are never executed.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b(?P<reason>[^>]*)-->")
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)[^\n]*$")
URL = re.compile(r"""(?P<q>["'])(?:sqlite\+aiosqlite|postgresql\+asyncpg):[^"']*(?P=q)""")


def _pages() -> list[Path]:
    pages = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    return [p for p in pages if p.is_file()]


class Block:
    """One fenced code block: its language, source, first line and skip reason."""

    def __init__(self, page: Path, line: int, lang: str, source: str, skip: str | None) -> None:
        self.page = page
        self.line = line
        self.lang = lang
        self.source = source
        self.skip = skip

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
        marker = SKIP.search(previous)
        reason = marker["reason"].strip(" ()") if marker else None
        yield Block(page, start + 1, lang, "\n".join(body) + "\n", reason)


def _python_blocks(page: Path) -> list[Block]:
    return [b for b in _blocks(page) if b.lang in ("python", "py", "python3")]


def _run_page(blocks: list[Block], url: str) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    loop = asyncio.new_event_loop()
    try:
        for block in blocks:
            if block.skip is not None:
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
def test_every_skip_gives_a_reason(page: Path) -> None:
    """A python block may be left out of the docs test only with a stated reason."""
    for block in _python_blocks(page):
        assert block.skip != "", f"{block.where}: say why the block is skipped"


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if _python_blocks(p)],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of the page runs against the in-memory backend without error."""
    url = os.environ.get("BOOKSHOP_DOCS_TEST_URL", "memory://")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOOKSHOP_DATABASE_URL", url)
    _run_page(_python_blocks(page), url)
