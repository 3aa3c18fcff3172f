"""Every error code of the notifications context, declared once (see
:mod:`bookshop_core.errors`).

A mailer or renderer raises these; the outbox dispatcher decides from the class what to do
with the message: :class:`MailUnavailable` and :class:`MailTemplateError` are worth a retry
later (the server comes back, an operator fixes a template), :class:`MailRejected` is not (the
server refused the message for good).
"""

from __future__ import annotations

from bookshop_core.errors import BadRequest, Conflict, NotFound, Unavailable

__all__ = [
    "MailRejected",
    "MailTemplateError",
    "MailUnavailable",
    "MailerNotConfigured",
    "OutboxMessageNotFound",
    "OutboxNotDead",
]


class MailUnavailable(Unavailable):
    """The mail server cannot take the message right now: unreachable, timed out, the TLS
    handshake or login failed, or it answered with a transient (4xx) refusal. Retrying later
    may succeed; nothing was delivered."""

    code = "MAIL_UNAVAILABLE"
    default_message = "The mail server is unavailable"


class MailRejected(BadRequest):
    """The mail server refused the message for good (a permanent 5xx answer to the sender, a
    recipient or the content). ``details["smtp_code"]`` is the server's reply code and
    ``details["recipients"]`` the refused addresses, when known. Retrying the same message
    will fail the same way."""

    code = "MAIL_REJECTED"
    default_message = "The mail server rejected the message"
    http_status = 502


class MailTemplateError(Unavailable):
    """A message could not be rendered: no template for its kind, a template that does not
    parse, or one that uses a variable the message did not supply. A server misconfiguration
    (fix the template, then retry the message), never the caller's fault."""

    code = "MAIL_TEMPLATE_ERROR"
    default_message = "An email template failed to render"
    http_status = 500


class MailerNotConfigured(Unavailable):
    """The shop was built without a mailer, so the outbox cannot be dispatched (a
    configuration error of the operator: pass ``mailer=`` to ``build_shop``). Messages stay
    queued until a dispatcher with a mailer sends them."""

    code = "MAIL_NOT_CONFIGURED"
    default_message = "No mailer is configured; queued emails cannot be sent"
    http_status = 500


class OutboxMessageNotFound(NotFound):
    """No outbox message with that id."""

    code = "OUTBOX_MESSAGE_NOT_FOUND"
    default_message = "Outbox message not found"
    default_field = "message_id"


class OutboxNotDead(Conflict):
    """Only a dead message (out of attempts, or refused by the server) can be retried; this
    one is pending, sending or sent (``details["status"]``)."""

    code = "OUTBOX_NOT_DEAD"
    default_message = "Only a dead outbox message can be retried"
