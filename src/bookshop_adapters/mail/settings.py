"""Settings of the mail adapters: the SMTP server, and how templates render money, time and
links. Importing them needs no extra."""

from __future__ import annotations

import enum
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import field, frozen
from attrs.validators import gt, matches_re

__all__ = ["MailTemplateSettings", "SmtpSecurity", "SmtpSettings"]


class SmtpSecurity(enum.StrEnum):
    """How the connection to the SMTP server is protected."""

    #: Connect in plain text, then upgrade with ``STARTTLS`` (required: a server that does
    #: not offer it is an error, never a silent plain-text session). Port 587 by default.
    STARTTLS = "starttls"
    #: TLS from the first byte ("implicit TLS", SMTPS). Port 465 by default.
    TLS = "tls"
    #: No TLS at all: only for a relay on loopback or a trusted network. Port 25 by default.
    NONE = "none"


_DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465, SmtpSecurity.NONE: 25}


def _check_sender(_instance: Any, _attribute: Any, value: str) -> None:
    _name, address = parseaddr(value)
    if "@" not in address or "\n" in value or "\r" in value:
        raise ValueError(f"sender {value!r} is not an address ('Shop <shop@example.com>')")


def _check_port(_instance: Any, _attribute: Any, value: int | None) -> None:
    if value is not None and not 0 < value < 65536:
        raise ValueError(f"port {value} is not a TCP port")


@frozen(kw_only=True)
class SmtpSettings:
    """Where and how :class:`~bookshop_adapters.mail.SmtpMailer` delivers mail.

    Args:
        sender: The ``From`` of every email, an address with an optional display name
            (``"Bookshop <shop@example.com>"``); its address is also the envelope sender.
        host: The SMTP server's host name or IP address.
        port: Its port (default: 587 for STARTTLS, 465 for implicit TLS, 25 without TLS).
        security: STARTTLS (the default), implicit TLS, or none (see :class:`SmtpSecurity`).
        username: Sign in with this user name (``AUTH``), after TLS is up. ``None``: no login.
        password: The password for ``username`` (never shown in ``repr``).
        timeout: Seconds to wait for the connection and for each answer of the server; past
            it the send fails with ``MAIL_UNAVAILABLE``.
        message_id_domain: The domain right of the ``@`` in each ``Message-ID``
            (``<message_id@domain>``); default: the sender's domain.
        ca_file: A PEM bundle of certificate authorities to trust instead of the system's
            (a private relay's own CA).
        tls_context: A ready ``ssl.SSLContext``, overriding ``ca_file`` (client certificates,
            pinned ciphers). Server certificates are always verified.
        local_hostname: The name this client gives in ``EHLO`` (default: the machine's
            fully qualified name).

    Raises:
        ValueError: a sender that is no address, a port outside 1..65535, a timeout that is
            not positive, a user name without a password or the reverse.
    """

    sender: str = field(validator=_check_sender)
    host: str = "localhost"
    port: int | None = field(default=None, validator=_check_port)
    security: SmtpSecurity = field(default=SmtpSecurity.STARTTLS, converter=SmtpSecurity)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = field(default=30.0, validator=gt(0))
    message_id_domain: str | None = field(
        default=None, validator=lambda _i, _a, v: v is None or _check_domain(v)
    )
    ca_file: str | None = None
    tls_context: ssl.SSLContext | None = field(default=None, eq=False, repr=False)
    local_hostname: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise ValueError("SMTP login needs both a username and a password")

    @property
    def effective_port(self) -> int:
        """The port connected to: ``port``, or the usual one for ``security``."""
        return self.port if self.port is not None else _DEFAULT_PORTS[self.security]

    @property
    def sender_address(self) -> str:
        """The bare address of ``sender`` (the envelope sender)."""
        return parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        """The domain of each ``Message-ID``."""
        if self.message_id_domain is not None:
            return self.message_id_domain
        return Address(addr_spec=self.sender_address).domain

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], *, prefix: str = "BOOKSHOP_SMTP_"
    ) -> SmtpSettings | None:
        """SMTP settings from environment variables, or ``None`` when ``<prefix>HOST`` is
        unset (no mail server configured). The library reads no environment of its own: a
        frontend passes ``os.environ`` (or any mapping) as ``environ``.

        Reads ``HOST``, ``PORT``, ``SECURITY`` (``starttls``, ``tls`` or ``none``),
        ``SENDER`` (required with ``HOST``), ``USERNAME``, ``PASSWORD``, ``TIMEOUT``,
        ``MESSAGE_ID_DOMAIN`` and ``CA_FILE``, each after ``prefix``.

        Raises:
            ValueError: ``HOST`` without ``SENDER``, or a value that does not parse.
        """

        def get(name: str) -> str | None:
            value = environ.get(prefix + name, "").strip()
            return value or None

        host = get("HOST")
        if host is None:
            return None
        sender = get("SENDER")
        if sender is None:
            raise ValueError(f"{prefix}HOST is set but {prefix}SENDER is not")
        port = get("PORT")
        timeout = get("TIMEOUT")
        return cls(
            sender=sender,
            host=host,
            port=int(port) if port else None,
            security=SmtpSecurity(get("SECURITY") or SmtpSecurity.STARTTLS),
            username=get("USERNAME"),
            password=environ.get(prefix + "PASSWORD") or None,
            timeout=float(timeout) if timeout else 30.0,
            message_id_domain=get("MESSAGE_ID_DOMAIN"),
            ca_file=get("CA_FILE"),
        )


def _check_domain(value: str) -> bool:
    if not value or any(c in value for c in " <>@\r\n"):
        raise ValueError(f"{value!r} is not a domain")
    return True


def _check_zone(_instance: Any, _attribute: Any, value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a known time zone") from exc


def _check_base_url(_instance: Any, _attribute: Any, value: str) -> None:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"base_url {value!r} must be an absolute http(s) URL")


@frozen(kw_only=True)
class MailTemplateSettings:
    """What the email templates need to know about the shop.

    Args:
        base_url: The shop's public address; links in emails are absolute and start here
            (``"https://books.example"``).
        currency: ISO 4217 code amounts are shown in (``USD`` as ``$12.50``; ``EUR``,
            ``GBP``, ``JPY`` with their symbols; others as ``12.50 CHF``).
        time_zone: IANA name of the zone dates and times are shown in (``"Europe/Paris"``).
        shop_name: The shop's name, as greetings and footers say it.
        book_path: The path of a book's page under ``base_url`` (``{book_id}`` is replaced).

    Raises:
        ValueError: a relative ``base_url``, a currency that is not three capital letters,
            an unknown time zone, a ``book_path`` without ``{book_id}``.
    """

    base_url: str = field(validator=_check_base_url)
    currency: str = field(default="USD", validator=matches_re(r"[A-Z]{3}"))
    time_zone: str = field(default="UTC", validator=_check_zone)
    shop_name: str = "Bookshop"
    book_path: str = field(
        default="/books/{book_id}",
        validator=matches_re(r"/.*\{book_id\}.*"),
    )

    @property
    def zone(self) -> ZoneInfo:
        """``time_zone`` as a ``ZoneInfo``."""
        return ZoneInfo(self.time_zone)

    def book_url(self, book_id: int | str) -> str:
        """The absolute address of a book's page."""
        return self.base_url.rstrip("/") + self.book_path.replace("{book_id}", str(book_id))
