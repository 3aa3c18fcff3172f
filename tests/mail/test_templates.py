"""The Jinja2 email templates: the shipped kinds, escaping, strict variables, overrides, and
money and times in the shop's currency and zone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import pytest

from bookshop_adapters.mail import TEMPLATE_VARIABLES, JinjaRenderer, MailTemplateSettings
from bookshop_adapters.mail.templates import SHIPPED_TEMPLATES, format_money
from bookshop_core import MailTemplateError, MessageKind

DOCS = Path(__file__).resolve().parents[2] / "docs"

SETTINGS = MailTemplateSettings(base_url="https://books.example/", currency="USD")

ORDER: dict[str, Any] = {
    "order_id": 1042,
    "created_at": "2025-03-01T12:00:00+00:00",
    "items": [
        {"title": "Dune", "quantity": 2, "unit_price": "9.99"},
        {"title": "Emma", "quantity": 1, "unit_price": Decimal("1200.50")},
    ],
    "total": "1220.48",
}
RESTOCK: dict[str, Any] = {"book_id": 7, "title": "Dune", "author": "Frank Herbert"}
SAMPLES = {MessageKind.ORDER_CONFIRMATION: ORDER, MessageKind.BACK_IN_STOCK: RESTOCK}


def test_order_confirmation_lists_each_line_and_the_total() -> None:
    """Subject says confirmed; both bodies show the order id, titles, quantities, prices."""
    rendered = JinjaRenderer(SETTINGS).render("order_confirmation", ORDER)

    assert "confirmed" in rendered.subject
    assert "1042" in rendered.subject
    for body in (rendered.text, rendered.html):
        for fragment in ("1042", "Dune", "2", "$9.99", "Emma", "$1,200.50", "$1,220.48"):
            assert fragment in body, fragment
    assert "- Dune: 2 x $9.99" in rendered.text


def test_back_in_stock_names_the_book_and_links_to_it() -> None:
    """Subject "'<title>' is back in stock"; both bodies carry the title and the book's URL."""
    rendered = JinjaRenderer(SETTINGS).render("back_in_stock", RESTOCK)

    assert rendered.subject == "'Dune' is back in stock"
    for body in (rendered.text, rendered.html):
        assert "Dune" in body
        assert "Frank Herbert" in body
        assert "https://books.example/books/7" in body
    assert 'href="https://books.example/books/7"' in rendered.html


def test_back_in_stock_without_the_optional_author() -> None:
    """The author is optional: without it the email still renders, naming no one."""
    rendered = JinjaRenderer(SETTINGS).render("back_in_stock", {"book_id": 7, "title": "Dune"})

    assert " by " not in rendered.text


def test_html_is_autoescaped_and_text_is_not() -> None:
    """A title with markup is text in the HTML part, and verbatim in the text and subject."""
    title = "<script>alert('x')</script> & Co"
    rendered = JinjaRenderer(SETTINGS).render("back_in_stock", {"book_id": 1, "title": title})

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in rendered.html
    assert title in rendered.text
    assert rendered.subject == f"'{title}' is back in stock"


@pytest.mark.parametrize(
    ("kind", "missing"),
    [
        (kind, name)
        for kind, names in TEMPLATE_VARIABLES.items()
        for name in names
        if "(optional)" not in names[name]
    ],
)
def test_a_missing_variable_fails_loudly(kind: str, missing: str) -> None:
    """Leaving out any required variable is MAIL_TEMPLATE_ERROR naming it, never blank."""
    variables = {k: v for k, v in SAMPLES[MessageKind(kind)].items() if k != missing}
    with pytest.raises(MailTemplateError, match=missing) as raised:
        JinjaRenderer(SETTINGS).render(kind, variables)

    assert raised.value.details["kind"] == kind


def test_an_undefined_variable_in_an_override_fails_loudly(tmp_path: Path) -> None:
    """An app template using a variable the message lacks: an error, not an empty string."""
    (tmp_path / "back_in_stock.txt").write_text("{{ title }} costs {{ price }}\n")
    renderer = JinjaRenderer(SETTINGS, templates=tmp_path)

    with pytest.raises(MailTemplateError, match="price") as raised:
        renderer.render("back_in_stock", RESTOCK)

    assert raised.value.details == {"kind": "back_in_stock", "template": "back_in_stock.txt"}


def test_an_override_directory_is_searched_first(tmp_path: Path) -> None:
    """The app's template replaces the shipped one; the kinds' other templates stay shipped."""
    (tmp_path / "back_in_stock.subject.txt").write_text("Your book {{ title }} is here")
    rendered = JinjaRenderer(SETTINGS, templates=str(tmp_path)).render("back_in_stock", RESTOCK)

    assert rendered.subject == "Your book Dune is here"
    assert "https://books.example/books/7" in rendered.text  # the shipped text template


def test_an_override_loader_may_extend_the_shipped_template() -> None:
    """A Jinja loader of the app's, extending "bookshop/<name>" to change one block."""
    loader = jinja2.DictLoader(
        {
            "order_confirmation.html": (
                '{% extends "bookshop/order_confirmation.html" %}'
                "{% block title %}Receipt {{ order_id }}{% endblock %}"
            )
        }
    )
    rendered = JinjaRenderer(SETTINGS, templates=loader).render("order_confirmation", ORDER)

    assert "<title>Receipt 1042</title>" in rendered.html
    assert "$1,220.48" in rendered.html


def test_an_app_may_add_its_own_kind(tmp_path: Path) -> None:
    """A kind the shop does not ship renders from the app's three templates."""
    (tmp_path / "welcome.subject.txt").write_text("Welcome to {{ shop_name }}")
    (tmp_path / "welcome.txt").write_text("Hello {{ name }}")
    (tmp_path / "welcome.html").write_text("<p>Hello {{ name }}</p>")
    rendered = JinjaRenderer(SETTINGS, templates=tmp_path).render("welcome", {"name": "Ann"})

    assert (rendered.subject, rendered.text, rendered.html) == (
        "Welcome to Bookshop",
        "Hello Ann",
        "<p>Hello Ann</p>",
    )


@pytest.mark.parametrize("kind", ["no_such_kind", "../back_in_stock", "Back In Stock"])
def test_an_unknown_kind_is_a_template_error(kind: str) -> None:
    """No templates for the kind (or a kind that is no name): MAIL_TEMPLATE_ERROR."""
    with pytest.raises(MailTemplateError):
        JinjaRenderer(SETTINGS).render(kind, {})


def test_a_template_that_does_not_parse_is_a_template_error(tmp_path: Path) -> None:
    """A syntax error in an override: MAIL_TEMPLATE_ERROR with the template and line."""
    (tmp_path / "back_in_stock.html").write_text("<p>\n{% if title %}unclosed</p>")
    with pytest.raises(MailTemplateError, match=r"back_in_stock\.html line 2"):
        JinjaRenderer(SETTINGS, templates=tmp_path).render("back_in_stock", RESTOCK)


def test_a_subject_is_one_line() -> None:
    """Line breaks a subject template produces are collapsed (no header injection)."""
    rendered = JinjaRenderer(SETTINGS).render(
        "back_in_stock", {"book_id": 1, "title": "Two\r\nBcc: victim@example.com"}
    )

    assert rendered.subject == "'Two Bcc: victim@example.com' is back in stock"


# -- money and time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1220.48", "USD", "$1,220.48"),
        (Decimal("9.5"), "EUR", "€9.50"),
        (3, "GBP", "£3.00"),
        ("1200.5", "JPY", "¥1,201"),
        ("12.5", "CHF", "12.50 CHF"),
        ("-4.25", "USD", "-$4.25"),
    ],
)
def test_money_is_shown_in_the_shops_currency(amount: Any, currency: str, shown: str) -> None:
    """Amounts get the currency's symbol, grouping and decimals (unknown ones: the code)."""
    assert format_money(amount, currency) == shown


def test_order_amounts_render_in_the_configured_currency() -> None:
    """A shop in EUR shows every amount of its emails in euros."""
    settings = MailTemplateSettings(base_url="https://books.example", currency="EUR")
    rendered = JinjaRenderer(settings).render("order_confirmation", ORDER)

    assert "€9.99" in rendered.text
    assert "€1,220.48" in rendered.html
    assert "$" not in rendered.text


@pytest.mark.parametrize(
    "created_at",
    [
        "2025-01-31T23:30:00+00:00",
        datetime(2025, 1, 31, 23, 30, tzinfo=UTC),
        datetime(2025, 1, 31, 23, 30),  # naive: taken as UTC
    ],
)
def test_times_render_in_the_shops_time_zone(created_at: Any) -> None:
    """An instant is shown in the configured zone (here past midnight into the next day)."""
    settings = MailTemplateSettings(base_url="https://books.example", time_zone="Europe/Paris")
    rendered = JinjaRenderer(settings).render(
        "order_confirmation", {**ORDER, "created_at": created_at}
    )

    assert "2025-02-01 00:30 CET" in rendered.text
    assert "2025-02-01 00:30 CET" in rendered.html


def test_a_value_a_filter_cannot_show_is_a_template_error() -> None:
    """A total that is no amount fails the render as MAIL_TEMPLATE_ERROR."""
    with pytest.raises(MailTemplateError, match="amount"):
        JinjaRenderer(SETTINGS).render("order_confirmation", {**ORDER, "total": "lots"})


# -- documentation -------------------------------------------------------------------------------


def test_the_documented_variables_are_exactly_those_the_templates_use() -> None:
    """TEMPLATE_VARIABLES lists every variable each shipped kind's templates read, no more."""
    renderer = JinjaRenderer(SETTINGS)
    environment = renderer.environment
    for kind, documented in TEMPLATE_VARIABLES.items():
        used: set[str] = set()
        for suffix in (".subject.txt", ".txt", ".html"):
            source = (SHIPPED_TEMPLATES / f"{kind}{suffix}").read_text(encoding="utf-8")
            used |= jinja2.meta.find_undeclared_variables(environment.parse(source))
        assert used - set(environment.globals) == set(documented), kind


def test_the_notifications_guide_documents_every_variable() -> None:
    """docs/notifications.md names each shipped kind and each of its variables."""
    guide = (DOCS / "notifications.md").read_text(encoding="utf-8")
    for kind, variables in TEMPLATE_VARIABLES.items():
        assert f"`{kind}`" in guide
        for name in variables:
            assert f"`{name}`" in guide, (kind, name)
