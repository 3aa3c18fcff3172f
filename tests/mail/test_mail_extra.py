"""Without the ``mail`` extra: the settings and the memory mailer work, and the SMTP mailer and
the Jinja2 renderer are a MissingExtra naming ``mail``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_WITHOUT_MAIL_EXTRA = """\
import sys
for name in ("aiosmtplib", "jinja2"):
    sys.modules[name] = None
"""


def run_without_mail_extra(body: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``body`` where aiosmtplib and jinja2 cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_MAIL_EXTRA + textwrap.dedent(body)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_memory_mailer_and_settings_need_no_extra(tmp_path: Path) -> None:
    """MemoryMailer sends and the settings build without aiosmtplib or Jinja2."""
    result = run_without_mail_extra(
        """
        import asyncio
        from bookshop_adapters.mail import MailTemplateSettings, MemoryMailer, SmtpSettings
        from bookshop_core import EmailMessage

        SmtpSettings(sender="s@example.com")
        MailTemplateSettings(base_url="https://books.example")
        mailer = MemoryMailer()
        message = EmailMessage(message_id="m", to="a@example.com", subject="s", text="t", html="h")
        asyncio.run(mailer.send(message))
        print(len(mailer.sent))
        """,
        tmp_path,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "1\n", "")


@pytest.mark.parametrize(
    ("name", "feature"),
    [("SmtpMailer", "Sending email over SMTP"), ("JinjaRenderer", "Email templates")],
)
def test_smtp_and_templates_without_the_extra_name_it(
    tmp_path: Path, name: str, feature: str
) -> None:
    """Asking for the SMTP mailer or the renderer: MissingExtra, 'mail', one line."""
    result = run_without_mail_extra(
        f"""
        from bookshop_adapters.extras import MissingExtra
        import bookshop_adapters.mail as mail

        try:
            mail.{name}
        except MissingExtra as exc:
            print(exc.extra, exc, sep="\\n")
        """,
        tmp_path,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert (
        result.stdout == f"mail\n{feature} needs the 'mail' extra: pip install 'bookshop[mail]'\n"
    )
