"""A store that stops answering fails requests with STORE_UNAVAILABLE instead of hanging them,
and the shop recovers by itself once the store answers again.

PostgreSQL is reached through :class:`FreezableProxy`, a TCP proxy on loopback that can stop
forwarding bytes without closing anything: to the client, a network black hole. Each test
configures short bounds (:class:`StoreTimeouts`) and asserts the error, not a duration.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import URL, make_url

from bookshop_adapters.bootstrap import Shop, ShopSettings, build_shop
from bookshop_adapters.sqlalchemy import StoreTimeouts, migrate
from bookshop_core.catalog.commands import CreateGenre
from bookshop_core.errors import StoreUnavailable
from bookshop_core.kernel.principal import Principal, Role
from tests.adapters.conftest import _postgres_server, fresh_postgres_database

pytestmark = pytest.mark.postgres

ADMIN = Principal(user_id=1, role=Role.ADMIN)
#: Short bounds, so that a frozen store fails fast in a test.
SHORT = StoreTimeouts(connect=1.0, statement=0.5, network_grace=0.5, pool=2.0, ping=2.0)


class FreezableProxy:
    """Forwards TCP connections from a loopback port to PostgreSQL; ``freeze()`` stops
    forwarding bytes (in both directions, and for new connections) without closing anything,
    ``thaw()`` resumes.

    Args:
        upstream: The server's URL (TCP, or a unix socket directory in ``?host=``).
    """

    def __init__(self, upstream: URL) -> None:
        self._upstream = upstream
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await self._flowing.wait()  # a new connection gets no answer while frozen
            server_in, server_out = await self._connect_upstream()
            try:
                await asyncio.gather(
                    self._pump(client_in, server_out), self._pump(server_in, client_out)
                )
            finally:
                server_out.close()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            client_out.close()
            self._tasks.discard(task)  # type: ignore[arg-type]

    async def _connect_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        port = int(self._upstream.query.get("port") or self._upstream.port or 5432)
        socket_dir = self._upstream.query.get("host")
        if isinstance(socket_dir, str) and socket_dir.startswith("/"):
            return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}")
        return await asyncio.open_connection(self._upstream.host or "127.0.0.1", port)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(65536):
            await self._flowing.wait()  # held, not dropped, while frozen
            sink.write(data)
            await sink.drain()
        with contextlib.suppress(OSError):
            sink.write_eof()


@pytest.fixture
async def proxied_url(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, FreezableProxy]]:
    """A fresh migrated PostgreSQL database, and its URL through a freezable proxy."""
    async with fresh_postgres_database(_postgres_server(request)) as url:
        await migrate(url)
        parsed = make_url(url)
        proxy = FreezableProxy(parsed)
        await proxy.start()
        try:
            through = parsed.difference_update_query(["host", "port"]).set(
                host="127.0.0.1", port=proxy.port
            )
            yield through.render_as_string(hide_password=False), proxy
        finally:
            proxy.thaw()
            await proxy.aclose()


@pytest.fixture
async def frozen_shop(
    proxied_url: tuple[str, FreezableProxy],
) -> AsyncIterator[tuple[Shop, FreezableProxy]]:
    """A shop on the proxied database, with the short bounds given to the composition root."""
    url, proxy = proxied_url
    async with build_shop(url, settings=ShopSettings(store_timeouts=SHORT)) as shop:
        yield shop, proxy


async def read(shop: Shop) -> int:
    return (await shop.catalog.list_books()).total


async def write(shop: Shop, name: str) -> None:
    await shop.catalog.create_genre(ADMIN, CreateGenre(name=name))


async def test_a_frozen_store_fails_reads_and_writes_with_store_unavailable(
    frozen_shop: tuple[Shop, FreezableProxy],
) -> None:
    """With the network to PostgreSQL black-holed, a read and a write through the shop fail
    with STORE_UNAVAILABLE (statement and connect bounds) instead of hanging."""
    shop, proxy = frozen_shop
    await write(shop, "Before")
    proxy.freeze()
    with pytest.raises(StoreUnavailable):
        await read(shop)
    with pytest.raises(StoreUnavailable):
        await write(shop, "During")
    assert await shop.ping() is False


async def test_the_shop_recovers_once_the_store_answers_again(
    frozen_shop: tuple[Shop, FreezableProxy],
) -> None:
    """After the black hole ends, the same shop reads and writes again, without a restart."""
    shop, proxy = frozen_shop
    await write(shop, "Before")
    proxy.freeze()
    for attempt in (read(shop), write(shop, "During")):
        with pytest.raises(StoreUnavailable):
            await attempt
    proxy.thaw()
    await write(shop, "After")
    assert await read(shop) == 0
    assert [g.name for g in await shop.catalog.list_genres()] == ["After", "Before"]
    assert await shop.ping() is True
