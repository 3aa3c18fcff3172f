"""Configuration of the OAuth providers: client credentials and every provider URL.

Build the settings in code (:meth:`OAuthProviderSettings.github` / ``.google``), or read them
from environment variables with an explicit :meth:`OAuthSettings.from_env` call: the library
never calls it itself (a shop offers exactly the providers its ``ShopSettings.oauth`` names);
the example frontends do, through ``AppSettings.from_env``. Each provider has its own
variables (``PROVIDER`` is ``GITHUB`` or ``GOOGLE``); a provider whose client id is unset is
simply not configured:

=====================================  =============================================
``BOOKSHOP_<PROVIDER>_CLIENT_ID``      the OAuth client id (required to enable it)
``BOOKSHOP_<PROVIDER>_CLIENT_SECRET``  the OAuth client secret (required with the id)
``BOOKSHOP_<PROVIDER>_REDIRECT_URI``   the callback URL registered with the provider
``BOOKSHOP_<PROVIDER>_AUTHORIZE_URL``  the authorization endpoint
``BOOKSHOP_<PROVIDER>_TOKEN_URL``      the token endpoint
``BOOKSHOP_GITHUB_API_URL``            GitHub's REST API base (``/user``, ``/user/emails``)
``BOOKSHOP_GOOGLE_JWKS_URL``           Google's signing keys (JWKS)
``BOOKSHOP_GOOGLE_ISSUERS``            accepted ``iss`` values, comma-separated
``BOOKSHOP_GOOGLE_EXTRA_AUDIENCES``    client ids besides ``CLIENT_ID`` accepted as ``aud``
``BOOKSHOP_OAUTH_TIMEOUT``             seconds per provider request (default 10)
=====================================  =============================================

The URLs default to the real GitHub and Google endpoints; tests point them at
:class:`bookshop_adapters.testing.fake_oauth.FakeOAuthServer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from attrs import field, frozen

__all__ = [
    "DEFAULT_TIMEOUT",
    "GITHUB_API_URL",
    "GITHUB_AUTHORIZE_URL",
    "GITHUB_TOKEN_URL",
    "GOOGLE_AUTHORIZE_URL",
    "GOOGLE_ISSUERS",
    "GOOGLE_JWKS_URL",
    "GOOGLE_TOKEN_URL",
    "OAuthProviderSettings",
    "OAuthSettings",
]

GITHUB_AUTHORIZE_URL: Final = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN_URL: Final = "https://github.com/login/oauth/access_token"
GITHUB_API_URL: Final = "https://api.github.com"

GOOGLE_AUTHORIZE_URL: Final = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL: Final = "https://oauth2.googleapis.com/token"
GOOGLE_JWKS_URL: Final = "https://www.googleapis.com/oauth2/v3/certs"
#: Google documents both spellings of its issuer.
GOOGLE_ISSUERS: Final = ("https://accounts.google.com", "accounts.google.com")

#: Seconds allowed for each request to a provider.
DEFAULT_TIMEOUT: Final = 10.0


def _tuple(values: object) -> tuple[str, ...]:
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, list | tuple):
        raise TypeError("expected a sequence of strings")
    return tuple(str(v).strip() for v in values if str(v).strip())


@frozen
class OAuthProviderSettings:
    """One provider's client credentials and endpoints.

    Build it with :meth:`github` or :meth:`google` (real endpoints by default, each one
    overridable), or from the environment with :meth:`from_env`.

    Args:
        provider: ``"github"`` or ``"google"``.
        client_id: The OAuth client id.
        client_secret: The OAuth client secret (kept out of ``repr``).
        authorize_url: The authorization endpoint the browser is sent to.
        token_url: The token endpoint the code is exchanged at.
        api_url: GitHub's REST API base URL (unused for Google).
        jwks_url: Google's JWKS URL (unused for GitHub).
        issuers: Accepted ID token issuers (Google).
        extra_audiences: Further client ids accepted as an ID token's ``aud`` (Google), e.g.
            the web client's id when it differs from the server's.
        scopes: The scopes to ask for.
        redirect_uri: The registered callback URL, for frontends that do not build it from the
            request (``OAuthLogin.begin`` takes the redirect URI explicitly).
        timeout: Seconds allowed for each request to the provider.
    """

    provider: str
    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str
    token_url: str
    api_url: str = ""
    jwks_url: str = ""
    issuers: tuple[str, ...] = field(default=(), converter=_tuple)
    extra_audiences: tuple[str, ...] = field(default=(), converter=_tuple)
    scopes: tuple[str, ...] = field(default=(), converter=_tuple)
    redirect_uri: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __attrs_post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ValueError(f"{self.provider}: client_id and client_secret are required")
        if self.timeout <= 0:
            raise ValueError(f"{self.provider}: timeout must be positive")

    @property
    def audiences(self) -> tuple[str, ...]:
        """Every accepted ID token audience: the client id first."""
        return (self.client_id, *self.extra_audiences)

    @classmethod
    def github(
        cls,
        client_id: str,
        client_secret: str,
        *,
        authorize_url: str = GITHUB_AUTHORIZE_URL,
        token_url: str = GITHUB_TOKEN_URL,
        api_url: str = GITHUB_API_URL,
        scopes: tuple[str, ...] = ("read:user", "user:email"),
        redirect_uri: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> OAuthProviderSettings:
        """Settings for GitHub (an OAuth app or a GitHub app's user authorization).

        Args:
            client_id: The app's client id.
            client_secret: The app's client secret.
            authorize_url: Override of ``https://github.com/login/oauth/authorize``.
            token_url: Override of ``https://github.com/login/oauth/access_token``.
            api_url: Override of ``https://api.github.com`` (e.g. GitHub Enterprise).
            scopes: Scopes to request; ``user:email`` is needed to read the emails.
            redirect_uri: The registered callback URL, if fixed.
            timeout: Seconds per request.

        Returns:
            The settings.
        """
        return cls(
            provider="github",
            client_id=client_id,
            client_secret=client_secret,
            authorize_url=authorize_url,
            token_url=token_url,
            api_url=api_url.rstrip("/"),
            scopes=scopes,
            redirect_uri=redirect_uri,
            timeout=timeout,
        )

    @classmethod
    def google(
        cls,
        client_id: str,
        client_secret: str,
        *,
        authorize_url: str = GOOGLE_AUTHORIZE_URL,
        token_url: str = GOOGLE_TOKEN_URL,
        jwks_url: str = GOOGLE_JWKS_URL,
        issuers: tuple[str, ...] = GOOGLE_ISSUERS,
        extra_audiences: tuple[str, ...] = (),
        scopes: tuple[str, ...] = ("openid", "email", "profile"),
        redirect_uri: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> OAuthProviderSettings:
        """Settings for Google (OpenID Connect).

        Args:
            client_id: The OAuth client id; also the ID token audience.
            client_secret: The client secret.
            authorize_url: Override of the authorization endpoint.
            token_url: Override of the token endpoint.
            jwks_url: Override of the JWKS URI.
            issuers: Accepted ``iss`` values.
            extra_audiences: Other client ids accepted as ``aud``.
            scopes: Scopes to request (``openid email`` at least).
            redirect_uri: The registered callback URL, if fixed.
            timeout: Seconds per request.

        Returns:
            The settings.
        """
        return cls(
            provider="google",
            client_id=client_id,
            client_secret=client_secret,
            authorize_url=authorize_url,
            token_url=token_url,
            jwks_url=jwks_url,
            issuers=issuers,
            extra_audiences=extra_audiences,
            scopes=scopes,
            redirect_uri=redirect_uri,
            timeout=timeout,
        )

    @classmethod
    def from_env(cls, provider: str, environ: Mapping[str, str]) -> OAuthProviderSettings | None:
        """Read ``BOOKSHOP_<PROVIDER>_*`` variables (see the module docstring).

        Args:
            provider: ``"github"`` or ``"google"``.
            environ: The variables to read: the library reads no environment of its own, so
                a frontend passes ``os.environ`` (or any mapping).

        Returns:
            The settings, or ``None`` when ``BOOKSHOP_<PROVIDER>_CLIENT_ID`` is unset or empty.

        Raises:
            ValueError: an unknown provider, a client id without a secret, a bad timeout.
        """

        prefix = f"BOOKSHOP_{provider.upper()}_"

        def get(name: str) -> str | None:
            value = environ.get(prefix + name, "").strip()
            return value or None

        client_id = get("CLIENT_ID")
        if client_id is None:
            return None
        client_secret = get("CLIENT_SECRET")
        if client_secret is None:
            raise ValueError(f"{prefix}CLIENT_SECRET must be set with {prefix}CLIENT_ID")
        raw_timeout = environ.get("BOOKSHOP_OAUTH_TIMEOUT", "").strip()
        try:
            timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT
        except ValueError:
            raise ValueError("BOOKSHOP_OAUTH_TIMEOUT must be a number of seconds") from None
        if provider == "github":
            return cls.github(
                client_id,
                client_secret,
                authorize_url=get("AUTHORIZE_URL") or GITHUB_AUTHORIZE_URL,
                token_url=get("TOKEN_URL") or GITHUB_TOKEN_URL,
                api_url=get("API_URL") or GITHUB_API_URL,
                redirect_uri=get("REDIRECT_URI"),
                timeout=timeout,
            )
        if provider == "google":
            issuers = get("ISSUERS")
            return cls.google(
                client_id,
                client_secret,
                authorize_url=get("AUTHORIZE_URL") or GOOGLE_AUTHORIZE_URL,
                token_url=get("TOKEN_URL") or GOOGLE_TOKEN_URL,
                jwks_url=get("JWKS_URL") or GOOGLE_JWKS_URL,
                issuers=_tuple(issuers) if issuers else GOOGLE_ISSUERS,
                extra_audiences=_tuple(get("EXTRA_AUDIENCES") or ""),
                redirect_uri=get("REDIRECT_URI"),
                timeout=timeout,
            )
        raise ValueError(f"unknown OAuth provider {provider!r}; use 'github' or 'google'")


@frozen
class OAuthSettings:
    """Which OAuth providers the shop offers.

    Args:
        github: GitHub's settings, or ``None`` to leave GitHub sign-in off.
        google: Google's settings, or ``None`` to leave Google sign-in off (and the ID token
            exchange with it).
    """

    github: OAuthProviderSettings | None = None
    google: OAuthProviderSettings | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OAuthSettings:
        """Read every provider's ``BOOKSHOP_<PROVIDER>_*`` variables.

        Args:
            environ: The variables to read: the library reads no environment of its own, so
                a frontend passes ``os.environ`` (or any mapping).

        Returns:
            The settings; providers without a client id are left off.

        Raises:
            ValueError: a provider is half-configured or a value is malformed.
        """
        return cls(
            github=OAuthProviderSettings.from_env("github", environ),
            google=OAuthProviderSettings.from_env("google", environ),
        )

    @property
    def any_configured(self) -> bool:
        """Whether at least one provider is configured."""
        return self.github is not None or self.google is not None
