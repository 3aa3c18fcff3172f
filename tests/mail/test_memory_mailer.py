"""The memory mailer: records what it accepts, and fails on demand like a server that is down."""

from __future__ import annotations

import pytest

from bookshop_adapters.mail import MemoryMailer
from bookshop_core import EmailMessage, MailRejected, MailUnavailable


def message(message_id: str = "m1", to: str = "reader@example.com") -> EmailMessage:
    return EmailMessage(message_id=message_id, to=to, subject="Hi", text="t", html="<p>t</p>")


async def test_records_every_accepted_message_in_order() -> None:
    """sent holds each message as given, in order, a resend twice; sent_to filters by address."""
    mailer = MemoryMailer()
    await mailer.send(message("m1"))
    await mailer.send(message("m2", to="other@example.com"))
    await mailer.send(message("m1"))

    assert [m.message_id for m in mailer.sent] == ["m1", "m2", "m1"]
    assert [m.message_id for m in mailer.sent_to("OTHER@example.com")] == ["m2"]


async def test_fail_next_fails_that_many_sends_then_accepts() -> None:
    """fail_next(2): two MAIL_UNAVAILABLE (nothing recorded), then sends succeed again."""
    mailer = MemoryMailer(fail_next=2)
    for _ in range(2):
        with pytest.raises(MailUnavailable):
            await mailer.send(message())
    await mailer.send(message())

    assert (mailer.attempts, len(mailer.sent)) == (3, 1)


async def test_fail_next_with_a_permanent_error() -> None:
    """The injected error may be any domain error, e.g. a permanent rejection."""
    mailer = MemoryMailer()
    mailer.fail_next(1, lambda: MailRejected("no such user"))
    with pytest.raises(MailRejected, match="no such user"):
        await mailer.send(message())


def test_fail_next_refuses_a_negative_count() -> None:
    """A negative number of failures is a programming error."""
    with pytest.raises(ValueError, match="negative"):
        MemoryMailer().fail_next(-1)


async def test_clear_forgets_messages_and_attempts() -> None:
    """clear() empties sent and resets attempts."""
    mailer = MemoryMailer()
    await mailer.send(message())
    mailer.clear()

    assert (mailer.sent, mailer.attempts) == ([], 0)
