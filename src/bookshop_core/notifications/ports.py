"""The notifications ports: a mailer that sends, a renderer that writes.

The SMTP mailer, the in-memory mailer and the Jinja2 renderer live in
``bookshop_adapters.mail``; an embedding app may bring its own (an email API's client, a
different template engine) by implementing these protocols.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bookshop_core.notifications.messages import EmailMessage, RenderedMessage

__all__ = ["Mailer", "MessageRenderer"]


class Mailer(Protocol):
    """Hands emails to whatever delivers them.

    A mailer is called by the outbox dispatcher after the change that caused the email has
    committed, never inside a use case's transaction. It may be called concurrently.
    """

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its recipients (hand it to the mail server).

        Returning means the server accepted the message. Sending the same message twice is
        allowed (the dispatcher delivers at least once); it carries the same ``Message-ID``.

        Raises:
            MailUnavailable: a transient failure (server unreachable, timeout, TLS or login
                failure, a 4xx answer): nothing was delivered, try again later.
            MailRejected: the server refused the message for good (a 5xx answer); retrying
                the same message will not help.
        """
        ...


class MessageRenderer(Protocol):
    """Turns a kind of message and its variables into a subject, a text and an HTML body."""

    def render(self, kind: str, variables: Mapping[str, Any]) -> RenderedMessage:
        """Render the templates of ``kind`` with ``variables``.

        Args:
            kind: The message kind (a :class:`~bookshop_core.notifications.MessageKind` value
                or an app's own kind).
            variables: The template variables (each kind documents its own); JSON-ready
                values are enough (amounts as decimal strings, instants as ISO 8601
                strings), so that an outbox can store them.

        Returns:
            The subject (one line), the plain-text body and the HTML body.

        Raises:
            MailTemplateError: no template for ``kind``, a template that fails to parse, or a
                variable a template uses that ``variables`` lacks.
        """
        ...
