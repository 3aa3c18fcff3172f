"""Mail adapters: an SMTP mailer, an in-memory mailer and Jinja2 email templates.

::

    from bookshop_adapters.mail import (
        JinjaRenderer, MailTemplateSettings, SmtpMailer, SmtpSettings,
    )

    mailer = SmtpMailer(SmtpSettings(sender="Bookshop <shop@example.com>", host="smtp.example.com",
                                     username="shop", password="..."))
    renderer = JinjaRenderer(MailTemplateSettings(base_url="https://books.example",
                                                  currency="EUR", time_zone="Europe/Paris"),
                             templates="my_templates/")   # searched before the shipped ones
    content = renderer.render("back_in_stock", {"book_id": 7, "title": "Dune"})
    await mailer.send(content.to_email(message_id="outbox-42", to=["reader@example.com"]))

:class:`SmtpMailer` needs aiosmtplib and :class:`JinjaRenderer` needs Jinja2: the ``mail``
extra (``pip install 'bookshop[mail]'``). The settings and :class:`MemoryMailer` need
neither; importing this package imports neither, and a missing extra surfaces as
:class:`~bookshop_adapters.extras.MissingExtra` naming ``mail`` when one of the two is first
used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bookshop_adapters.mail.memory import MemoryMailer
from bookshop_adapters.mail.settings import MailTemplateSettings, SmtpSecurity, SmtpSettings

if TYPE_CHECKING:
    from bookshop_adapters.mail.smtp import SmtpMailer
    from bookshop_adapters.mail.templates import TEMPLATE_VARIABLES, JinjaRenderer

__all__ = [
    "TEMPLATE_VARIABLES",
    "JinjaRenderer",
    "MailTemplateSettings",
    "MemoryMailer",
    "SmtpMailer",
    "SmtpSecurity",
    "SmtpSettings",
]

# Imported on first access (PEP 562), so that the settings and the memory mailer work without
# the mail extra; each module raises MissingExtra naming it when its library is absent.
_LAZY = {
    "SmtpMailer": "bookshop_adapters.mail.smtp",
    "JinjaRenderer": "bookshop_adapters.mail.templates",
    "TEMPLATE_VARIABLES": "bookshop_adapters.mail.templates",
}


def __getattr__(name: str) -> Any:
    """Import the SMTP mailer or the Jinja2 renderer on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
