"""The email value and the mail settings refuse what would break a message or a connection."""

from __future__ import annotations

import pytest

from bookshop_adapters.mail import MailTemplateSettings, SmtpSecurity, SmtpSettings
from bookshop_core import EmailMessage, RenderedMessage

VALID = {
    "message_id": "outbox-1",
    "to": ("a@example.com",),
    "subject": "s",
    "text": "t",
    "html": "h",
}


def test_a_lone_address_is_one_recipient() -> None:
    """to="a@x" is the tuple ("a@x",), not its characters."""
    assert EmailMessage(**{**VALID, "to": "a@example.com"}).to == ("a@example.com",)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "override",
    [
        {"message_id": ""},
        {"message_id": "has space"},
        {"message_id": "a@b"},
        {"message_id": "<a>"},
        {"to": ()},
        {"to": ("not-an-address",)},
        {"to": ("a@example.com\r\nBcc: x@example.com",)},
        {"subject": "two\nlines"},
        {"headers": {"Bcc": "x@example.com"}},
        {"headers": {"message-id": "<x@y>"}},
        {"headers": {"X-Ok": "line\r\nInjected: yes"}},
        {"headers": {"Bad Name": "v"}},
    ],
)
def test_an_email_refuses_what_would_break_its_headers(override: dict[str, object]) -> None:
    """Malformed ids, recipients, line breaks in headers and reserved headers: ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011  (each case has its own message)
        EmailMessage(**{**VALID, **override})  # type: ignore[arg-type]


def test_headers_are_read_only() -> None:
    """An email's headers cannot be changed after it is built."""
    email = EmailMessage(**{**VALID, "headers": {"X-Kind": "a"}})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        email.headers["X-Kind"] = "b"  # type: ignore[index]


def test_rendered_content_becomes_an_email() -> None:
    """RenderedMessage.to_email keeps the content and adds id, recipients and headers."""
    email = RenderedMessage(subject="s", text="t", html="h").to_email(
        message_id="m1", to=["a@example.com"], headers={"X-Kind": "k"}
    )

    assert email == EmailMessage(
        message_id="m1",
        to=("a@example.com",),
        subject="s",
        text="t",
        html="h",
        headers={"X-Kind": "k"},
    )


@pytest.mark.parametrize(
    ("security", "port"),
    [(SmtpSecurity.STARTTLS, 587), (SmtpSecurity.TLS, 465), (SmtpSecurity.NONE, 25)],
)
def test_the_default_port_follows_the_security(security: SmtpSecurity, port: int) -> None:
    """587 for STARTTLS, 465 for implicit TLS, 25 without TLS."""
    assert SmtpSettings(sender="s@example.com", security=security).effective_port == port


@pytest.mark.parametrize(
    "bad",
    [
        {"sender": "nobody"},
        {"port": 0},
        {"timeout": 0},
        {"username": "shop"},
        {"password": "secret"},
        {"security": "ssl"},
        {"message_id_domain": "a b"},
    ],
)
def test_smtp_settings_refuse_what_cannot_work(bad: dict[str, object]) -> None:
    """No address, no port, no time, half a login, an unknown security: ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011
        SmtpSettings(**{"sender": "s@example.com", **bad})  # type: ignore[arg-type]


def test_the_password_is_not_in_the_repr() -> None:
    """repr(settings) never shows the SMTP password."""
    settings = SmtpSettings(sender="s@example.com", username="shop", password="hunter2")
    assert "hunter2" not in repr(settings)


def test_smtp_settings_from_the_environment() -> None:
    """BOOKSHOP_SMTP_* variables; none without a host; a host without a sender is an error."""
    env = {
        "BOOKSHOP_SMTP_HOST": "smtp.example.com",
        "BOOKSHOP_SMTP_PORT": "2525",
        "BOOKSHOP_SMTP_SECURITY": "tls",
        "BOOKSHOP_SMTP_SENDER": "Shop <shop@example.com>",
        "BOOKSHOP_SMTP_USERNAME": "shop",
        "BOOKSHOP_SMTP_PASSWORD": "pw",
        "BOOKSHOP_SMTP_TIMEOUT": "5",
    }
    settings = SmtpSettings.from_env(env)

    assert settings == SmtpSettings(
        sender="Shop <shop@example.com>",
        host="smtp.example.com",
        port=2525,
        security=SmtpSecurity.TLS,
        username="shop",
        password="pw",
        timeout=5.0,
    )
    assert settings.domain == "example.com"
    assert SmtpSettings.from_env({}) is None
    with pytest.raises(ValueError, match="SENDER"):
        SmtpSettings.from_env({"BOOKSHOP_SMTP_HOST": "smtp.example.com"})


@pytest.mark.parametrize(
    "bad",
    [{"base_url": "books.example"}, {"currency": "usd"}, {"time_zone": "Mars/Olympus"}],
)
def test_template_settings_refuse_what_cannot_render(bad: dict[str, str]) -> None:
    """A relative base URL, a malformed currency or an unknown zone: ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011
        MailTemplateSettings(**{"base_url": "https://books.example", **bad})


def test_book_urls_are_absolute() -> None:
    """book_url joins the base URL and the book path, whatever the trailing slash."""
    settings = MailTemplateSettings(
        base_url="https://books.example/shop/", book_path="/b/{book_id}"
    )
    assert settings.book_url(7) == "https://books.example/shop/b/7"
