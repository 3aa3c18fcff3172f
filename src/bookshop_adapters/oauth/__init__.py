"""OAuth 2 sign-in adapters: GitHub and Google over one shared ``httpx.AsyncClient``.

Build them all from settings (or the environment) with :class:`OAuthAdapters`, which owns the
HTTP client; ``build_shop`` does this for you and closes the client with the shop::

    adapters = OAuthAdapters.from_settings(OAuthSettings.from_env())
    adapters.providers            # {"github": GitHubOAuthProvider, "google": GoogleOAuthProvider}
    adapters.google_id_tokens     # GoogleIdTokenJwksVerifier, or None without Google
    await adapters.aclose()

Every transport, JSON and token failure surfaces as
:class:`~bookshop_core.errors.AuthenticationError` with code ``AUTH_OAUTH_FAILED`` (or
``AUTH_GOOGLE_INVALID_TOKEN`` for ID tokens a client presents), never a raw exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import httpx

from bookshop_adapters.oauth._http import new_http_client
from bookshop_adapters.oauth.github import GitHubOAuthProvider
from bookshop_adapters.oauth.google import (
    GoogleIdTokenJwksVerifier,
    GoogleOAuthProvider,
    JwksKeyCache,
)
from bookshop_adapters.oauth.settings import (
    DEFAULT_TIMEOUT,
    OAuthProviderSettings,
    OAuthSettings,
)
from bookshop_core.identity.oauth import GoogleIdTokenVerifier, OAuthProvider
from bookshop_core.kernel.clock import Clock

__all__ = [
    "GitHubOAuthProvider",
    "GoogleIdTokenJwksVerifier",
    "GoogleOAuthProvider",
    "JwksKeyCache",
    "OAuthAdapters",
    "OAuthProviderSettings",
    "OAuthSettings",
    "new_http_client",
]


class OAuthAdapters:
    """The configured providers and the Google ID token verifier, sharing one HTTP client.

    Args:
        providers: The providers by name.
        google_id_tokens: The Google ID token verifier, or ``None``.
        http_client: The client they use; closed by :meth:`aclose` only when ``owns_client``.
        owns_client: Whether :meth:`aclose` closes ``http_client``.
    """

    def __init__(
        self,
        *,
        providers: Mapping[str, OAuthProvider],
        google_id_tokens: GoogleIdTokenVerifier | None,
        http_client: httpx.AsyncClient | None = None,
        owns_client: bool = False,
    ) -> None:
        self.providers: dict[str, OAuthProvider] = dict(providers)
        self.google_id_tokens = google_id_tokens
        self.http_client = http_client
        self._owns_client = owns_client

    @classmethod
    def from_settings(
        cls,
        settings: OAuthSettings,
        *,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
    ) -> OAuthAdapters:
        """Build the adapters of every configured provider.

        Args:
            settings: Which providers to offer and how to reach them.
            http_client: A client to share (the caller closes it); by default a new one is
                made (when any provider is configured) and closed by :meth:`aclose`.
            clock: The source of "now" for ID token ``exp``/``iat`` (default: system clock).

        Returns:
            The adapters; empty when no provider is configured.
        """
        configured = [s for s in (settings.github, settings.google) if s is not None]
        owns = http_client is None and bool(configured)
        client = http_client
        if client is None and configured:
            client = new_http_client(max(s.timeout for s in configured) or DEFAULT_TIMEOUT)
        providers: dict[str, OAuthProvider] = {}
        google_id_tokens: GoogleIdTokenJwksVerifier | None = None
        if settings.github is not None and client is not None:
            providers["github"] = GitHubOAuthProvider(settings.github, client)
        if settings.google is not None and client is not None:
            google_id_tokens = GoogleIdTokenJwksVerifier(settings.google, client, clock=clock)
            providers["google"] = GoogleOAuthProvider(
                settings.google, client, id_tokens=google_id_tokens
            )
        return cls(
            providers=providers,
            google_id_tokens=google_id_tokens,
            http_client=client,
            owns_client=owns,
        )

    async def aclose(self) -> None:
        """Close the HTTP client if these adapters made it."""
        if self._owns_client and self.http_client is not None:
            await self.http_client.aclose()

    async def __aenter__(self) -> OAuthAdapters:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
