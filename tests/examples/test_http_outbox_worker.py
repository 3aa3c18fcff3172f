"""The HTTP app runs the outbox worker in its lifespan when the shop can send mail, and the
frontends' settings configure that mail (``BOOKSHOP_SMTP_*``, links on the public URL).

What a worker does is the outbox contract's; here: it is started with the app, sends what a
commit queues, and is stopped on shutdown; without a mailer nothing starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.mail import MemoryMailer, SmtpSecurity
from bookshop_adapters.testing.contract.outbox import queue_messages, template_renderer
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core import ManualClock
from bookshop_core.kernel.principal import Principal
from bookshop_core.notifications import ListOutbox, OutboxStatus, OutboxWorker
from bookshop_examples.http.app import create_app
from bookshop_examples.settings import AppSettings
from tests.mail.smtp_server import SmtpTestServer

# The lifespan does not depend on the store.
pytestmark = pytest.mark.bookshop_backends("memory")

SMTP_ENV = {
    "BOOKSHOP_SMTP_HOST": "127.0.0.1",
    "BOOKSHOP_SMTP_PORT": "2525",
    "BOOKSHOP_SMTP_SECURITY": "none",
    "BOOKSHOP_SMTP_SENDER": "Bookshop <shop@books.example>",
    "BOOKSHOP_PUBLIC_URL": "https://books.example",
}


async def until(condition: Callable[[], bool], *, turns: int = 2000) -> None:
    """Let the event loop run until ``condition()`` holds (bounded by turns, not time)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the worker did not get there")


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
async def mailing_shop(make_shop: MakeShop, mailer: MemoryMailer) -> AsyncIterator[Shop]:
    """A shop that sends through ``mailer`` with the shipped templates."""
    pytest.importorskip("jinja2")
    async with make_shop(mailer=mailer, renderer=template_renderer()) as opened:
        yield opened


async def test_the_app_runs_the_worker_and_stops_it_on_shutdown(
    mailing_shop: Shop, mailer: MemoryMailer, clock: ManualClock
) -> None:
    """With a mailer, startup starts a worker that sends what a commit queues; shutdown
    stops it."""
    app = create_app(shop=mailing_shop)
    async with app.router.lifespan_context(app):
        worker: OutboxWorker = app.state.outbox_worker
        assert worker.running
        [message_id] = await queue_messages(mailing_shop, clock, 1)
        await until(lambda: len(mailer.sent) == 1)
    assert not worker.running
    assert app.state.outbox_worker is None
    assert [m.message_id for m in mailer.sent] == [message_id]


async def test_without_a_mailer_nothing_starts_and_mail_waits(
    shop: Shop, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A shop without a mailer: no worker, one log line saying why, queued mail stays
    pending."""
    app = create_app(shop=shop)
    with caplog.at_level(logging.INFO, logger="bookshop.http"):
        async with app.router.lifespan_context(app):
            assert app.state.outbox_worker is None
            await queue_messages(shop, clock, 1)
    assert len([r for r in caplog.records if "no mail server" in r.message]) == 1
    page = await shop.outbox.list_messages(Principal.system(), ListOutbox())
    assert [m.status for m in page.items] == [OutboxStatus.PENDING]


async def test_the_worker_can_be_left_to_other_processes(mailing_shop: Shop) -> None:
    """create_app(outbox_worker=False) starts no worker even with a mailer."""
    app = create_app(shop=mailing_shop, outbox_worker=False)
    async with app.router.lifespan_context(app):
        assert app.state.outbox_worker is None


async def test_an_app_configured_with_smtp_delivers_through_it() -> None:
    """create_app with SMTP settings builds its shop with an SMTP mailer and the templates on
    the public URL: a queued back-in-stock email reaches the server, linking to the shop."""
    pytest.importorskip("aiosmtplib")
    with SmtpTestServer() as server:
        settings = AppSettings(
            database_url="memory://", smtp=server.settings(), public_url="https://books.example"
        )
        app: FastAPI = create_app(settings=settings)
        async with app.router.lifespan_context(app):
            shop: Shop = app.state.shop
            await queue_messages(shop, ManualClock(shop.clock.now()), 1)
            await until(lambda: len(server.received) == 1)
        [received] = server.received
    assert received.rcpt_tos == ("reader0@example.com",)
    html = received.message.get_body(("html",))
    assert html is not None
    assert "https://books.example/books/1" in html.get_content()


def test_smtp_settings_come_from_the_environment() -> None:
    """BOOKSHOP_SMTP_* give the mail server; the email templates link to the public URL and
    use the mail zone and shop name."""
    env = {**SMTP_ENV, "BOOKSHOP_MAIL_TIME_ZONE": "Europe/Paris", "BOOKSHOP_MAIL_SHOP_NAME": "B"}
    settings = AppSettings.from_env(env)
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.effective_port) == ("127.0.0.1", 2525)
    assert settings.smtp.security is SmtpSecurity.NONE
    templates = settings.shop_settings().mail_templates
    assert templates is not None
    assert (templates.base_url, templates.time_zone, templates.shop_name) == (
        "https://books.example",
        "Europe/Paris",
        "B",
    )


def test_without_smtp_there_is_no_mailer() -> None:
    """No BOOKSHOP_SMTP_HOST: no mailer and no templates (the mail extra is not needed)."""
    settings = AppSettings.from_env({})
    assert (settings.smtp, settings.mailer(), settings.shop_settings().mail_templates) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"BOOKSHOP_PUBLIC_URL": ""}, "BOOKSHOP_PUBLIC_URL"),
        ({"BOOKSHOP_SMTP_SENDER": ""}, "BOOKSHOP_SMTP_SENDER"),
        ({"BOOKSHOP_MAIL_TIME_ZONE": "Mars/Olympus"}, "time zone"),
    ],
)
def test_a_half_configured_mail_server_is_refused(change: dict[str, str], message: str) -> None:
    """SMTP without a public URL or a sender, or an unknown mail zone: a ValueError naming
    what is wrong, at startup rather than at the first email."""
    with pytest.raises(ValueError, match=message):
        AppSettings.from_env({**SMTP_ENV, **change})
