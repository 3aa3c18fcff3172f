"""The configured OAuth providers and Google ID token verifier over one ``httpx`` client.

The providers need the ``oauth`` extra (httpx, and cryptography for Google's RS256 ID
tokens); they are imported only when settings configure one, so the empty adapters of a shop
without OAuth (what :func:`~bookshop_adapters.bootstrap.build_shop` builds by default) need
neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from bookshop_adapters.extras import require
from bookshop_adapters.oauth.settings import DEFAULT_TIMEOUT, OAuthSettings
from bookshop_core.identity.oauth import GoogleIdTokenVerifier, OAuthProvider
from bookshop_core.kernel.clock import Clock

if TYPE_CHECKING:
    import httpx

    from bookshop_adapters.oauth.google import GoogleIdTokenJwksVerifier

__all__ = ["OAuthAdapters", "require_oauth_extra"]


def require_oauth_extra(settings: OAuthSettings | None = None) -> None:
    """Check that what the configured providers import is installed.

    Args:
        settings: The providers to check for (default: every provider, Google included).

    Raises:
        MissingExtra: httpx (any provider) or cryptography (Google's RS256 ID tokens) is
            missing: install the ``oauth`` extra.
    """
    require("httpx", feature="OAuth sign-in", extra="oauth")
    if settings is None or settings.google is not None:
        require("cryptography", feature="Google sign-in (RS256 ID tokens)", extra="oauth")


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

        Raises:
            MissingExtra: a provider is configured without the ``oauth`` extra installed.
        """
        configured = [s for s in (settings.github, settings.google) if s is not None]
        if not configured:
            return cls(providers={}, google_id_tokens=None, http_client=http_client)
        # Imported here: only a shop offering a provider needs the oauth extra.
        require_oauth_extra(settings)
        from bookshop_adapters.oauth._http import new_http_client
        from bookshop_adapters.oauth.github import GitHubOAuthProvider
        from bookshop_adapters.oauth.google import GoogleIdTokenJwksVerifier, GoogleOAuthProvider

        owns = http_client is None
        client = http_client or new_http_client(
            max(s.timeout for s in configured) or DEFAULT_TIMEOUT
        )
        providers: dict[str, OAuthProvider] = {}
        google_id_tokens: GoogleIdTokenJwksVerifier | None = None
        if settings.github is not None:
            providers["github"] = GitHubOAuthProvider(settings.github, client)
        if settings.google is not None:
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
