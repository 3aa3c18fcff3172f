"""pytest fixtures that run every test on every backend: memory, SQLite and PostgreSQL.

Enable it in a ``conftest.py`` (ours does; so can an embedding app or an adapter author)::

    pytest_plugins = ["bookshop_adapters.testing.pytest_plugin"]

Fixtures:

- ``shop``: a :class:`~bookshop_adapters.Shop` on a fresh, empty store, once per backend
  (test ids ``[memory]``, ``[sqlite]``, ``[postgres]``), built with the ``clock`` fixture.
- ``backend_url``: the URL of that fresh store, for tests that build their own shop.
- ``backend_name``: ``"memory"``, ``"sqlite"`` or ``"postgres"``; the parametrisation lives here.
- ``shop_factory``: opens more shops on fresh stores of the same backend (one per Hypothesis
  example, say): ``async with shop_factory.open() as shop: ...``.
- ``clock`` (a :class:`~bookshop_core.ManualClock`), ``admin`` and ``customer`` principals.
- ``postgres_url`` (session): the PostgreSQL to use: ``$BOOKSHOP_TEST_POSTGRES_URL``, else a
  throwaway server started from the local binaries. Without either, PostgreSQL tests are
  skipped, except when ``$CI`` is set: then they fail, so that CI can never silently skip them.

SQL stores are cheap to make fresh: SQLite copies a template file migrated once per session,
PostgreSQL copies a template database migrated once per session.

To run the suite on your own store, override ``backend_name``/``shop_factory`` (or just
``shop``) in your ``conftest.py``.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest
import pytest_asyncio

from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_adapters.testing.postgres import (
    POSTGRES_URL_ENV,
    PostgresUnavailable,
    TestDatabases,
    ThrowawayPostgres,
    asyncpg_url,
    describe_server,
    find_postgres_bindir,
    run_blocking,
)
from bookshop_core.kernel.clock import Clock, ManualClock
from bookshop_core.kernel.events import EventBus
from bookshop_core.kernel.principal import Principal, Role

# The shared contract suite asserts with plain ``assert``; let pytest explain its failures.
pytest.register_assert_rewrite("bookshop_adapters.testing.contract")

__all__ = [
    "BACKENDS",
    "ShopFactory",
    "admin",
    "backend_name",
    "backend_url",
    "clock",
    "customer",
    "postgres_databases",
    "postgres_url",
    "shop",
    "shop_factory",
    "sqlite_template",
]

#: The backends every contract test runs on, in order; also the test ids.
BACKENDS = ("memory", "sqlite", "postgres")

_POSTGRES_LINE = pytest.StashKey[str]()
_WORKER_POSTGRES_LINES = pytest.StashKey[list[str]]()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> NoReturn:
    """Skip, or fail under CI, where a backend that cannot run is a broken pipeline."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def _announce(config: pytest.Config, line: str) -> None:
    config.stash[_POSTGRES_LINE] = line
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"bookshop: {line}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: needs a PostgreSQL server (started by the harness when none is given)"
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Under pytest-xdist, tell the controller which PostgreSQL this worker used.
    output = getattr(session.config, "workeroutput", None)
    line = session.config.stash.get(_POSTGRES_LINE, None)
    if output is not None and line is not None:
        output["bookshop_postgres"] = line


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    line = getattr(node, "workeroutput", {}).get("bookshop_postgres")
    if line is not None:
        lines = node.config.stash.setdefault(_WORKER_POSTGRES_LINES, [])
        lines.append(f"{line} (worker {node.workerinput.get('workerid', '?')})")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    lines = [*config.stash.get(_WORKER_POSTGRES_LINES, [])]
    if (line := config.stash.get(_POSTGRES_LINE, None)) is not None:
        lines.append(line)
    for line in sorted(lines):
        terminalreporter.write_line(f"bookshop: PostgreSQL tests ran on {line}")


def _sql_migrate() -> Callable[[str], Coroutine[Any, Any, None]]:
    if importlib.util.find_spec("bookshop_adapters.sqlalchemy") is None:
        _unavailable("the SQL backend (bookshop_adapters.sqlalchemy) is not installed")
    from bookshop_adapters.sqlalchemy import migrate

    return migrate


# -- principals and time ------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    """The shop's clock: 2024-01-01T00:00Z until a test moves it."""
    return ManualClock()


@pytest.fixture
def admin() -> Principal:
    """An admin caller."""
    return Principal(user_id=1, role=Role.ADMIN)


@pytest.fixture
def customer() -> Principal:
    """A customer: may read the catalog, may not change it."""
    return Principal(user_id=2, role=Role.USER)


# -- stores -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a PostgreSQL database for this session (see the module docstring)."""
    given = os.environ.get(POSTGRES_URL_ENV)
    if importlib.util.find_spec("asyncpg") is None:
        _unavailable("asyncpg is not installed (pip install 'bookshop[postgres]')")
    if given:
        url = asyncpg_url(given)
        _announce(request.config, describe_server(url))
        yield url
        return
    if find_postgres_bindir() is None:
        _unavailable(
            f"no PostgreSQL: set ${POSTGRES_URL_ENV} or install the PostgreSQL server binaries"
        )
    try:
        server = ThrowawayPostgres.start()
    except PostgresUnavailable as exc:
        _unavailable(str(exc))
    with server:
        url = server.create_database("bookshop")
        _announce(request.config, server.describe())
        yield url


@pytest.fixture(scope="session")
def postgres_databases(postgres_url: str) -> Iterator[TestDatabases]:
    """Makes fresh migrated databases on the session's PostgreSQL."""
    databases = TestDatabases(postgres_url, _sql_migrate())
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; tests get copies of it."""
    migrate = _sql_migrate()
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    run_blocking(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


class ShopFactory:
    """Opens shops on fresh, empty stores of one backend.

    Args:
        backend: The backend's name (``memory``, ``sqlite``, ``postgres`` or your own).
        new_url: Makes a fresh, migrated, empty store and returns its URL.
        discard: Deletes a store made by ``new_url`` (optional).
        discard_blocking: The same, without an event loop (for teardown).
    """

    def __init__(
        self,
        backend: str,
        new_url: Callable[[], Awaitable[str]],
        discard: Callable[[str], Awaitable[None]] | None = None,
        discard_blocking: Callable[[str], None] | None = None,
    ) -> None:
        self.backend = backend
        self._new_url = new_url
        self._discard = discard
        self._discard_blocking = discard_blocking
        self._live: set[str] = set()

    async def new_url(self) -> str:
        """A fresh store's URL; it is deleted by :meth:`discard` or when the test ends."""
        url = await self._new_url()
        self._live.add(url)
        return url

    async def discard(self, url: str) -> None:
        """Delete the store at ``url`` (close every shop on it first)."""
        self._live.discard(url)
        if self._discard is not None:
            await self._discard(url)

    @asynccontextmanager
    async def open(
        self, *, clock: Clock | None = None, events: EventBus | None = None
    ) -> AsyncIterator[Shop]:
        """A shop on a fresh store, closed and deleted on exit."""
        url = await self.new_url()
        try:
            async with build_shop(url, clock=clock or ManualClock(), events=events) as shop:
                yield shop
        finally:
            await self.discard(url)

    def close(self) -> None:
        """Delete every store still alive."""
        for url in sorted(self._live):
            if self._discard_blocking is not None:
                self._discard_blocking(url)
        self._live.clear()


def _memory_factory() -> ShopFactory:
    async def new_url() -> str:
        return "memory://"

    return ShopFactory("memory", new_url)


def _sqlite_factory(template: Path, directory: Path) -> ShopFactory:
    counter = itertools.count(1)

    def path_of(url: str) -> Path:
        return Path(url.removeprefix("sqlite+aiosqlite:///"))

    async def new_url() -> str:
        path = directory / f"shop-{next(counter)}.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"

    def discard_blocking(url: str) -> None:
        path = path_of(url)
        for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)

    async def discard(url: str) -> None:
        discard_blocking(url)

    return ShopFactory("sqlite", new_url, discard, discard_blocking)


def _postgres_factory(databases: TestDatabases) -> ShopFactory:
    return ShopFactory("postgres", databases.acquire, databases.release, databases.release_blocking)


@pytest.fixture(
    params=[
        pytest.param(name, id=name, marks=[pytest.mark.postgres] if name == "postgres" else [])
        for name in BACKENDS
    ]
)
def backend_name(request: pytest.FixtureRequest) -> str:
    """Which backend this test runs on."""
    name: str = request.param
    return name


@pytest.fixture
def shop_factory(
    backend_name: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ShopFactory]:
    """Opens shops on fresh stores of this test's backend; leftovers are deleted afterwards."""
    if backend_name == "memory":
        factory = _memory_factory()
    elif backend_name == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        factory = _sqlite_factory(template, tmp_path_factory.mktemp("sqlite"))
    elif backend_name == "postgres":
        factory = _postgres_factory(request.getfixturevalue("postgres_databases"))
    else:
        raise pytest.UsageError(f"unknown backend {backend_name!r}; override shop_factory")
    try:
        yield factory
    finally:
        factory.close()


@pytest_asyncio.fixture
async def backend_url(shop_factory: ShopFactory) -> AsyncIterator[str]:
    """The URL of a fresh, migrated, empty store of this test's backend."""
    url = await shop_factory.new_url()
    yield url
    await shop_factory.discard(url)


@pytest_asyncio.fixture
async def shop(backend_url: str, clock: ManualClock) -> AsyncIterator[Shop]:
    """A shop on a fresh, empty store, with the ``clock`` fixture as its clock."""
    async with build_shop(backend_url, clock=clock) as opened:
        yield opened
