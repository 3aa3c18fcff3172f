"""An SMTP mailer on aiosmtplib (the ``mail`` extra).

Each :meth:`SmtpMailer.send` opens a connection, secures it (STARTTLS or implicit TLS), signs
in when configured, hands over one message and says goodbye: a dispatcher sending a batch
calls it once per message, and a lost connection never poisons the next send. The message is
``multipart/alternative`` with the plain text first and the HTML last (the part a client
prefers when it can show it), and its ``Message-ID`` is the outbox message's stable id,
``<message_id@domain>``, identical on every resend.

Every failure is one of the notifications errors: ``MAIL_UNAVAILABLE`` when retrying later
can help (unreachable, timeout, TLS, login, a 4xx answer), ``MAIL_REJECTED`` when it cannot
(a 5xx answer to the sender, every recipient or the data).
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Any, NoReturn

from bookshop_adapters.extras import require
from bookshop_adapters.mail.settings import SmtpSecurity, SmtpSettings
from bookshop_core.notifications.errors import MailRejected, MailUnavailable
from bookshop_core.notifications.messages import EmailMessage

require("aiosmtplib", feature="Sending email over SMTP", extra="mail")

import aiosmtplib  # noqa: E402  (after the check that names the extra)

__all__ = ["SmtpMailer", "build_mime_message"]


def build_mime_message(message: EmailMessage, *, sender: str, domain: str) -> MimeMessage:
    """The MIME form of ``message``: headers, then a text and an HTML alternative.

    Args:
        message: What to send.
        sender: The ``From`` header.
        domain: The domain of the ``Message-ID`` (``<message_id@domain>``).

    Returns:
        A ``multipart/alternative`` message (text/plain, then text/html), both UTF-8.
    """
    mime = MimeMessage(policy=SMTP_POLICY)
    mime["From"] = sender
    mime["To"] = ", ".join(message.to)
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = f"<{message.message_id}@{domain}>"
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text, subtype="plain", charset="utf-8")
    mime.add_alternative(message.html, subtype="html", charset="utf-8")
    return mime


class SmtpMailer:
    """Sends each email to an SMTP server (implements :class:`~bookshop_core.Mailer`).

    Args:
        settings: The server, its security, the login, the timeout and the sender.

    Raises:
        MissingExtra: aiosmtplib is not installed (``pip install 'bookshop[mail]'``), raised
            when this module is imported.
    """

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._tls_context = _tls_context(settings)

    def message_id_header(self, message: EmailMessage) -> str:
        """The ``Message-ID`` header ``message`` is sent with (``<id@domain>``)."""
        return f"<{message.message_id}@{self.settings.domain}>"

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` through the configured server.

        Raises:
            MailUnavailable: the server is unreachable, timed out, closed the connection,
                failed the TLS handshake or the login, lacks STARTTLS or AUTH, or answered
                with a transient (4xx) refusal; nothing was delivered.
            MailRejected: a permanent (5xx) refusal of the sender, of every recipient or of
                the data; or of some recipients only (the others got the message;
                ``details["delivered_to"]`` lists them).
        """
        settings = self.settings
        mime = build_mime_message(message, sender=settings.sender, domain=settings.domain)
        try:
            refused, _reply = await aiosmtplib.send(
                mime,
                sender=settings.sender_address,
                recipients=list(message.to),
                **self._connection_options(),
            )
        except aiosmtplib.SMTPException as exc:
            _translate(exc, message)
        except OSError as exc:  # socket and ssl errors aiosmtplib lets through
            raise MailUnavailable(f"Could not reach the mail server: {exc}") from exc
        if refused:
            delivered = [address for address in message.to if address not in refused]
            raise MailRejected(
                "The mail server refused some recipients",
                details={
                    "smtp_code": min(reply.code for reply in refused.values()),
                    "recipients": sorted(refused),
                    "delivered_to": delivered,
                },
            )

    def _connection_options(self) -> dict[str, Any]:
        settings = self.settings
        options: dict[str, Any] = {
            "hostname": settings.host,
            "port": settings.effective_port,
            "timeout": settings.timeout,
            "use_tls": settings.security is SmtpSecurity.TLS,
            # Never opportunistic: STARTTLS is required when asked for, never tried otherwise.
            "start_tls": settings.security is SmtpSecurity.STARTTLS,
            "local_hostname": settings.local_hostname,
        }
        if self._tls_context is not None:
            options["tls_context"] = self._tls_context
        if settings.username is not None:
            options["username"] = settings.username
            options["password"] = settings.password
        return options


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext | None:
    if settings.tls_context is not None:
        return settings.tls_context
    if settings.ca_file is not None:
        return ssl.create_default_context(cafile=settings.ca_file)
    return None


def _translate(exc: aiosmtplib.SMTPException, message: EmailMessage) -> NoReturn:
    """Raise the notifications error for an aiosmtplib failure (its cause kept)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in exc.recipients]
        recipients = sorted(refusal.recipient for refusal in exc.recipients)
        if any(_transient(code) for code in codes):
            raise MailUnavailable(
                f"The mail server deferred the recipients: {exc}",
                details={"smtp_code": min(codes), "recipients": recipients},
            ) from exc
        raise MailRejected(
            "The mail server refused every recipient",
            details={"smtp_code": min(codes), "recipients": recipients},
        ) from exc
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        raise MailUnavailable(f"The mail server refused the login ({exc.code})") from exc
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPTimeoutError):
        raise MailUnavailable(f"Could not reach the mail server: {exc}") from exc
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not _transient(exc.code):
        raise MailRejected(
            f"The mail server refused the message: {exc.code} {exc.message}",
            details={"smtp_code": exc.code, "recipients": sorted(message.to)},
        ) from exc
    # 4xx answers, a dropped connection, a server without STARTTLS or AUTH, anything else.
    raise MailUnavailable(f"The mail server failed: {exc}") from exc


def _transient(code: int) -> bool:
    # 4xx: try again later (RFC 5321 4.2.1); anything else that is a refusal is final.
    return code < 500
