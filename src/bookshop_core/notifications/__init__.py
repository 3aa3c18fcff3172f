"""The notifications context: the email a shop sends, and the ports that render and send it.

Use cases never send mail themselves: they write an outbox message in their unit of work, and
a dispatcher renders it (:class:`MessageRenderer`) and sends it (:class:`Mailer`) after the
commit, so that no email goes out for a change that rolled back.
"""

from bookshop_core.notifications.errors import MailRejected, MailTemplateError, MailUnavailable
from bookshop_core.notifications.messages import (
    RESERVED_HEADERS,
    EmailMessage,
    MessageKind,
    RenderedMessage,
)
from bookshop_core.notifications.ports import Mailer, MessageRenderer

__all__ = [
    "RESERVED_HEADERS",
    "EmailMessage",
    "MailRejected",
    "MailTemplateError",
    "MailUnavailable",
    "Mailer",
    "MessageKind",
    "MessageRenderer",
    "RenderedMessage",
]
