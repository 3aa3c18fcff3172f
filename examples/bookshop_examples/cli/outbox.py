"""``bookshop outbox``: send queued emails (one pass, or a worker) and inspect or retry them.

The mail server comes from the ``BOOKSHOP_SMTP_*`` variables (see
:mod:`bookshop_examples.settings`); ``list`` and ``retry`` need none. Examples::

    bookshop outbox dispatch            # one pass: send what is due, print the counts
    bookshop outbox worker              # send as messages come due, until Ctrl-C / SIGTERM
    bookshop outbox list --status dead
    bookshop outbox retry 42
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import click

from bookshop_adapters.bootstrap import Shop
from bookshop_core.convert import unstructure
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, Page
from bookshop_core.kernel.principal import Principal
from bookshop_core.notifications import (
    DispatchReport,
    ListOutbox,
    OutboxMessage,
    OutboxStatus,
)
from bookshop_examples.cli._support import CliState, echo_json, json_option

__all__ = ["outbox"]

#: Why dispatching is refused without a mail server, and what to set.
_NO_MAILER = (
    "no mail server configured: set BOOKSHOP_SMTP_HOST and BOOKSHOP_SMTP_SENDER "
    "(and BOOKSHOP_PUBLIC_URL, for links in emails)"
)


def _require_mailer(shop: Shop) -> None:
    if not shop.dispatcher.configured:
        raise click.ClickException(_NO_MAILER)


def _report_line(report: DispatchReport) -> str:
    return (
        f"Claimed {report.claimed}: sent {report.sent}, retrying {report.retrying}, "
        f"dead {report.dead}, released {report.released}."
    )


@click.group()
def outbox() -> None:
    """Send queued emails, and inspect or retry them.

    Emails are written to the outbox by the change that causes them and sent afterwards by
    a dispatcher: `dispatch` runs one pass, `worker` keeps running (the HTTP app runs one
    too when a mail server is configured). Several dispatchers at once never send one email
    twice.
    """


@outbox.command()
@click.option("--limit", type=click.IntRange(1, 1000), help="At most this many messages.")
@click.pass_obj
def dispatch(state: CliState, limit: int | None) -> None:
    """Send the emails that are due now, once, and print what happened.

    Failed sends are retried later with backoff; past the last attempt a message is dead
    (see `outbox list --status dead`, `outbox retry`).
    """

    async def run(shop: Shop) -> DispatchReport:
        _require_mailer(shop)
        return await shop.dispatcher.dispatch_pending(limit)

    click.echo(_report_line(state.run(run)))


@outbox.command()
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds between looks for due messages (default 5).",
)
@click.pass_obj
def worker(state: CliState, poll_interval: float | None) -> None:
    """Send emails as they come due, until interrupted (Ctrl-C or SIGTERM).

    On a signal, the pass under way finishes (what it sent is recorded) and the worker
    exits with status 0.
    """

    async def run(shop: Shop) -> int:
        _require_mailer(shop)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        running = shop.dispatcher.worker(poll_interval=poll_interval)
        async with running:
            click.echo(
                f"Outbox worker running (polling every {running.poll_interval:g} s); "
                "Ctrl-C to stop.",
            )
            await stop.wait()
        return running.passes

    passes = state.run(run)
    click.echo(f"Outbox worker stopped after {passes} {'pass' if passes == 1 else 'passes'}.")


def _echo_messages(page: Page[OutboxMessage]) -> None:
    if page.items:
        click.echo(f"{'ID':>6}  {'STATUS':<8} {'TRIES':>5}  {'CREATED':<25} KIND / TO / ERROR")
    for message in page.items:
        created = message.created_at.isoformat(timespec="seconds")
        line = (
            f"{message.id:>6}  {message.status.value:<8} {message.attempts:>5}  {created:<25} "
            f"{message.kind} / {', '.join(message.recipients)}"
        )
        if message.last_error:
            line += f" / {message.last_error}"
        click.echo(line)
    noun = "message" if page.total == 1 else "messages"
    click.echo(f"page {page.page} of {max(page.total_pages, 1)}, {page.total} {noun}")


@outbox.command("list")
@click.option("--status", type=click.Choice([s.value for s in OutboxStatus]))
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--per-page", type=click.IntRange(1, 100), default=DEFAULT_PAGE_SIZE, show_default=True
)
@json_option
@click.pass_obj
def list_messages(
    state: CliState, status: str | None, page: int, per_page: int, as_json: bool
) -> None:
    """List outbox messages, newest first (all statuses unless --status)."""
    query = ListOutbox(status=status, page=page, per_page=per_page)
    found = state.run(lambda shop: shop.outbox.list_messages(Principal.system(), query))
    if as_json:
        echo_json(_page_json(found))
    else:
        _echo_messages(found)


def _page_json(page: Page[OutboxMessage]) -> dict[str, Any]:
    return {
        "items": [unstructure(message) for message in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.size,
        "total_pages": page.total_pages,
    }


@outbox.command()
@click.argument("message_id", type=int)
@click.pass_obj
def retry(state: CliState, message_id: int) -> None:
    """Give the dead message MESSAGE_ID a fresh set of attempts (it is sent by the next
    dispatch)."""
    revived = state.run(lambda shop: shop.outbox.retry(Principal.system(), message_id))
    click.echo(f"Outbox message {revived.id} is pending again ({revived.kind}).")
