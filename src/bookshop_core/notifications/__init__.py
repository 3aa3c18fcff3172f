"""The notifications context: the email a shop sends, and the ports that render and send it.

Use cases never send mail themselves: they write an outbox message in their unit of work, and
a dispatcher renders it (:class:`MessageRenderer`) and sends it (:class:`Mailer`) after the
commit, so that no email goes out for a change that rolled back.
"""

from bookshop_core.notifications.admin import ListOutbox, OutboxAdmin
from bookshop_core.notifications.dispatch import Dispatcher, DispatchReport, OutboxWorker
from bookshop_core.notifications.errors import (
    MailerNotConfigured,
    MailRejected,
    MailTemplateError,
    MailUnavailable,
    OutboxMessageNotFound,
    OutboxNotDead,
)
from bookshop_core.notifications.messages import (
    RESERVED_HEADERS,
    EmailMessage,
    MessageKind,
    RenderedMessage,
)
from bookshop_core.notifications.outbox import (
    DeliveryFailure,
    NewOutboxMessage,
    OutboxMessage,
    OutboxMessageQueued,
    OutboxRepository,
    OutboxSettings,
    OutboxStatus,
    OutboxUnitOfWork,
    new_message_id,
    queue_email,
    queue_emails,
)
from bookshop_core.notifications.ports import Mailer, MessageRenderer

__all__ = [
    "RESERVED_HEADERS",
    "DeliveryFailure",
    "DispatchReport",
    "Dispatcher",
    "EmailMessage",
    "ListOutbox",
    "MailRejected",
    "MailTemplateError",
    "MailUnavailable",
    "Mailer",
    "MailerNotConfigured",
    "MessageKind",
    "MessageRenderer",
    "NewOutboxMessage",
    "OutboxAdmin",
    "OutboxMessage",
    "OutboxMessageNotFound",
    "OutboxMessageQueued",
    "OutboxNotDead",
    "OutboxRepository",
    "OutboxSettings",
    "OutboxStatus",
    "OutboxUnitOfWork",
    "OutboxWorker",
    "RenderedMessage",
    "new_message_id",
    "queue_email",
    "queue_emails",
]
