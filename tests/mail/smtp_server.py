"""A real SMTP server on loopback for tests: aiosmtpd in a thread, recording what arrives.

Other tests may use it (the outbox's "server down, then back" tests)::

    with SmtpTestServer() as server:          # plain SMTP on a free loopback port
        mailer = SmtpMailer(server.settings())
        await mailer.send(message)
        [received] = server.received          # parsed email.message.EmailMessage + envelope

``stop()`` and ``start()`` take the server down and bring it back on the same port.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from email import message_from_bytes
from email.message import EmailMessage as MimeMessage
from email.policy import default as default_policy
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from attrs import frozen

from bookshop_adapters.mail import SmtpSecurity, SmtpSettings

SENDER = "Bookshop <shop@books.example>"


@frozen
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: MimeMessage
    login: str | None  # the user name the client signed in with, if it did

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class _Handler:
    """Records each delivery; refuses recipients by their local part, to test refusals:
    ``reject-*@`` with 550 (permanent), ``defer-*@`` with 450 (transient)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_RCPT(
        self,
        server: SmtpProtocol,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.startswith("reject-"):
            return "550 5.1.1 No such user"
        if address.startswith("defer-"):
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SmtpProtocol, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=default_policy)
        assert isinstance(parsed, MimeMessage)
        data = session.auth_data
        login = data.login.decode() if isinstance(data, LoginPassword) else None
        with self._lock:
            self.received.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message=parsed,
                    login=login,
                )
            )
        return "250 Message accepted"


def free_port() -> int:
    """A TCP port nothing listens on (right now) on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpTestServer:
    """aiosmtpd on ``127.0.0.1``, plain, STARTTLS or implicit TLS, optionally with logins.

    Args:
        certificate: ``(cert_pem_path, key_pem_path)`` to offer TLS with.
        security: What TLS the server speaks (STARTTLS offers and requires it).
        users: ``{user: password}``; when given, a login is required to send.
    """

    def __init__(
        self,
        *,
        certificate: tuple[Path, Path] | None = None,
        security: SmtpSecurity = SmtpSecurity.NONE,
        users: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.security = security
        self.certificate = certificate
        self.users = users
        self.handler = _Handler()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def settings(self, **overrides: Any) -> SmtpSettings:
        """Settings for a mailer that talks to this server (overridable)."""
        options: dict[str, Any] = {
            "sender": SENDER,
            "host": "127.0.0.1",
            "port": self.port,
            "security": self.security,
            "timeout": 10.0,
            "local_hostname": "client.test",
        }
        if self.certificate is not None:
            options["ca_file"] = str(self.certificate[0])
        options.update(overrides)
        return SmtpSettings(**options)

    def _authenticate(
        self,
        server: SmtpProtocol,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        users = self.users or {}
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if users.get(user) == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        context = None
        if self.certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.certificate))
        if self.security is SmtpSecurity.STARTTLS:
            kwargs.update(tls_context=context, require_starttls=True)
        elif self.security is SmtpSecurity.TLS:
            kwargs.update(ssl_context=context)
        if self.users is not None:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=self.security is not SmtpSecurity.NONE,
            )
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            ready_timeout=30,
            **kwargs,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A fresh key and a self-signed certificate for ``localhost`` and ``127.0.0.1``, as PEM
    files in ``directory``: ``(certificate, key)``. The certificate is its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
