"""pytest fixtures that run the contract suite on a backend: memory, SQLite, PostgreSQL or yours.

Enable it in a ``conftest.py`` (ours does; so can an embedding app or an adapter author)::

    pytest_plugins = ["bookshop_adapters.testing.pytest_plugin"]

**The one hook** is ``bookshop_backend_factory``: a callable that opens a
:class:`~bookshop_adapters.backend.Backend` on a fresh, empty store, as an async context
manager that closes the backend and deletes the store on exit. Every other fixture derives
from it through ``build_shop(backend=...)``; to run the whole suite on your own store, override
just that fixture (see ``docs/testing.md``)::

    @pytest.fixture
    def bookshop_backend_factory():
        @asynccontextmanager
        async def fresh_store():
            backend = MyBackend()
            try:
                yield backend
            finally:
                await backend.aclose()

        return fresh_store

Fixtures derived from it:

- ``bookshop_backend``: one backend on a fresh store for this test (closed afterwards).
- ``shop``: a :class:`~bookshop_adapters.Shop` on ``bookshop_backend``, with the ``clock``
  fixture, the fast test password hasher and the test JWT secret
  (:mod:`bookshop_adapters.testing.identity`), cover images kept in memory.
- ``make_shop``: ``make_shop(**overrides)`` builds more shops on the same store (other
  settings, another hasher...); ``async with make_shop(settings=...) as other: ...``.
- ``shop_factory``: opens shops on *more* fresh stores (one per Hypothesis example, say):
  ``async with shop_factory.open() as shop: ...``.
- ``clock`` (a :class:`~bookshop_core.ManualClock`), ``admin`` and ``customer`` principals.

The default ``bookshop_backend_factory`` runs each test once per shipped backend (test ids
``[memory]``, ``[sqlite]``, ``[postgres]``, the last marked ``postgres``), chosen with
``--bookshop-backends=memory,sqlite`` (or the ``bookshop_backends`` ini option) or deselected
with ``-m "not postgres"``. For tests that need a URL (the CLI, say) ``backend_url`` is a fresh
store of the same shipped backend. ``postgres_url`` (session) is the PostgreSQL to use:
``$BOOKSHOP_TEST_POSTGRES_URL``, else a throwaway server started from the local binaries;
without either, PostgreSQL tests are skipped, except when ``$CI`` is set: then they fail, so
that CI can never silently skip them.

SQL stores are cheap to make fresh: SQLite copies a template file migrated once per session,
PostgreSQL copies a template database migrated once per session.

The plugin marks the shipped contract tests for pytest-asyncio itself, so they run whatever
``asyncio_mode`` the project uses; your own ``async def`` tests need ``asyncio_mode = "auto"``
or ``@pytest.mark.asyncio``.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn, Protocol

import pytest
import pytest_asyncio

from bookshop_adapters.backend import Backend
from bookshop_adapters.bootstrap import Shop, build_shop, open_backend
from bookshop_adapters.images import MemoryImageStore
from bookshop_adapters.testing.identity import fast_password_hasher, fixed_token_codec
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
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal, Role

# The shared contract suite asserts with plain ``assert``; let pytest explain its failures.
pytest.register_assert_rewrite("bookshop_adapters.testing.contract")

__all__ = [
    "BACKENDS",
    "BackendFactory",
    "MakeShop",
    "ShopFactory",
    "admin",
    "backend_name",
    "backend_url",
    "bookshop_backend",
    "bookshop_backend_factory",
    "clock",
    "customer",
    "make_shop",
    "postgres_databases",
    "postgres_url",
    "shop",
    "shop_factory",
    "sqlite_template",
]

#: The shipped backends, in order; also the test ids.
BACKENDS = ("memory", "sqlite", "postgres")

BackendFactory = Callable[[], AbstractAsyncContextManager[Backend]]
"""Opens a backend on a fresh, empty, migrated store; exiting closes it and deletes the store."""

_CONTRACT_MODULES = "bookshop_adapters.testing.contract"
_POSTGRES_LINE = pytest.StashKey[str]()
_WORKER_POSTGRES_LINES = pytest.StashKey[list[str]]()


class MakeShop(Protocol):
    """The ``make_shop`` fixture: another shop on this test's store."""

    def __call__(self, **overrides: Any) -> AbstractAsyncContextManager[Shop]:
        """``build_shop(backend=bookshop_backend, ...)`` with the test defaults.

        Args:
            overrides: Any keyword of :func:`~bookshop_adapters.build_shop`; the defaults are
                the ``clock`` fixture, the fast test hasher, the test JWT codec and an
                in-memory image store.
        """
        ...


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


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bookshop", "bookshop contract suite")
    group.addoption(
        "--bookshop-backends",
        default=None,
        metavar="NAMES",
        help="comma-separated shipped backends to run on (default: memory,sqlite,postgres)",
    )
    parser.addini(
        "bookshop_backends",
        "comma-separated shipped backends to run on (default: memory,sqlite,postgres)",
        default=",".join(BACKENDS),
    )


def selected_backends(config: pytest.Config) -> list[str]:
    """The shipped backends chosen by ``--bookshop-backends`` or the ini option."""
    raw = config.getoption("--bookshop-backends") or config.getini("bookshop_backends")
    names = [name.strip() for name in str(raw).split(",") if name.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown or not names:
        raise pytest.UsageError(
            f"--bookshop-backends: unknown {unknown or names}; choose from {', '.join(BACKENDS)}"
        )
    return names


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: needs a PostgreSQL server (started by the harness when none is given)"
    )
    config.addinivalue_line(
        "markers",
        "bookshop_backends(*names): run only on these shipped backends (of those selected)",
    )
    selected_backends(config)  # refuse a bad option before collecting anything


def _backend_param(name: str) -> Any:
    return pytest.param(name, id=name, marks=[pytest.mark.postgres] if name == "postgres" else [])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One run per chosen shipped backend. A test that does not reach ``backend_name`` (a
    # third party's own ``bookshop_backend_factory``) runs once.
    if "backend_name" not in metafunc.fixturenames:
        return
    names = selected_backends(metafunc.config)
    if (only := metafunc.definition.get_closest_marker("bookshop_backends")) is not None:
        names = [name for name in names if name in only.args]
    metafunc.parametrize("backend_name", [_backend_param(n) for n in names], indirect=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Collector, name: str, obj: object
) -> Generator[None, Any, Any]:
    # The shipped contract tests run under pytest-asyncio's strict mode too: mark them here,
    # before pytest-asyncio decides what an ``async def`` test is.
    if (
        inspect.iscoroutinefunction(obj)
        and getattr(obj, "__module__", "").startswith(_CONTRACT_MODULES)
        and not any(m.name == "asyncio" for m in getattr(obj, "pytestmark", []))
    ):
        pytest.mark.asyncio(obj)
    return (yield)


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


class StoreUrls:
    """Makes fresh, migrated, empty stores of one shipped backend, by URL.

    Args:
        backend: The backend's name (``memory``, ``sqlite`` or ``postgres``).
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
        """Delete the store at ``url`` (close every backend on it first)."""
        self._live.discard(url)
        if self._discard is not None:
            await self._discard(url)

    @asynccontextmanager
    async def open_backend(self) -> AsyncIterator[Backend]:
        """A backend on a fresh store; closed, and the store deleted, on exit."""
        url = await self.new_url()
        try:
            backend = await open_backend(url)
            try:
                yield backend
            finally:
                await backend.aclose()
        finally:
            await self.discard(url)

    def close(self) -> None:
        """Delete every store still alive."""
        for url in sorted(self._live):
            if self._discard_blocking is not None:
                self._discard_blocking(url)
        self._live.clear()


def _memory_stores() -> StoreUrls:
    async def new_url() -> str:
        return "memory://"

    return StoreUrls("memory", new_url)


def _sqlite_stores(template: Path, directory: Path) -> StoreUrls:
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

    return StoreUrls("sqlite", new_url, discard, discard_blocking)


def _postgres_stores(databases: TestDatabases) -> StoreUrls:
    return StoreUrls("postgres", databases.acquire, databases.release, databases.release_blocking)


@pytest.fixture
def backend_name(request: pytest.FixtureRequest) -> str:
    """Which shipped backend this test runs on (parametrized by the plugin)."""
    name: str = getattr(request, "param", BACKENDS[0])
    return name


@pytest.fixture
def bookshop_store_urls(
    backend_name: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StoreUrls]:
    """Fresh stores of this test's shipped backend, by URL; leftovers deleted afterwards."""
    if backend_name == "memory":
        stores = _memory_stores()
    elif backend_name == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        stores = _sqlite_stores(template, tmp_path_factory.mktemp("sqlite"))
    elif backend_name == "postgres":
        stores = _postgres_stores(request.getfixturevalue("postgres_databases"))
    else:
        raise pytest.UsageError(f"unknown backend {backend_name!r}; choose from {BACKENDS}")
    try:
        yield stores
    finally:
        stores.close()


@pytest.fixture
def bookshop_backend_factory(bookshop_store_urls: StoreUrls) -> BackendFactory:
    """THE hook: opens a backend on a fresh, empty store (override it to test your own)."""
    return bookshop_store_urls.open_backend


@pytest_asyncio.fixture
async def backend_url(bookshop_store_urls: StoreUrls) -> AsyncIterator[str]:
    """The URL of a fresh, migrated, empty store of this test's shipped backend."""
    url = await bookshop_store_urls.new_url()
    yield url
    await bookshop_store_urls.discard(url)


# -- shops --------------------------------------------------------------------------------


def _test_defaults(overrides: dict[str, Any], clock: ManualClock | None) -> dict[str, Any]:
    """The test shop's ports: fast hashing, the test JWT secret, images in memory."""
    defaults: dict[str, Any] = {
        "clock": clock or ManualClock(),
        "password_hasher": fast_password_hasher(),
        "token_codec": fixed_token_codec(),
        "image_store": MemoryImageStore(),
    }
    return {**defaults, **overrides}


class ShopFactory:
    """Opens shops on fresh, empty stores, each from the backend factory.

    Args:
        backends: The ``bookshop_backend_factory`` fixture's value.
    """

    def __init__(self, backends: BackendFactory) -> None:
        self.backends = backends

    @asynccontextmanager
    async def open(self, **overrides: Any) -> AsyncIterator[Shop]:
        """A shop on a fresh store (any :func:`~bookshop_adapters.build_shop` keyword, with the
        test defaults of ``make_shop``), closed and its store deleted on exit."""
        async with (
            self.backends() as backend,
            build_shop(backend=backend, **_test_defaults(overrides, None)) as shop,
        ):
            yield shop


@pytest_asyncio.fixture
async def bookshop_backend(bookshop_backend_factory: BackendFactory) -> AsyncIterator[Backend]:
    """A backend on a fresh, empty store, for this test."""
    async with bookshop_backend_factory() as backend:
        yield backend


@pytest.fixture
def make_shop(bookshop_backend: Backend, clock: ManualClock) -> MakeShop:
    """Builds shops on this test's store: ``async with make_shop(settings=...) as shop``."""

    def make(**overrides: Any) -> AbstractAsyncContextManager[Shop]:
        return build_shop(backend=bookshop_backend, **_test_defaults(overrides, clock))

    return make


@pytest_asyncio.fixture
async def shop(make_shop: MakeShop) -> AsyncIterator[Shop]:
    """A shop on a fresh, empty store, with the ``clock`` fixture as its clock."""
    async with make_shop() as opened:
        yield opened


@pytest.fixture
def shop_factory(bookshop_backend_factory: BackendFactory) -> ShopFactory:
    """Opens shops on more fresh stores of this test's backend."""
    return ShopFactory(bookshop_backend_factory)
