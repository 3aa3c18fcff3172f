"""Checkout never oversells when the HTTP app runs as several processes on one store.

The way a deployment outgrows one process: four ``bookshop serve`` processes sharing one
PostgreSQL database, or two sharing one SQLite file, each with its own connection pool and
nothing in common but the store (and the JWT secret, from ``BOOKSHOP_JWT_SECRET``, so that a
token issued by one is accepted by all). 64 buyers of one copy each, against a stock of 10,
send their checkouts at once, spread over the processes.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import ADMIN, add_book
from bookshop_adapters.testing.identity import open_test_shop
from bookshop_adapters.testing.tokens import TEST_JWT_SECRET
from bookshop_core.commerce.commands import AddToCart, ListOrders
from bookshop_core.identity.commands import Register

pytestmark = pytest.mark.bookshop_backends("sqlite", "postgres")

ROOT = Path(__file__).resolve().parents[2]

#: Server processes per backend: PostgreSQL scales out; SQLite has one writer at a time.
PROCESSES = {"sqlite": 2, "postgres": 4}
BUYERS = 64
STOCK = 10
#: Guards against a hanging test only (a process that never starts, a request never answered).
HANG_GUARD = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BOOKSHOP_DATABASE_URL": url,
        "BOOKSHOP_JWT_SECRET": TEST_JWT_SECRET.decode(),
    }
    env.pop("BOOKSHOP_SMTP_HOST", None)  # no mail: queued confirmations just wait
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bookshop_examples.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_until_up(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while True:
        try:
            httpx.get(f"{base_url}/health", timeout=2)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve did not start:\n{log.read_text()}")
            time.sleep(0.1)


@pytest.fixture
def servers(backend_name: str, backend_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """The base URLs of the backend's server processes, all on ``backend_url``."""
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for n in range(PROCESSES[backend_name]):
            port, log = _free_port(), tmp_path / f"serve-{n}.log"
            started.append((_start(backend_url, port, log), f"http://127.0.0.1:{port}", log))
        for process, base_url, log in started:
            _wait_until_up(process, base_url, log)
        yield [base_url for _, base_url, _ in started]
    finally:
        for process, _, _ in started:
            process.terminate()
        for process, _, _ in started:
            process.wait(timeout=30)


@pytest.fixture
async def seller(backend_url: str) -> AsyncIterator[Shop]:
    """A shop in the test process on the same store (set-up and the final count), signing
    tokens with the secret the servers share."""
    async with open_test_shop(backend_url) as shop:
        yield shop


async def _buyers_with_the_book_in_their_cart(shop: Shop, book_id: int) -> list[str]:
    """Register the buyers, put one copy in each cart; their access tokens."""
    tokens = []
    for n in range(BUYERS):
        pair = await shop.identity.register(
            Register(email=f"buyer{n}@example.com", password="correct horse battery staple")
        )
        principal = await shop.identity.authenticate(pair.access_token)
        await shop.cart.add(principal, AddToCart(book_id=book_id))
        tokens.append(pair.access_token)
    return tokens


async def test_64_checkouts_over_several_processes_sell_exactly_the_stock(
    servers: list[str], seller: Shop
) -> None:
    """64 checkouts at once, round-robin over the processes, against a stock of 10: exactly
    10 are 201 (confirmed, distinct orders), 54 are 409 ORDER_INSUFFICIENT_STOCK, the stock
    ends at 0, and the store holds exactly those 10 orders."""
    book = await add_book(seller, stock=STOCK)
    tokens = await _buyers_with_the_book_in_their_cart(seller, book.id)
    async with httpx.AsyncClient(timeout=HANG_GUARD) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{servers[n % len(servers)]}/orders/checkout",
                    json={},
                    headers={"Authorization": f"Bearer {token}"},
                )
                for n, token in enumerate(tokens)
            )
        )
        stock_seen = [
            (await client.get(f"{base_url}/books/{book.id}")).json()["stock_quantity"]
            for base_url in servers
        ]
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: STOCK, 409: BUYERS - STOCK}, [r.text for r in responses]
    refused = {r.json()["code"] for r in responses if r.status_code == 409}
    assert refused == {"ORDER_INSUFFICIENT_STOCK"}
    made = [r.json() for r in responses if r.status_code == 201]
    assert {order["status"] for order in made} == {"confirmed"}
    assert stock_seen == [0] * len(servers)
    assert (await seller.catalog.get_book(book.id)).stock_quantity == 0
    stored = await seller.orders.list_all(ADMIN, ListOrders(size=BUYERS))
    assert sorted(order.id for order in stored.items) == sorted(order["id"] for order in made)
