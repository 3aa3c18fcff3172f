"""The values a mailer sends and a renderer produces."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from attrs import field, frozen

__all__ = ["RESERVED_HEADERS", "EmailMessage", "MessageKind", "RenderedMessage"]

#: Headers a mailer writes itself from the message's fields; ``EmailMessage.headers`` may not
#: set them (compared case-insensitively).
RESERVED_HEADERS: Final = frozenset(
    {
        "bcc",
        "cc",
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "message-id",
        "mime-version",
        "subject",
        "to",
    }
)

# RFC 5322 dot-atom text: what may stand left of the "@" in a Message-ID.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII without ":" (RFC 5322 ftext)


class MessageKind(enum.StrEnum):
    """The kinds of email the shop sends; each has its templates (an app may add its own
    kinds: a renderer takes any string)."""

    ORDER_CONFIRMATION = "order_confirmation"
    BACK_IN_STOCK = "back_in_stock"


def _no_line_breaks(what: str, value: str) -> str:
    # A CR or LF in a header value would start a new header: header injection.
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} must not contain a line break")
    return value


def _recipients(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):  # a lone address, not an iterable of characters
        value = (value,)
    addresses = tuple(value)
    if not addresses:
        raise ValueError("an email needs at least one recipient")
    for address in addresses:
        _no_line_breaks("a recipient", address)
        if "@" not in address:
            raise ValueError(f"{address!r} is not an email address")
    return addresses


def _check_message_id(message_id: str) -> str:
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(
            f"message_id {message_id!r} must be a non-empty dot-atom (letters, digits, "
            "'.', '-', '_' ...; no spaces, '@' or angle brackets)"
        )
    return message_id


def _check_subject(subject: str) -> str:
    return _no_line_breaks("the subject", subject)


def _headers(value: Mapping[str, str]) -> Mapping[str, str]:
    headers = dict(value)
    for name, text in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a header name")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"the {name} header is written by the mailer; use the field")
        _no_line_breaks(f"the {name} header", text)
    return MappingProxyType(headers)


@frozen
class EmailMessage:
    """One email, ready to send: who to, and the same content as plain text and as HTML.

    Args:
        message_id: The message's stable id (the outbox message's id). A mailer sends it as
            the ``Message-ID`` header (an SMTP mailer as ``<message_id@domain>``), so that a
            message sent twice (at-least-once delivery: a crash between "sent" and "marked
            sent") carries the same Message-ID both times and a receiver can recognise it. A
            dot-atom: letters, digits and ``.-_+=`` and the like; no spaces, ``@`` or ``<>``.
        to: The recipients' addresses (one address or several; at least one).
        subject: The subject line (one line).
        text: The plain-text body.
        html: The HTML body (the same content; mail clients choose one).
        headers: Extra headers (``List-Unsubscribe``, ``X-...``); not the ones the mailer
            writes itself (:data:`RESERVED_HEADERS`). Read-only.

    Raises:
        ValueError: an empty or malformed ``message_id``, no recipient or a malformed one, a
            line break in the subject or a header, a reserved or malformed header name.
    """

    message_id: str = field(validator=lambda _i, _a, v: _check_message_id(v))
    to: tuple[str, ...] = field(converter=_recipients)
    subject: str = field(validator=lambda _i, _a, v: _check_subject(v))
    text: str
    html: str
    headers: Mapping[str, str] = field(factory=dict, converter=_headers)


@frozen
class RenderedMessage:
    """What a :class:`~bookshop_core.notifications.MessageRenderer` makes of one message
    kind and its variables: a one-line subject, a plain-text body and an HTML body."""

    subject: str = field(validator=lambda _i, _a, v: _check_subject(v))
    text: str
    html: str

    def to_email(
        self,
        *,
        message_id: str,
        to: Iterable[str],
        headers: Mapping[str, str] | None = None,
    ) -> EmailMessage:
        """The email that carries this content.

        Args:
            message_id: The message's stable id (see :class:`EmailMessage`).
            to: The recipients.
            headers: Extra headers.

        Raises:
            ValueError: as :class:`EmailMessage`.
        """
        return EmailMessage(
            message_id=message_id,
            to=tuple(to),
            subject=self.subject,
            text=self.text,
            html=self.html,
            headers=headers or {},
        )
