"""OAuth 2 sign-in adapters: GitHub and Google over one shared ``httpx.AsyncClient``.

Build them all from settings (or the environment) with :class:`OAuthAdapters`, which owns the
HTTP client; ``build_shop`` does this for you and closes the client with the shop::

    adapters = OAuthAdapters.from_settings(OAuthSettings.from_env(os.environ))
    adapters.providers            # {"github": GitHubOAuthProvider, "google": GoogleOAuthProvider}
    adapters.google_id_tokens     # GoogleIdTokenJwksVerifier, or None without Google
    await adapters.aclose()

Every transport, JSON and token failure surfaces as
:class:`~bookshop_core.errors.AuthenticationError` with code ``AUTH_OAUTH_FAILED`` (or
``AUTH_GOOGLE_INVALID_TOKEN`` for ID tokens a client presents), never a raw exception.

The adapters need the ``oauth`` extra (``pip install 'bookshop[oauth]'``: httpx, and
cryptography for Google's RS256 ID tokens). The settings do not: importing them, or this
package, imports neither, and a missing extra surfaces as
:class:`~bookshop_adapters.extras.MissingExtra` only when an adapter is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bookshop_adapters.extras import require
from bookshop_adapters.oauth.adapters import OAuthAdapters, require_oauth_extra
from bookshop_adapters.oauth.settings import OAuthProviderSettings, OAuthSettings

if TYPE_CHECKING:
    from bookshop_adapters.oauth._http import new_http_client
    from bookshop_adapters.oauth.github import GitHubOAuthProvider
    from bookshop_adapters.oauth.google import (
        GoogleIdTokenJwksVerifier,
        GoogleOAuthProvider,
        JwksKeyCache,
    )

__all__ = [
    "GitHubOAuthProvider",
    "GoogleIdTokenJwksVerifier",
    "GoogleOAuthProvider",
    "JwksKeyCache",
    "OAuthAdapters",
    "OAuthProviderSettings",
    "OAuthSettings",
    "new_http_client",
    "require_oauth_extra",
]

# Where each provider adapter lives; imported on first access (PEP 562), so that importing
# the settings, or building a shop without OAuth, never imports httpx or cryptography.
_LAZY = {
    "GitHubOAuthProvider": "bookshop_adapters.oauth.github",
    "GoogleIdTokenJwksVerifier": "bookshop_adapters.oauth.google",
    "GoogleOAuthProvider": "bookshop_adapters.oauth.google",
    "JwksKeyCache": "bookshop_adapters.oauth.google",
    "new_http_client": "bookshop_adapters.oauth._http",
}


def __getattr__(name: str) -> Any:
    """Import a provider adapter on first use (MissingExtra without the ``oauth`` extra)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    require_oauth_extra()
    return getattr(require(module, feature="OAuth sign-in", extra="oauth"), name)
