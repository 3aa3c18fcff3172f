"""``bookshop outbox dispatch|worker|list|retry``, run as a real process on a SQLite file, with
mail going to a real SMTP server on loopback (aiosmtpd) configured by ``BOOKSHOP_SMTP_*``.

What a dispatch pass does is the outbox contract's; here: the commands reach the dispatcher
and the outbox admin, print what happened, and the worker stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from bookshop_adapters.bootstrap import build_shop
from bookshop_adapters.testing.contract.outbox import queue_messages
from bookshop_core import ManualClock
from tests.examples.test_cli_commands import ROOT, Result, migrated_db, sqlite_url
from tests.examples.test_http_admin_outbox import add_dead_message
from tests.mail.smtp_server import SmtpTestServer, free_port

__all__ = ["migrated_db"]  # the migrated template database, shared

pytest.importorskip("aiosmtplib")
pytest.importorskip("jinja2")


@attrs.frozen
class OutboxCli:
    """The CLI on one database with extra environment (the mail server)."""

    database_url: str
    env: dict[str, str] = attrs.field(factory=dict)

    def environ(self) -> dict[str, str]:
        return {**os.environ, "BOOKSHOP_DATABASE_URL": self.database_url, **self.env}

    def __call__(self, *args: str) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "bookshop_examples.cli", "outbox", *args],
            cwd=ROOT,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, result
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)


def smtp_env(port: int) -> dict[str, str]:
    return {
        "BOOKSHOP_SMTP_HOST": "127.0.0.1",
        "BOOKSHOP_SMTP_PORT": str(port),
        "BOOKSHOP_SMTP_SECURITY": "none",
        "BOOKSHOP_SMTP_SENDER": "Bookshop <shop@books.example>",
        "BOOKSHOP_SMTP_TIMEOUT": "10",
        "BOOKSHOP_PUBLIC_URL": "https://books.example",
    }


@pytest.fixture
def database_url(migrated_db: Path, tmp_path: Path) -> str:
    """A fresh copy of the migrated, empty database."""
    path = tmp_path / "shop.db"
    shutil.copyfile(migrated_db, path)
    return sqlite_url(path)


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


def queue(database_url: str, count: int, *, dead: int = 0) -> None:
    """Queue ``count`` due back-in-stock emails (and ``dead`` dead ones first), as a use case
    would, in the database."""

    async def run() -> None:
        clock = ManualClock(datetime.now(UTC))
        async with build_shop(database_url) as shop:
            for _ in range(dead):
                await add_dead_message(shop, clock)
            if count:
                await queue_messages(shop, clock, count)

    asyncio.run(run())


def test_dispatch_sends_what_is_due_and_prints_the_counts(
    database_url: str, smtp_server: SmtpTestServer
) -> None:
    """dispatch: one pass through the BOOKSHOP_SMTP_* server; every email arrives once."""
    queue(database_url, 2)
    cli = OutboxCli(database_url, smtp_env(smtp_server.port))
    out = cli.ok("dispatch").stdout
    assert out == "Claimed 2: sent 2, retrying 0, dead 0, released 0.\n"
    assert sorted(r.rcpt_tos for r in smtp_server.received) == [
        ("reader0@example.com",),
        ("reader1@example.com",),
    ]
    assert cli.ok("dispatch").stdout == "Claimed 0: sent 0, retrying 0, dead 0, released 0.\n"


def test_dispatch_with_the_server_down_keeps_the_mail_for_later(database_url: str) -> None:
    """An unreachable server: the pass reports a retry, and the message is pending again."""
    queue(database_url, 1)
    cli = OutboxCli(database_url, smtp_env(free_port()))
    assert cli.ok("dispatch").stdout == "Claimed 1: sent 0, retrying 1, dead 0, released 0.\n"
    [message] = cli.json("list")["items"]
    assert (message["status"], message["attempts"]) == ("pending", 1)
    assert message["last_error"].startswith("MailUnavailable")


@pytest.mark.parametrize("command", ["dispatch", "worker"])
def test_sending_without_a_mail_server_is_one_error_line(database_url: str, command: str) -> None:
    """No BOOKSHOP_SMTP_HOST: exit 1 with one line saying what to set."""
    env = dict.fromkeys(smtp_env(0), "")
    result = OutboxCli(database_url, env)(command)
    assert result.code == 1
    assert result.stderr.startswith("Error: no mail server configured: set BOOKSHOP_SMTP_HOST")
    assert len(result.stderr.splitlines()) == 1


def test_list_prints_messages_newest_first_and_filters(database_url: str) -> None:
    """list: a table of id, status, attempts, creation, kind / recipients / error; --status
    filters; --json prints the page."""
    queue(database_url, 1, dead=1)
    cli = OutboxCli(database_url)
    lines = cli.ok("list").stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "TRIES", "CREATED", "KIND", "/", "TO", "/", "ERROR"]
    assert [line.split()[:3] for line in lines[1:3]] == [["2", "pending", "0"], ["1", "dead", "1"]]
    assert lines[2].endswith("back_in_stock / reader0@example.com / MailRejected: 550")
    assert lines[-1] == "page 1 of 1, 2 messages"
    page = cli.json("list", "--status", "dead")
    assert ([m["id"] for m in page["items"]], page["total"]) == ([1], 1)


def test_retry_revives_a_dead_message_and_refuses_others(database_url: str) -> None:
    """retry ID: a dead message is pending again; a pending one is exit 1 OUTBOX_NOT_DEAD."""
    queue(database_url, 1, dead=1)
    cli = OutboxCli(database_url)
    assert cli.ok("retry", "1").stdout == "Outbox message 1 is pending again (back_in_stock).\n"
    assert [m["status"] for m in cli.json("list")["items"]] == ["pending", "pending"]
    refused = cli("retry", "2")
    assert refused.code == 1
    assert refused.stderr.startswith("error: OUTBOX_NOT_DEAD: ")


def test_the_worker_sends_and_stops_on_sigterm(
    database_url: str, smtp_server: SmtpTestServer
) -> None:
    """worker: sends what is due, then exits 0 on SIGTERM saying it stopped."""
    queue(database_url, 1)
    cli = OutboxCli(database_url, smtp_env(smtp_server.port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bookshop_examples.cli", "outbox", "worker"],
        cwd=ROOT,
        env=cli.environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Outbox worker running")
        # The first pass runs at start; wait for it by what the server saw (bounded by turns).
        for _ in range(6000):
            if smtp_server.received:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stdout.startswith("Outbox worker stopped after ")
    assert [r.rcpt_tos for r in smtp_server.received] == [("reader0@example.com",)]
