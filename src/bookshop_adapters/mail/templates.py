"""Email templates on Jinja2 (the ``mail`` extra): an HTML and a plain-text body per message
kind, and a one-line subject.

A kind ``k`` is three templates: ``k.subject.txt``, ``k.txt`` and ``k.html``. The shipped
ones live in ``bookshop_adapters/mail/templates/``; an app overrides any of them by passing
its own directory or Jinja loader, which is searched first (and may ``{% extends
"bookshop/k.html" %}`` to reuse a shipped one). HTML templates are autoescaped (a book titled
``<script>`` arrives as text), text and subject templates are not, and a variable a template
uses but the message lacks is an error, never an empty string.

Every template sees, besides its variables:

- ``shop_name``, ``base_url`` and ``book_url(book_id)`` (an absolute link to a book's page);
- the filters ``money`` (an amount in the shop's currency: ``{{ total | money }}``),
  ``datetime`` and ``date`` (an instant in the shop's time zone, from a ``datetime`` or an
  ISO 8601 string; a naive one is taken as UTC; an optional ``strftime`` format).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from bookshop_adapters.extras import require
from bookshop_adapters.mail.settings import MailTemplateSettings
from bookshop_core.notifications.errors import MailTemplateError
from bookshop_core.notifications.messages import MessageKind, RenderedMessage

require("jinja2", feature="Email templates", extra="mail")

import jinja2  # noqa: E402  (after the check that names the extra)

__all__ = ["SHIPPED_TEMPLATES", "TEMPLATE_VARIABLES", "JinjaRenderer", "format_money"]

#: The directory of the shipped templates.
SHIPPED_TEMPLATES: Final = Path(__file__).with_name("templates")

#: The variables each shipped kind's templates use, and what they are (optional ones say
#: so). Values may be JSON-ready: amounts as decimal strings, instants as ISO 8601 strings.
TEMPLATE_VARIABLES: Final[Mapping[str, Mapping[str, str]]] = {
    MessageKind.ORDER_CONFIRMATION: {
        "order_id": "the order's id",
        "created_at": "when the order was placed (an instant; shown in the shop's zone)",
        "items": "the lines, each with title, quantity and unit_price (an amount)",
        "total": "the order's total (an amount)",
    },
    MessageKind.BACK_IN_STOCK: {
        "book_id": "the book's id (its link is book_url(book_id))",
        "title": "the book's title",
        "author": "the book's author (optional)",
    },
}

_KIND = re.compile(r"[a-z0-9][a-z0-9_-]*")

# Symbol and decimals of the currencies shops use most; others are shown as "12.50 CHF".
_CURRENCIES: Final = {
    "USD": ("$", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
    "JPY": ("¥", 0),
}


def format_money(amount: Decimal | int | str, currency: str) -> str:
    """An amount as a customer reads it: ``$1,234.50``, ``€9.99``, ``¥1,200``, ``12.50 CHF``.

    Raises:
        ValueError: ``amount`` is not a finite number.
    """
    try:
        value = Decimal(amount) if not isinstance(amount, float) else Decimal(repr(amount))
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not an amount") from None
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not an amount")
    symbol, places = _CURRENCIES.get(currency, (None, 2))
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    digits = f"{abs(rounded):,.{places}f}"
    sign = "-" if rounded < 0 else ""
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def _instant(value: datetime | date | str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 instant") from None
    if not isinstance(value, datetime):
        if isinstance(value, date):  # a calendar date has no zone to convert
            return datetime(value.year, value.month, value.day)
        raise ValueError(f"{value!r} is not an instant")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _defined(value: Any) -> Any:
    # A filter receives an undefined variable as an Undefined object; make it fail here, with
    # Jinja's message naming the variable, rather than as "not an amount".
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError
    return value


class JinjaRenderer:
    """Renders the email of a message kind from Jinja2 templates (implements
    :class:`~bookshop_core.MessageRenderer`).

    Args:
        settings: The shop's currency, time zone, name and public address.
        templates: The app's own templates, searched before the shipped ones: a directory
            (a path) or any ``jinja2.BaseLoader``. ``None``: the shipped templates only.

    Raises:
        MissingExtra: Jinja2 is not installed (``pip install 'bookshop[mail]'``), raised
            when this module is imported.
    """

    def __init__(
        self,
        settings: MailTemplateSettings,
        *,
        templates: str | os.PathLike[str] | jinja2.BaseLoader | None = None,
    ) -> None:
        self.settings = settings
        shipped = jinja2.FileSystemLoader(SHIPPED_TEMPLATES)
        loaders: list[jinja2.BaseLoader] = []
        if isinstance(templates, jinja2.BaseLoader):
            loaders.append(templates)
        elif templates is not None:
            loaders.append(jinja2.FileSystemLoader(templates))
        loaders += [shipped, jinja2.PrefixLoader({"bookshop": shipped}, delimiter="/")]
        #: The Jinja2 environment (an app may add its own filters and globals to it).
        self.environment = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "htm", "xml"), default_for_string=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        zone = settings.zone
        self.environment.filters.update(
            money=lambda amount: format_money(_defined(amount), settings.currency),
            datetime=lambda value, fmt="%Y-%m-%d %H:%M %Z": (
                _instant(_defined(value)).astimezone(zone).strftime(fmt)
            ),
            date=lambda value, fmt="%Y-%m-%d": (
                _instant(_defined(value)).astimezone(zone).strftime(fmt)
            ),
        )
        self.environment.globals.update(
            shop_name=settings.shop_name,
            base_url=settings.base_url.rstrip("/"),
            book_url=settings.book_url,
        )

    def render(self, kind: str, variables: Mapping[str, Any]) -> RenderedMessage:
        """Render ``kind``'s subject, text and HTML templates with ``variables``.

        Args:
            kind: The message kind (``"order_confirmation"``, ``"back_in_stock"`` or an app's
                own, whose templates the app's loader provides).
            variables: The kind's variables (:data:`TEMPLATE_VARIABLES` for the shipped
                kinds).

        Returns:
            The subject (whitespace collapsed to one line), the text and the HTML.

        Raises:
            MailTemplateError: a missing template, one that does not parse, a variable it
                uses that ``variables`` lacks, or a value a filter cannot show
                (``details``: ``kind``, ``template``).
        """
        if not _KIND.fullmatch(kind):
            raise MailTemplateError(f"{kind!r} is not a message kind", details={"kind": kind})
        subject = self._render(kind, f"{kind}.subject.txt", variables)
        return RenderedMessage(
            subject=" ".join(subject.split()),
            text=self._render(kind, f"{kind}.txt", variables),
            html=self._render(kind, f"{kind}.html", variables),
        )

    def _render(self, kind: str, name: str, variables: Mapping[str, Any]) -> str:
        details = {"kind": kind, "template": name}
        try:
            return self.environment.get_template(name).render(variables)
        except jinja2.TemplateNotFound as exc:
            raise MailTemplateError(
                f"No email template {exc.name} (for {kind!r} messages)", details=details
            ) from exc
        except jinja2.UndefinedError as exc:
            raise MailTemplateError(
                f"Email template {name}: {exc.message}", details=details
            ) from exc
        except jinja2.TemplateSyntaxError as exc:
            raise MailTemplateError(
                f"Email template {exc.name or name} line {exc.lineno}: {exc.message}",
                details=details,
            ) from exc
        except (jinja2.TemplateError, ValueError, TypeError, ArithmeticError, LookupError) as exc:
            raise MailTemplateError(f"Email template {name}: {exc}", details=details) from exc
