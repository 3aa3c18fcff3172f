"""Sign in with GitHub: OAuth 2 authorization code with PKCE, then the REST API.

The user's id (``/user``) is the subject; the email is the *primary* address from
``/user/emails`` with GitHub's own ``verified`` flag (the public profile email says nothing
about verification, so it is ignored).
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from bookshop_adapters.oauth._http import (
    ProviderFailure,
    add_query,
    request_json,
    translate_failures,
)
from bookshop_adapters.oauth.settings import OAuthProviderSettings
from bookshop_core.identity.entities import OAuthUserInfo
from bookshop_core.identity.errors import OAuthFailed

__all__ = ["GitHubOAuthProvider"]

GITHUB_API_VERSION: Final = "2022-11-28"
_MAX_FIELD = 320


def _text(value: object, *, limit: int = _MAX_FIELD) -> str | None:
    if isinstance(value, str) and value.strip() and len(value) <= limit:
        return value.strip()
    return None


class GitHubOAuthProvider:
    """The :class:`~bookshop_core.identity.oauth.OAuthProvider` for GitHub.

    Args:
        settings: Client credentials and URLs (``OAuthProviderSettings.github(...)``).
        client: The shared HTTP client (its owner closes it).
    """

    def __init__(self, settings: OAuthProviderSettings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client

    @property
    def name(self) -> str:
        """Always ``"github"``."""
        return "github"

    def authorization_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, nonce: str | None
    ) -> str:
        """GitHub's authorize URL for this flow (``nonce`` is unused: GitHub has no ID token).

        Args:
            state: The flow's single-use state.
            code_challenge: The PKCE S256 challenge.
            redirect_uri: The callback URL.
            nonce: Ignored.

        Returns:
            The URL to redirect the browser to.
        """
        params = {
            "client_id": self._settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self._settings.scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return add_query(self._settings.authorize_url, params)

    async def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str | None
    ) -> OAuthUserInfo:
        """Trade the code for an access token, then read ``/user`` and ``/user/emails``.

        Args:
            code: The callback's code.
            code_verifier: The flow's PKCE verifier.
            redirect_uri: The authorization request's redirect URI.
            nonce: Ignored.

        Returns:
            The GitHub user: id as subject, primary email and whether GitHub verified it.

        Raises:
            AuthenticationError: ``AUTH_OAUTH_FAILED`` for any failure.
        """
        async with translate_failures("github", error=OAuthFailed, message="GitHub sign-in failed"):
            access_token = await self._access_token(code, code_verifier, redirect_uri)
            api_headers = {
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {access_token}",
                "X-GitHub-Api-Version": GITHUB_API_VERSION,
            }
            api = self._settings.api_url
            _, user = await request_json(
                self._client, "GET", f"{api}/user", what="user API", headers=api_headers
            )
            _, emails = await request_json(
                self._client, "GET", f"{api}/user/emails", what="emails API", headers=api_headers
            )
            return _user_info(user, emails)

    async def _access_token(self, code: str, code_verifier: str, redirect_uri: str) -> str:
        _, answer = await request_json(
            self._client,
            "POST",
            self._settings.token_url,
            what="token endpoint",
            data={
                "client_id": self._settings.client_id,
                "client_secret": self._settings.client_secret,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
        )
        if not isinstance(answer, dict):
            raise ProviderFailure("token endpoint: answer is not an object")
        # GitHub reports a refused code (bad_verification_code, ...) with HTTP 200.
        if "error" in answer:
            error = answer["error"]
            raise ProviderFailure(f"token endpoint refused the code ({_text(error, limit=100)})")
        token = _text(answer.get("access_token"), limit=4096)
        if token is None:
            raise ProviderFailure("token endpoint: no access_token")
        token_type = answer.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise ProviderFailure("token endpoint: token_type is not bearer")
        return token


def _user_info(user: Any, emails: Any) -> OAuthUserInfo:
    if not isinstance(user, dict):
        raise ProviderFailure("user API: answer is not an object")
    user_id = user.get("id")
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
        raise ProviderFailure("user API: no numeric id")
    if not isinstance(emails, list):
        raise ProviderFailure("emails API: answer is not a list")
    email: str | None = None
    verified = False
    for entry in emails:
        if isinstance(entry, dict) and entry.get("primary") is True:
            email = _text(entry.get("email"))
            verified = email is not None and entry.get("verified") is True
            break
    return OAuthUserInfo(
        provider="github",
        subject=str(user_id),
        email=email,
        email_verified=verified,
        name=_text(user.get("name"), limit=255) or _text(user.get("login"), limit=255),
    )
