"""Fixtures of the mail tests: SMTP servers on loopback and a self-signed certificate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bookshop_adapters.mail import SmtpSecurity
from tests.mail.smtp_server import SmtpTestServer, self_signed_certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), made for this module."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A plain SMTP server on loopback that records what arrives."""
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpTestServer]:
    """An SMTP server that requires STARTTLS (self-signed certificate) before mail."""
    with SmtpTestServer(certificate=certificate, security=SmtpSecurity.STARTTLS) as server:
        yield server
