"""The SMTP mailer against a real SMTP server (aiosmtpd on loopback): what arrives, over
plain SMTP, STARTTLS and implicit TLS, with a login; and each failure as a notifications
error."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from email.message import EmailMessage as MimeMessage
from pathlib import Path

import pytest

from bookshop_adapters.mail import SmtpMailer, SmtpSecurity
from bookshop_core import EmailMessage, MailRejected, MailUnavailable
from tests.mail.smtp_server import SENDER, SmtpTestServer, free_port


def message(**overrides: object) -> EmailMessage:
    fields: dict[str, object] = {
        "message_id": "outbox-42",
        "to": ("reader@example.com",),
        "subject": "'Dune' is back in stock",
        "text": "Dune is back.\nhttps://books.example/books/7\n",
        "html": '<p><a href="https://books.example/books/7">Dune</a> is back.</p>\n',
    }
    fields.update(overrides)
    return EmailMessage(**fields)  # type: ignore[arg-type]


def parts(received: MimeMessage) -> dict[str, str]:
    """The text of each leaf part of a message, by content type (line ends as sent: the
    wire's CRLF read back as LF)."""
    return {
        part.get_content_type(): str(part.get_content()).replace("\r\n", "\n")
        for part in received.walk()
        if not part.is_multipart()
    }


async def test_a_message_arrives_as_multipart_alternative_with_text_and_html(
    smtp_server: SmtpTestServer,
) -> None:
    """The text part comes first, then the HTML part, each with its content intact."""
    await SmtpMailer(smtp_server.settings(security=SmtpSecurity.NONE)).send(message())

    [received] = smtp_server.received
    assert received.message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in received.message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert parts(received.message) == {
        "text/plain": "Dune is back.\nhttps://books.example/books/7\n",
        "text/html": '<p><a href="https://books.example/books/7">Dune</a> is back.</p>\n',
    }


async def test_recipients_sender_and_headers_arrive(smtp_server: SmtpTestServer) -> None:
    """Envelope and headers: every recipient, the sender, subject, date and extra headers."""
    sent = message(
        to=("reader@example.com", "second@example.org"),
        headers={"X-Bookshop-Kind": "back_in_stock", "List-Unsubscribe": "<mailto:u@x.example>"},
    )
    await SmtpMailer(smtp_server.settings()).send(sent)

    [received] = smtp_server.received
    assert received.mail_from == "shop@books.example"
    assert received.rcpt_tos == ("reader@example.com", "second@example.org")
    headers = received.message
    assert headers["From"] == SENDER
    assert headers["To"] == "reader@example.com, second@example.org"
    assert headers["Subject"] == "'Dune' is back in stock"
    assert headers["Date"] is not None
    assert headers["X-Bookshop-Kind"] == "back_in_stock"
    assert headers["List-Unsubscribe"] == "<mailto:u@x.example>"


async def test_the_message_id_is_the_stable_id_on_every_resend(
    smtp_server: SmtpTestServer,
) -> None:
    """A message sent twice carries the same Message-ID, <id@domain from the settings>."""
    mailer = SmtpMailer(smtp_server.settings(message_id_domain="mail.books.example"))
    await mailer.send(message())
    await mailer.send(message())

    ids = [r.message_id for r in smtp_server.received]
    assert ids == ["<outbox-42@mail.books.example>"] * 2
    assert mailer.message_id_header(message()) == "<outbox-42@mail.books.example>"


async def test_the_message_id_domain_defaults_to_the_senders(
    smtp_server: SmtpTestServer,
) -> None:
    """Without message_id_domain, the Message-ID's domain is the sender address's."""
    await SmtpMailer(smtp_server.settings()).send(message(message_id="a1.b2"))

    assert smtp_server.received[0].message_id == "<a1.b2@books.example>"


async def test_non_ascii_subject_and_bodies_arrive_intact(smtp_server: SmtpTestServer) -> None:
    """UTF-8 in the subject, the text and the HTML survives the trip."""
    await SmtpMailer(smtp_server.settings()).send(
        message(subject="« Les Misérables » 📚", text="Déjà lu ? €12", html="<p>Déjà lu ? €12</p>")
    )

    [received] = smtp_server.received
    assert received.message["Subject"] == "« Les Misérables » 📚"
    assert parts(received.message) == {
        "text/plain": "Déjà lu ? €12\n",
        "text/html": "<p>Déjà lu ? €12</p>\n",
    }


# -- TLS and login -----------------------------------------------------------------------------


async def test_starttls_with_a_trusted_certificate(starttls_server: SmtpTestServer) -> None:
    """STARTTLS against a server that requires it, trusting its CA file: delivered."""
    await SmtpMailer(starttls_server.settings()).send(message())

    assert [r.rcpt_tos for r in starttls_server.received] == [("reader@example.com",)]


async def test_login_over_starttls(certificate: tuple[Path, Path]) -> None:
    """With a user name and password the mailer signs in (after STARTTLS) and delivers."""
    users = {"shop": "s3cret pass"}
    with SmtpTestServer(
        certificate=certificate, security=SmtpSecurity.STARTTLS, users=users
    ) as server:
        await SmtpMailer(server.settings(username="shop", password="s3cret pass")).send(message())

    assert [r.login for r in server.received] == ["shop"]


async def test_implicit_tls(certificate: tuple[Path, Path]) -> None:
    """Implicit TLS (TLS from the first byte) delivers."""
    with SmtpTestServer(certificate=certificate, security=SmtpSecurity.TLS) as server:
        await SmtpMailer(server.settings()).send(message())

    assert len(server.received) == 1


async def test_a_wrong_password_is_mail_unavailable(certificate: tuple[Path, Path]) -> None:
    """A refused login is MAIL_UNAVAILABLE, and nothing is delivered."""
    with SmtpTestServer(
        certificate=certificate, security=SmtpSecurity.STARTTLS, users={"shop": "right"}
    ) as server:
        mailer = SmtpMailer(server.settings(username="shop", password="wrong"))
        with pytest.raises(MailUnavailable, match="login"):
            await mailer.send(message())

    assert server.received == []


async def test_an_untrusted_certificate_is_mail_unavailable(
    starttls_server: SmtpTestServer,
) -> None:
    """A certificate the client does not trust fails the send; nothing goes in plain text."""
    mailer = SmtpMailer(starttls_server.settings(ca_file=None))
    with pytest.raises(MailUnavailable) as raised:
        await mailer.send(message())

    assert isinstance(raised.value.__cause__, ssl.SSLCertVerificationError)

    assert starttls_server.received == []


async def test_starttls_is_required_when_configured(smtp_server: SmtpTestServer) -> None:
    """A server that offers no STARTTLS is an error, never a silent plain-text session."""
    mailer = SmtpMailer(smtp_server.settings(security=SmtpSecurity.STARTTLS))
    with pytest.raises(MailUnavailable, match="STARTTLS"):
        await mailer.send(message())

    assert smtp_server.received == []


# -- failures ----------------------------------------------------------------------------------


async def test_a_server_that_is_down_is_mail_unavailable() -> None:
    """Nothing listening on the port: MAIL_UNAVAILABLE, with the connection error as cause."""
    server = SmtpTestServer()  # never started: its port is free
    with pytest.raises(MailUnavailable) as raised:
        await SmtpMailer(server.settings(port=free_port())).send(message())

    assert raised.value.code == "MAIL_UNAVAILABLE"
    assert isinstance(raised.value.__cause__, OSError)


async def test_a_server_that_comes_back_takes_the_message(smtp_server: SmtpTestServer) -> None:
    """Down, then up again on the same port: the same mailer delivers."""
    mailer = SmtpMailer(smtp_server.settings())
    smtp_server.stop()
    with pytest.raises(MailUnavailable):
        await mailer.send(message())
    smtp_server.start()
    await mailer.send(message())

    assert len(smtp_server.received) == 1


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server on loopback that accepts connections and never says a word."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


async def test_a_server_that_never_answers_times_out_as_mail_unavailable(
    silent_server: int, smtp_server: SmtpTestServer
) -> None:
    """No greeting within the configured timeout: MAIL_UNAVAILABLE."""
    settings = smtp_server.settings(port=silent_server, timeout=0.2)
    with pytest.raises(MailUnavailable):
        await SmtpMailer(settings).send(message())


async def test_every_recipient_refused_for_good_is_mail_rejected(
    smtp_server: SmtpTestServer,
) -> None:
    """A 550 for every recipient: MAIL_REJECTED naming them and the reply code."""
    with pytest.raises(MailRejected) as raised:
        await SmtpMailer(smtp_server.settings()).send(message(to=("reject-me@example.com",)))

    assert raised.value.details == {"smtp_code": 550, "recipients": ["reject-me@example.com"]}
    assert smtp_server.received == []


async def test_a_deferred_recipient_is_mail_unavailable(smtp_server: SmtpTestServer) -> None:
    """A 450 (try later) for the recipients: MAIL_UNAVAILABLE, so the outbox retries."""
    with pytest.raises(MailUnavailable) as raised:
        await SmtpMailer(smtp_server.settings()).send(message(to=("defer-me@example.com",)))

    assert raised.value.details["smtp_code"] == 450


async def test_some_recipients_refused_is_mail_rejected_after_delivery_to_the_others(
    smtp_server: SmtpTestServer,
) -> None:
    """The accepted recipients get the message; the error says who did and who did not."""
    to = ("reader@example.com", "reject-me@example.com")
    with pytest.raises(MailRejected) as raised:
        await SmtpMailer(smtp_server.settings()).send(message(to=to))

    assert raised.value.details == {
        "smtp_code": 550,
        "recipients": ["reject-me@example.com"],
        "delivered_to": ["reader@example.com"],
    }
    assert [r.rcpt_tos for r in smtp_server.received] == [("reader@example.com",)]
