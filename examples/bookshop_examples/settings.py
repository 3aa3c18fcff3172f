"""The frontends' configuration, read from the environment in exactly one place.

The library reads no environment variable; the example HTTP app and the ``bookshop`` command
do, through :meth:`AppSettings.from_env`, and hand the result to ``build_shop`` as arguments:

======================================  ==========================================================
``BOOKSHOP_DATABASE_URL``               the store (default ``sqlite+aiosqlite:///bookshop.db``, a
                                        file in the working directory)
``BOOKSHOP_JWT_SECRET``                 the HS256 secret of access tokens (at least 32 bytes);
                                        unset, each process makes a random one (the HTTP app
                                        warns: tokens then die with the process)
``BOOKSHOP_UPLOAD_DIR``                 where uploaded cover images are written (default
                                        ``uploads``, created on the first upload)
``BOOKSHOP_PUBLIC_URL``                 the app's public base URL, e.g. ``https://shop.example``
                                        (uploaded image URLs and OAuth callback URLs)
``BOOKSHOP_ALLOWED_HOSTS``              without a public URL, the ``Host`` names (comma-separated)
                                        OAuth callback URLs may be built from (default
                                        ``localhost,127.0.0.1``); any other host is refused
``BOOKSHOP_CORS_ORIGINS``               browser origins allowed with credentials, comma-separated
                                        (default the web client's dev origins)
``BOOKSHOP_<PROVIDER>_*``               OAuth providers (GitHub, Google), including each one's
                                        fixed ``REDIRECT_URI``: see
                                        :mod:`bookshop_adapters.oauth.settings`
``BOOKSHOP_STORE_CONNECT_TIMEOUT``      seconds to open a store connection (default 10)
``BOOKSHOP_STORE_STATEMENT_TIMEOUT``    seconds per statement, PostgreSQL (default 30)
``BOOKSHOP_STORE_NETWORK_GRACE``        seconds the client waits past the statement timeout for
                                        a PostgreSQL server that does not answer (default 2)
``BOOKSHOP_STORE_POOL_TIMEOUT``         seconds to wait for a free pooled connection (default 30)
``BOOKSHOP_STORE_LOCK_TIMEOUT``         seconds to wait for SQLite's write lock (default 30)
``BOOKSHOP_STORE_PING_TIMEOUT``         seconds for a whole health check (default 5); see
                                        :class:`~bookshop_adapters.sqlalchemy.StoreTimeouts`
``BOOKSHOP_MAX_BODY_BYTES``             the HTTP app's largest request body on a route without a
                                        limit of its own (default 262144, 256 KiB)
``BOOKSHOP_SMTP_*``                     the mail server (``HOST``, ``PORT``, ``SECURITY``,
                                        ``SENDER``, ``USERNAME``, ``PASSWORD``, ``TIMEOUT``,
                                        ...: see :meth:`SmtpSettings.from_env
                                        <bookshop_adapters.mail.SmtpSettings.from_env>`); unset
                                        ``HOST``: no mail is sent, queued emails wait. With it,
                                        ``BOOKSHOP_PUBLIC_URL`` is required (links in emails)
``BOOKSHOP_MAIL_TIME_ZONE``             the IANA zone emails show dates in (default ``UTC``)
``BOOKSHOP_MAIL_SHOP_NAME``             the shop's name as emails say it (default ``Bookshop``)
``BOOKSHOP_ANALYTICS_TIME_ZONE``        the IANA zone whose midnight, Monday and 1st begin the
                                        admin reports' periods (default ``UTC``)
======================================  ==========================================================
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from attrs import field, frozen
from attrs.validators import gt, optional

from bookshop_adapters import ShopSettings
from bookshop_adapters.mail import MailTemplateSettings, SmtpSettings
from bookshop_adapters.oauth import OAuthSettings
from bookshop_core.analytics import AnalyticsSettings
from bookshop_core.notifications import Mailer

if TYPE_CHECKING:  # the SQL adapter is imported only when a store bound is configured
    from bookshop_adapters.sqlalchemy import StoreTimeouts

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_CORS_ORIGINS",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_UPLOAD_DIR",
    "STORE_TIMEOUT_VARIABLES",
    "AppSettings",
]

#: The frontends' store when none is configured: an embedded SQLite file here.
DEFAULT_DATABASE_URL: Final = "sqlite+aiosqlite:///bookshop.db"
DEFAULT_UPLOAD_DIR: Final = "uploads"
DEFAULT_ALLOWED_HOSTS: Final = ("localhost", "127.0.0.1")
DEFAULT_CORS_ORIGINS: Final = ("http://localhost:3000", "http://127.0.0.1:3000")
#: Each ``BOOKSHOP_STORE_*`` variable and the :class:`StoreTimeouts` field it sets.
STORE_TIMEOUT_VARIABLES: Final = {
    "BOOKSHOP_STORE_CONNECT_TIMEOUT": "connect",
    "BOOKSHOP_STORE_STATEMENT_TIMEOUT": "statement",
    "BOOKSHOP_STORE_NETWORK_GRACE": "network_grace",
    "BOOKSHOP_STORE_POOL_TIMEOUT": "pool",
    "BOOKSHOP_STORE_LOCK_TIMEOUT": "lock",
    "BOOKSHOP_STORE_PING_TIMEOUT": "ping",
}

_log = logging.getLogger("bookshop.settings")


def _names(values: Sequence[str] | str) -> tuple[str, ...]:
    """Comma-separated or listed names, trimmed, blanks dropped."""
    items = values.split(",") if isinstance(values, str) else values
    return tuple(item.strip() for item in items if item.strip())


def _store_timeouts(env: Mapping[str, str]) -> StoreTimeouts | None:
    """The ``BOOKSHOP_STORE_*`` bounds that are set, the rest at their defaults; ``None``
    when none is set (the library's defaults).

    Raises:
        ValueError: a value that is not a positive number of seconds (naming the variable).
    """
    given: dict[str, float] = {}
    for variable, name in STORE_TIMEOUT_VARIABLES.items():
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        try:
            seconds = float(raw)
        except ValueError:
            seconds = 0.0
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"{variable} must be a positive number of seconds, not {raw!r}")
        given[name] = seconds
    if not given:
        return None
    from bookshop_adapters.sqlalchemy import StoreTimeouts

    return StoreTimeouts(**given)


def _positive_int(env: Mapping[str, str], variable: str) -> int | None:
    """A positive whole number from ``variable``, or ``None`` when it is unset or blank.

    Raises:
        ValueError: anything else (naming the variable).
    """
    raw = env.get(variable, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{variable} must be a positive whole number, not {raw!r}")
    return int(raw)


def _check_analytics_time_zone(_instance: object, _attribute: object, zone: str) -> None:
    """Refuse a report time zone now, naming its variable, rather than at the first command
    (where it would read as a bad database URL) or at the app's startup."""
    try:
        AnalyticsSettings(time_zone=zone)
    except ValueError:
        raise ValueError(
            "BOOKSHOP_ANALYTICS_TIME_ZONE must be an IANA time zone such as UTC or "
            f"Europe/Berlin, not {zone!r}"
        ) from None


@frozen
class AppSettings:
    """Everything the example frontends are configured with.

    Args:
        database_url: The store: ``memory://``, ``sqlite+aiosqlite:///PATH`` or
            ``postgresql+asyncpg://...``.
        jwt_secret: The HS256 secret of access tokens, or ``None`` for a random one per
            process.
        upload_dir: Where uploaded cover images are written.
        public_url: The app's public base URL (scheme, host, any path prefix), or ``None`` to
            build URLs from each request.
        allowed_hosts: Without ``public_url``, the only ``Host`` names OAuth callback URLs are
            built from.
        cors_origins: Browser origins allowed to call the API with credentials.
        oauth: The OAuth providers to offer.
        store_timeouts: The bounds on every wait for an SQL store, or ``None`` for the
            library's defaults.
        max_body_bytes: The HTTP app's largest request body on a route without a limit of
            its own, or ``None`` for the app's default (256 KiB).
        smtp: The mail server queued emails are sent through, or ``None``: emails are still
            queued, and wait until a process with a mail server sends them.
        mail_time_zone: The IANA zone emails show dates and times in.
        mail_shop_name: The shop's name as emails say it.
        analytics_time_zone: The IANA zone the admin reports' periods begin in.

    Raises:
        ValueError: ``smtp`` without ``public_url`` (emails link to the shop), or an unknown
            ``mail_time_zone`` or ``analytics_time_zone``.
    """

    database_url: str = DEFAULT_DATABASE_URL
    jwt_secret: str | None = field(default=None, repr=False)
    upload_dir: str = DEFAULT_UPLOAD_DIR
    public_url: str | None = None
    allowed_hosts: tuple[str, ...] = field(default=DEFAULT_ALLOWED_HOSTS, converter=_names)
    cors_origins: tuple[str, ...] = field(default=DEFAULT_CORS_ORIGINS, converter=_names)
    oauth: OAuthSettings = field(factory=OAuthSettings)
    store_timeouts: StoreTimeouts | None = None
    max_body_bytes: int | None = field(default=None, validator=optional(gt(0)))
    smtp: SmtpSettings | None = None
    mail_time_zone: str = "UTC"
    mail_shop_name: str = "Bookshop"
    analytics_time_zone: str = field(default="UTC", validator=_check_analytics_time_zone)

    def __attrs_post_init__(self) -> None:
        self.mail_templates()  # refuse a mail configuration that cannot render now, not later

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppSettings:
        """Read the ``BOOKSHOP_*`` variables of the module docstring; unset or blank ones
        keep their defaults.

        Args:
            environ: The variables to read (default: ``os.environ``).

        Returns:
            The settings.

        Raises:
            ValueError: a half-configured OAuth provider or a malformed value (a bound or
                body size that is not a positive number, an unknown time zone).
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(f"BOOKSHOP_{name}", "").strip() or None

        defaults = cls()
        return cls(
            database_url=get("DATABASE_URL") or defaults.database_url,
            jwt_secret=get("JWT_SECRET"),
            upload_dir=get("UPLOAD_DIR") or defaults.upload_dir,
            public_url=get("PUBLIC_URL"),
            allowed_hosts=get("ALLOWED_HOSTS") or defaults.allowed_hosts,
            cors_origins=_names(env.get("BOOKSHOP_CORS_ORIGINS", ",".join(DEFAULT_CORS_ORIGINS))),
            oauth=OAuthSettings.from_env(env),
            store_timeouts=_store_timeouts(env),
            max_body_bytes=_positive_int(env, "BOOKSHOP_MAX_BODY_BYTES"),
            smtp=SmtpSettings.from_env(env),
            mail_time_zone=get("MAIL_TIME_ZONE") or defaults.mail_time_zone,
            mail_shop_name=get("MAIL_SHOP_NAME") or defaults.mail_shop_name,
            analytics_time_zone=get("ANALYTICS_TIME_ZONE") or defaults.analytics_time_zone,
        )

    def mail_templates(self) -> MailTemplateSettings | None:
        """How emails render (links start at ``public_url``), or ``None`` without a mail
        server (nothing is rendered, and the ``mail`` extra is not needed).

        Raises:
            ValueError: a mail server without ``public_url``, or an unknown time zone.
        """
        if self.smtp is None:
            return None
        if self.public_url is None:
            raise ValueError(
                "BOOKSHOP_SMTP_HOST is set but BOOKSHOP_PUBLIC_URL is not: emails link to the "
                "shop, so its public URL is needed"
            )
        return MailTemplateSettings(
            base_url=self.public_url,
            currency=ShopSettings().currency,
            time_zone=self.mail_time_zone,
            shop_name=self.mail_shop_name,
        )

    def mailer(self) -> Mailer | None:
        """An SMTP mailer on ``smtp``, or ``None`` when no mail server is configured.

        Raises:
            MissingExtra: ``smtp`` is set but the ``mail`` extra is not installed.
        """
        if self.smtp is None:
            return None
        from bookshop_adapters.mail import SmtpMailer

        return SmtpMailer(self.smtp)

    def shop_settings(self) -> ShopSettings:
        """What ``build_shop`` needs of these settings (with :meth:`mailer`)."""
        return ShopSettings(
            upload_dir=self.upload_dir,
            jwt_secret=self.jwt_secret,
            oauth=self.oauth,
            store_timeouts=self.store_timeouts,
            mail_templates=self.mail_templates(),
            analytics=AnalyticsSettings(time_zone=self.analytics_time_zone),
        )

    def warn_if_tokens_are_ephemeral(self) -> None:
        """Log a warning when no JWT secret is configured (for a frontend issuing tokens)."""
        if self.jwt_secret is None:
            _log.warning(
                "no JWT secret configured (set BOOKSHOP_JWT_SECRET): using a random one, so "
                "access tokens will not survive a restart or work across processes"
            )
