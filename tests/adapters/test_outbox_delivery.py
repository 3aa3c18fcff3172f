"""The outbox delivering real mail: the SMTP mailer to an aiosmtpd server on loopback, counted
where it arrives. On every backend in process; on SQLite and PostgreSQL also with dispatchers
in two processes, one of them killed while holding a claim."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from bookshop_adapters.bootstrap import Shop, ShopSettings, build_shop
from bookshop_adapters.mail import SmtpMailer
from bookshop_adapters.testing.contract.outbox import (
    OUTBOX_SETTINGS,
    queue_messages,
    template_renderer,
)
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal
from bookshop_core.kernel.uow import Transactions
from bookshop_core.notifications import NewOutboxMessage, OutboxStatus, queue_email
from tests.mail.smtp_server import SmtpTestServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A plain SMTP server on a free loopback port, not started (down) until a test starts it."""
    server = SmtpTestServer()
    try:
        yield server
    finally:
        server.stop()


def _arrived(server: SmtpTestServer) -> Counter[str]:
    """Message ids (the part of ``<id@domain>`` before the ``@``) as they arrived."""
    return Counter(r.message_id.strip("<>").split("@")[0] for r in server.received)


def _shop(make_shop: MakeShop, server: SmtpTestServer) -> AbstractAsyncContextManager[Shop]:
    """A shop on the test's store that sends to ``server``."""
    return make_shop(
        settings=ShopSettings(outbox=OUTBOX_SETTINGS),
        mailer=SmtpMailer(server.settings()),
        renderer=template_renderer(),
    )


async def test_a_rolled_back_change_sends_nothing_to_the_server(
    make_shop: MakeShop, smtp_server: SmtpTestServer, clock: ManualClock
) -> None:
    """The message queued by a failed use case never reaches the SMTP server."""
    smtp_server.start()
    async with _shop(make_shop, smtp_server) as shop:
        with pytest.raises(RuntimeError):
            await _queue_then_fail(shop, clock)
        await queue_messages(shop, clock, 1)
        assert (await shop.dispatcher.dispatch_pending()).sent == 1
    assert len(smtp_server.received) == 1


async def _queue_then_fail(shop: Shop, clock: ManualClock) -> None:
    async with Transactions(shop.unit_of_work, shop.events).write() as tx:
        message = NewOutboxMessage("back_in_stock", "x@example.com", {"book_id": 1}, clock.now())
        await queue_email(tx, message)
        raise RuntimeError("the use case fails after queueing")


async def test_server_down_for_the_first_attempts_every_message_arrives_once(
    make_shop: MakeShop, smtp_server: SmtpTestServer, clock: ManualClock
) -> None:
    """Down for two passes, then back: each message arrives exactly once, as multipart
    mail with its stable Message-ID."""
    async with _shop(make_shop, smtp_server) as shop:
        message_ids = await queue_messages(shop, clock, 5)
        for _ in range(2):
            report = await shop.dispatcher.dispatch_pending()
            assert (report.claimed, report.retrying) == (5, 5)
            clock.advance(OUTBOX_SETTINGS.max_delay)
        smtp_server.start()
        assert (await shop.dispatcher.dispatch_pending()).sent == 5
        clock.advance(OUTBOX_SETTINGS.max_delay)
        assert (await shop.dispatcher.dispatch_pending()).claimed == 0
        page = await shop.outbox.list_messages(Principal.system())
    assert _arrived(smtp_server) == Counter(message_ids)
    assert {m.status for m in page.items} == {OutboxStatus.SENT}
    assert {m.attempts for m in page.items} == {3}
    first = smtp_server.received[0].message
    assert first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]


# -- several processes ----------------------------------------------------------------------


def _dispatcher_process(url: str, port: int, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.adapters.outbox_process", url, str(port), mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finished(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


async def _queue_in_own_shop(url: str, count: int) -> list[str]:
    async with build_shop(url, clock=ManualClock()) as shop:
        return await queue_messages(shop, ManualClock(), count)


@pytest.mark.bookshop_backends("sqlite", "postgres")
async def test_two_dispatcher_processes_deliver_each_of_200_messages_exactly_once(
    backend_url: str, smtp_server: SmtpTestServer
) -> None:
    """Two processes draining one store concurrently: 200 arrivals, each message once."""
    smtp_server.start()
    message_ids = await _queue_in_own_shop(backend_url, 200)
    processes = [_dispatcher_process(backend_url, smtp_server.port, "drain") for _ in range(2)]
    outputs = await asyncio.to_thread(lambda: [_finished(p) for p in processes])
    assert all("done" in out for out in outputs)
    assert _arrived(smtp_server) == Counter(message_ids)


@pytest.mark.bookshop_backends("sqlite", "postgres")
async def test_a_dispatcher_killed_holding_a_claim_loses_it_to_the_other(
    backend_url: str, smtp_server: SmtpTestServer
) -> None:
    """Killed after claiming 50 of 80: once its lease expires, the other process delivers
    them; every message arrives exactly once."""
    smtp_server.start()
    message_ids = await _queue_in_own_shop(backend_url, 80)
    hanging = _dispatcher_process(backend_url, smtp_server.port, "hang")
    assert hanging.stdout is not None
    line = await asyncio.to_thread(hanging.stdout.readline)
    assert line.strip() == "claimed 50", hanging.stderr.read() if hanging.stderr else line
    hanging.send_signal(signal.SIGKILL)
    hanging.wait()
    survivor = _dispatcher_process(backend_url, smtp_server.port, "drain")
    assert "done" in await asyncio.to_thread(_finished, survivor)
    assert _arrived(smtp_server) == Counter(message_ids)
