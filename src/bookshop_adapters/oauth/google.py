"""Sign in with Google: OpenID Connect authorization code with PKCE and nonce, and ID tokens.

An ID token is trusted only when all of these hold:

- its header names algorithm ``RS256`` (pinned: ``none``, ``HS*`` and others are refused) and a
  ``kid`` found in Google's JWKS (fetched over HTTP, cached, refetched on an unknown ``kid``);
- the RS256 signature verifies with that key;
- ``iss`` is one of the configured issuers (``https://accounts.google.com`` or
  ``accounts.google.com``), ``aud`` is the client id (or an extra accepted audience; with
  several audiences ``azp`` must be one of ours too);
- ``exp`` is in the future and ``iat`` not in the future (one minute of leeway for skew);
- ``nonce`` equals the expected one, when one is expected;
- ``sub`` is present. ``email_verified`` is read as Google sends it (``true`` or ``"true"``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

import httpx
import jwt

from bookshop_adapters.oauth._http import (
    ProviderFailure,
    add_query,
    request_json,
    translate_failures,
)
from bookshop_adapters.oauth.settings import OAuthProviderSettings
from bookshop_core.identity.entities import OAuthUserInfo
from bookshop_core.identity.errors import GoogleTokenInvalid, OAuthFailed
from bookshop_core.kernel.clock import Clock, SystemClock

__all__ = ["GoogleIdTokenJwksVerifier", "GoogleOAuthProvider", "JwksKeyCache"]

log = logging.getLogger("bookshop.adapters.oauth")

ALGORITHM: Final = "RS256"
#: Clock skew tolerated between Google and us.
LEEWAY: Final = timedelta(seconds=60)
_MAX_CLAIM = 320


class JwksKeyCache:
    """Google's public signing keys by ``kid``, fetched through the shared HTTP client.

    Keys are used for ``max_age`` after each fetch. Google publishes a new key well before
    signing with it, and an unknown ``kid`` triggers a refetch anyway, at most once per
    ``refetch_cooldown`` so that tokens with made-up key ids cannot make us hammer the JWKS
    endpoint. Concurrent misses share one fetch.

    Args:
        client: The shared HTTP client.
        url: The JWKS URI.
        max_age: How long fetched keys are used without refetching.
        refetch_cooldown: The least time between two fetches caused by unknown key ids.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        max_age: timedelta = timedelta(hours=1),
        refetch_cooldown: timedelta = timedelta(seconds=10),
    ) -> None:
        self._client = client
        self._url = url
        self._max_age = max_age.total_seconds()
        self._cooldown = refetch_cooldown.total_seconds()
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> Any:
        """The public key with id ``kid``.

        Args:
            kid: The ``kid`` header of a token.

        Returns:
            A public key usable with PyJWT.

        Raises:
            ProviderFailure: no such key, even after a refetch (or within the cooldown).
            httpx.HTTPError: the JWKS could not be fetched.
        """
        key = self._fresh(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._fresh(kid)  # another task may have refetched meanwhile
            if key is not None:
                return key
            now = time.monotonic()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
            cooled = self._fetched_at is None or now - self._fetched_at >= self._cooldown
            if stale or (kid not in self._keys and cooled):
                await self._fetch()
        key = self._keys.get(kid)
        if key is None:
            raise ProviderFailure("ID token signed with an unknown key")
        return key

    def _fresh(self, kid: str) -> Any:
        if self._fetched_at is None or time.monotonic() - self._fetched_at >= self._max_age:
            return None
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        _, document = await request_json(self._client, "GET", self._url, what="JWKS")
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ProviderFailure("JWKS: no keys list")
        keys: dict[str, Any] = {}
        for entry in document["keys"]:
            if not isinstance(entry, dict):
                continue
            kid = entry.get("kid")
            if (
                not isinstance(kid, str)
                or entry.get("kty") != "RSA"
                or entry.get("use", "sig") != "sig"
                or entry.get("alg", ALGORITHM) != ALGORITHM
            ):
                continue
            try:
                keys[kid] = jwt.PyJWK(entry, algorithm=ALGORITHM).key
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                log.warning("JWKS: skipping unusable key %r", kid)
        self._keys = keys
        self._fetched_at = time.monotonic()


def _text(value: object, *, limit: int = _MAX_CLAIM) -> str | None:
    if isinstance(value, str) and value.strip() and len(value) <= limit:
        return value.strip()
    return None


class GoogleIdTokenJwksVerifier:
    """The :class:`~bookshop_core.identity.oauth.GoogleIdTokenVerifier`: PyJWT + Google's JWKS.

    Args:
        settings: Google's settings (client id as audience, issuers, JWKS URL).
        client: The shared HTTP client.
        clock: The source of "now" for ``exp``/``iat`` (default: the system clock).
        keys: The key cache (default: one on ``settings.jwks_url``).
    """

    def __init__(
        self,
        settings: OAuthProviderSettings,
        client: httpx.AsyncClient,
        *,
        clock: Clock | None = None,
        keys: JwksKeyCache | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()
        self._keys = keys or JwksKeyCache(client, settings.jwks_url)

    async def verify_id_token(self, id_token: str, *, nonce: str | None = None) -> OAuthUserInfo:
        """Verify a Google ID token (see the module docstring for every check).

        Args:
            id_token: The compact JWS.
            nonce: When given, the token's ``nonce`` must equal it.

        Returns:
            Who the token names (provider ``"google"``).

        Raises:
            AuthenticationError: ``AUTH_GOOGLE_INVALID_TOKEN`` for any failure, including an
                unreachable JWKS.
        """
        async with translate_failures(
            "google", error=GoogleTokenInvalid, message="Invalid Google ID token"
        ):
            return await self.check(id_token, nonce=nonce)

    async def check(self, id_token: str, *, nonce: str | None) -> OAuthUserInfo:
        """Verify ``id_token``, letting failures out untranslated (for the adapters' use).

        Args:
            id_token: The compact JWS.
            nonce: The expected nonce, or ``None`` to not check it.

        Returns:
            Who the token names.

        Raises:
            ProviderFailure, jwt.PyJWTError, httpx.HTTPError: the token cannot be trusted.
        """
        header = jwt.get_unverified_header(id_token)
        if header.get("alg") != ALGORITHM:
            raise ProviderFailure(f"ID token algorithm is not {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ProviderFailure("ID token has no key id")
        key = await self._keys.get(kid)
        claims: Mapping[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=[ALGORITHM],
            audience=list(self._settings.audiences),
            issuer=list(self._settings.issuers),
            options={
                "require": ["iss", "aud", "sub", "exp", "iat"],
                # Time is checked below against the injected clock.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        self._check_time(claims)
        self._check_audience(claims)
        if nonce is not None:
            got = claims.get("nonce")
            if not isinstance(got, str) or not hmac.compare_digest(
                got.encode("utf-8"), nonce.encode("utf-8")
            ):
                raise ProviderFailure("ID token nonce does not match")
        subject = _text(claims.get("sub"), limit=255)
        if subject is None:
            raise ProviderFailure("ID token has no subject")
        email = _text(claims.get("email"))
        verified = claims.get("email_verified")
        return OAuthUserInfo(
            provider="google",
            subject=subject,
            email=email,
            email_verified=email is not None and (verified is True or verified == "true"),
            name=_text(claims.get("name"), limit=255),
        )

    def _check_time(self, claims: Mapping[str, Any]) -> None:
        now = self._clock.now().timestamp()
        leeway = LEEWAY.total_seconds()
        exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
        if exp is None or iat is None:
            raise ProviderFailure("ID token exp/iat are not numbers")
        if exp <= now - leeway:
            raise ProviderFailure("ID token expired")
        if iat > now + leeway:
            raise ProviderFailure("ID token issued in the future")
        if "nbf" in claims:
            nbf = _number(claims["nbf"])
            if nbf is None or nbf > now + leeway:
                raise ProviderFailure("ID token not yet valid")

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        aud = claims.get("aud")
        # OpenID Connect Core 3.1.3.7: several audiences require an azp that is ours.
        several = isinstance(aud, list) and len(aud) > 1
        if several and claims.get("azp") not in self._settings.audiences:
            raise ProviderFailure("ID token azp is not an accepted client")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class GoogleOAuthProvider:
    """The :class:`~bookshop_core.identity.oauth.OAuthProvider` for Google (OpenID Connect).

    Args:
        settings: Client credentials and URLs (``OAuthProviderSettings.google(...)``).
        client: The shared HTTP client (its owner closes it).
        id_tokens: The ID token verifier (default: one on the same settings and client).
    """

    def __init__(
        self,
        settings: OAuthProviderSettings,
        client: httpx.AsyncClient,
        *,
        id_tokens: GoogleIdTokenJwksVerifier | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._id_tokens = id_tokens or GoogleIdTokenJwksVerifier(settings, client)

    @property
    def name(self) -> str:
        """Always ``"google"``."""
        return "google"

    @property
    def id_tokens(self) -> GoogleIdTokenJwksVerifier:
        """The verifier this provider checks ID tokens with."""
        return self._id_tokens

    def authorization_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, nonce: str | None
    ) -> str:
        """Google's authorization URL for this flow.

        Args:
            state: The flow's single-use state.
            code_challenge: The PKCE S256 challenge.
            redirect_uri: The callback URL.
            nonce: The nonce the ID token must carry.

        Returns:
            The URL to redirect the browser to.
        """
        params = {
            "response_type": "code",
            "client_id": self._settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self._settings.scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if nonce is not None:
            params["nonce"] = nonce
        return add_query(self._settings.authorize_url, params)

    async def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str | None
    ) -> OAuthUserInfo:
        """Trade the code at the token endpoint and verify the ID token it returns.

        Args:
            code: The callback's code.
            code_verifier: The flow's PKCE verifier.
            redirect_uri: The authorization request's redirect URI.
            nonce: The flow's nonce; the ID token must carry it.

        Returns:
            Who signed in, from the verified ID token.

        Raises:
            AuthenticationError: ``AUTH_OAUTH_FAILED`` for any failure (refused code, bad
                verifier, provider error, invalid ID token).
        """
        async with translate_failures("google", error=OAuthFailed, message="Google sign-in failed"):
            _, answer = await request_json(
                self._client,
                "POST",
                self._settings.token_url,
                what="token endpoint",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "client_id": self._settings.client_id,
                    "client_secret": self._settings.client_secret,
                    "redirect_uri": redirect_uri,
                    "code_verifier": code_verifier,
                },
            )
            if not isinstance(answer, dict):
                raise ProviderFailure("token endpoint: answer is not an object")
            id_token = _text(answer.get("id_token"), limit=16_384)
            if id_token is None:
                raise ProviderFailure("token endpoint: no id_token")
            return await self._id_tokens.check(id_token, nonce=nonce)
