"""OAuth 2 sign-in: the provider ports, single-use ``state`` records, PKCE, and the use cases.

The browser flow is the authorization-code flow with PKCE (S256), a single-use ``state`` and,
for OpenID Connect providers (Google), a ``nonce``::

    url = await shop.oauth.begin("github", redirect_uri)          # 302 the browser there
    ...                                                           # the provider redirects back
    tokens = await shop.oauth.complete("github", code, state)     # with ?code=...&state=...

:meth:`OAuthLogin.begin` stores the ``state`` with the PKCE verifier, the nonce and the
redirect URI for ten minutes; :meth:`OAuthLogin.complete` consumes it (a replayed, unknown,
expired or other-provider state fails), lets the provider adapter exchange the code with the
verifier and return the verified :class:`OAuthUserInfo`, then signs in through
:meth:`Identity.sign_in_external <bookshop_core.identity.Identity.sign_in_external>`, which
links identities by provider + subject and by email only when the provider says it is verified.

A Google ID token that a web client obtained itself is exchanged with
:meth:`OAuthLogin.exchange_google_id_token`.

Nothing here does I/O: the adapters (``bookshop_adapters.oauth``) talk HTTP; randomness comes
from the standard library's :mod:`secrets`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final, Protocol, runtime_checkable

from attrs import frozen

from bookshop_core.errors import DomainError
from bookshop_core.identity.entities import OAuthUserInfo, TokenPair
from bookshop_core.identity.errors import (
    GoogleTokenInvalid,
    OAuthFailed,
    OAuthNotConfigured,
)
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.uow import Transactions, UnitOfWork

__all__ = [
    "OAUTH_STATE_TTL",
    "ExternalSignIn",
    "GoogleIdTokenVerifier",
    "OAuthLogin",
    "OAuthProvider",
    "OAuthState",
    "OAuthStateRepository",
    "OAuthStateUnitOfWork",
    "code_challenge_s256",
    "new_code_verifier",
    "new_nonce",
    "new_state",
]

log = logging.getLogger("bookshop.identity.oauth")

#: How long a started sign-in may take before its ``state`` is refused.
OAUTH_STATE_TTL: Final = timedelta(minutes=10)

#: The longest ``state`` (and code) a caller may present; anything longer is refused unread.
_MAX_PARAM_LENGTH: Final = 2048
#: An ID token is a JWS of three base64url parts; Google's are about 1 kB.
_MAX_ID_TOKEN_LENGTH: Final = 16_384

# RFC 7636, section 4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_VERIFIER_RE: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


# -- PKCE, state and nonce -------------------------------------------------------------------


def new_code_verifier() -> str:
    """A fresh PKCE code verifier: 64 URL-safe characters carrying 48 random bytes.

    Returns:
        A verifier valid under RFC 7636 (43 to 128 unreserved characters).
    """
    return secrets.token_urlsafe(48)


def code_challenge_s256(verifier: str) -> str:
    """The S256 code challenge of ``verifier``: ``BASE64URL(SHA256(ASCII(verifier)))``, unpadded.

    Args:
        verifier: A PKCE code verifier.

    Returns:
        The challenge to send with the authorization request.

    Raises:
        ValueError: ``verifier`` is not 43 to 128 unreserved characters.
    """
    if not _VERIFIER_RE.fullmatch(verifier):
        raise ValueError("a PKCE code verifier is 43 to 128 unreserved characters")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    """A fresh, unguessable ``state`` value (32 random bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


def new_nonce() -> str:
    """A fresh OpenID Connect ``nonce`` (32 random bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


# -- ports -----------------------------------------------------------------------------------


@runtime_checkable
class OAuthProvider(Protocol):
    """One OAuth 2 identity provider (GitHub, Google, ...), as the core sees it.

    Adapters translate every transport, JSON or token failure into
    :class:`~bookshop_core.errors.AuthenticationError` ``AUTH_OAUTH_FAILED``; they never let a
    raw exception out.
    """

    @property
    def name(self) -> str:
        """The provider's key, e.g. ``"github"``; it is also ``OAuthUserInfo.provider``."""
        ...

    def authorization_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, nonce: str | None
    ) -> str:
        """Where to send the browser to ask the user for consent.

        Args:
            state: The single-use value the callback must bring back.
            code_challenge: The PKCE S256 challenge of the flow's verifier.
            redirect_uri: The callback URL the provider redirects to.
            nonce: The OpenID Connect nonce to bind into the ID token, when the provider
                issues one (``None`` otherwise).

        Returns:
            An absolute URL.
        """
        ...

    async def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str | None
    ) -> OAuthUserInfo:
        """Trade an authorization code for the signed-in user's verified details.

        Args:
            code: The code the provider sent to the callback.
            code_verifier: The PKCE verifier whose challenge started the flow.
            redirect_uri: The same redirect URI as in the authorization request.
            nonce: The nonce sent with the authorization request, to check in the ID token.

        Returns:
            Who signed in, with the provider's word on whether the email is verified.

        Raises:
            AuthenticationError: ``AUTH_OAUTH_FAILED`` for any failure (refused code, bad
                verifier, provider error, unreadable answer, invalid ID token).
        """
        ...


@runtime_checkable
class GoogleIdTokenVerifier(Protocol):
    """Checks a Google ID token: signature (Google's JWKS), ``iss``, ``aud``, ``exp``, nonce."""

    async def verify_id_token(self, id_token: str, *, nonce: str | None = None) -> OAuthUserInfo:
        """Verify ``id_token`` and say who it names.

        Args:
            id_token: The compact JWS a Google client obtained.
            nonce: When given, the token's ``nonce`` claim must equal it.

        Returns:
            The token's subject, email, ``email_verified`` and name (provider ``"google"``).

        Raises:
            AuthenticationError: ``AUTH_GOOGLE_INVALID_TOKEN`` for any verification failure.
        """
        ...


@frozen(repr=False)
class OAuthState:
    """A started sign-in, waiting for its callback; consumed exactly once.

    Args:
        state: The random value round-tripped through the provider (the record's key).
        provider: The provider's name.
        code_verifier: The PKCE verifier (secret; never leaves the server).
        nonce: The OpenID Connect nonce, or ``None`` for providers without ID tokens.
        redirect_uri: The redirect URI of the authorization request.
        created_at: When the flow started (aware UTC).
        expires_at: After this instant the state is refused (aware UTC).
    """

    state: str
    provider: str
    code_verifier: str
    nonce: str | None
    redirect_uri: str
    created_at: datetime
    expires_at: datetime

    def __repr__(self) -> str:  # the verifier is a secret; keep it out of logs
        return (
            f"OAuthState(provider={self.provider!r}, redirect_uri={self.redirect_uri!r}, "
            f"expires_at={self.expires_at.isoformat()!r})"
        )

    def is_expired(self, now: datetime) -> bool:
        """Whether the state may no longer be used at ``now``."""
        return now >= self.expires_at


class OAuthStateRepository(Protocol):
    """Stores started sign-ins by ``state``; each can be taken once."""

    async def add(self, record: OAuthState) -> None:
        """Store a new record (``state`` values are unique random strings)."""
        ...

    async def take(self, state: str) -> OAuthState | None:
        """Remove and return the record for ``state``, atomically.

        Of two concurrent takes of the same state at most one gets the record; a replayed state
        finds nothing.

        Returns:
            The record, or ``None`` when no such state is stored (any more).
        """
        ...

    async def purge_expired(self, now: datetime) -> int:
        """Delete every record that expired at or before ``now``, in one statement.

        Returns:
            How many records were deleted.
        """
        ...


class ExternalSignIn(Protocol):
    """Signs a person in from what a provider vouched for (``Identity`` implements it)."""

    async def sign_in_external(self, info: OAuthUserInfo) -> TokenPair:
        """Link by provider + subject, else by verified email, else create the account.

        Raises:
            AuthenticationError: ``AUTH_OAUTH_NO_EMAIL``, ``AUTH_OAUTH_EMAIL_UNVERIFIED``,
                ``AUTH_USER_INACTIVE``.
        """
        ...


class OAuthStateUnitOfWork(UnitOfWork, Protocol):
    """What the OAuth use cases need from a unit of work."""

    @property
    def oauth_states(self) -> OAuthStateRepository: ...


# -- use cases -------------------------------------------------------------------------------


def _failed(message: str = "OAuth sign-in failed", **details: str) -> OAuthFailed:
    return OAuthFailed(message, details=details)


def _invalid_google_token() -> GoogleTokenInvalid:
    return GoogleTokenInvalid()


def _not_configured(provider: str) -> OAuthNotConfigured:
    return OAuthNotConfigured(
        f"OAuth provider {provider!r} is not configured", details={"provider": provider}
    )


def _plausible(value: object, max_length: int = _MAX_PARAM_LENGTH) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length and value.isascii()


class OAuthLogin:
    """Sign-in with OAuth 2 providers and Google ID tokens.

    Args:
        transactions: Opens units of work that carry ``oauth_states``.
        identity: The identity use cases (:class:`~bookshop_core.identity.Identity`), whose
            ``sign_in_external`` links or creates the account and issues the token pair.
        clock: The source of "now" for state expiry.
        providers: The configured providers by name (``"github"``, ``"google"``, ...).
        google_id_tokens: Verifies Google ID tokens for :meth:`exchange_google_id_token`;
            ``None`` when Google is not configured.
        state_ttl: How long a started sign-in stays valid (default ten minutes).
    """

    def __init__(
        self,
        transactions: Transactions[OAuthStateUnitOfWork],
        identity: ExternalSignIn,
        clock: Clock,
        *,
        providers: Mapping[str, OAuthProvider] | None = None,
        google_id_tokens: GoogleIdTokenVerifier | None = None,
        state_ttl: timedelta = OAUTH_STATE_TTL,
    ) -> None:
        self._tx = transactions
        self._identity = identity
        self._clock = utc_clock(clock)
        self._providers = dict(providers or {})
        self._google = google_id_tokens
        self._ttl = state_ttl

    @property
    def provider_names(self) -> tuple[str, ...]:
        """The names of the configured providers, sorted."""
        return tuple(sorted(self._providers))

    def is_configured(self, provider_name: str) -> bool:
        """Whether ``provider_name`` can be used for sign-in."""
        return provider_name in self._providers

    def _provider(self, provider_name: str) -> OAuthProvider:
        provider = self._providers.get(provider_name)
        if provider is None:
            raise _not_configured(provider_name)
        return provider

    async def begin(self, provider_name: str, redirect_uri: str) -> str:
        """Start a sign-in: remember a fresh state, PKCE verifier and nonce for ten minutes.

        Expired states of earlier, abandoned sign-ins are purged in the same transaction.

        Args:
            provider_name: A configured provider, e.g. ``"google"``.
            redirect_uri: The callback URL (it must be registered with the provider).

        Returns:
            The provider's authorization URL to redirect the browser to.

        Raises:
            Unavailable: ``AUTH_OAUTH_NOT_CONFIGURED`` when the provider is not configured.
            AuthenticationError: ``AUTH_OAUTH_FAILED`` for an unusable ``redirect_uri`` (not an
                absolute http(s) URL of at most 2048 ASCII characters).
        """
        provider = self._provider(provider_name)
        if not _plausible(redirect_uri) or not redirect_uri.startswith(("https://", "http://")):
            raise _failed("Invalid OAuth redirect URI")
        verifier = new_code_verifier()
        now = self._clock.now()
        record = OAuthState(
            state=new_state(),
            provider=provider_name,
            code_verifier=verifier,
            nonce=new_nonce(),
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=now + self._ttl,
        )
        url = provider.authorization_url(
            state=record.state,
            code_challenge=code_challenge_s256(verifier),
            redirect_uri=redirect_uri,
            nonce=record.nonce,
        )
        async with self._tx.write() as tx:
            await tx.uow.oauth_states.purge_expired(now)
            await tx.uow.oauth_states.add(record)
            await tx.commit()
        return url

    async def complete(self, provider_name: str, code: str, state: str) -> TokenPair:
        """Finish a sign-in from the provider's callback.

        The state is consumed first, in its own transaction, so it is spent even when the
        rest fails; the code exchange runs outside any transaction.

        Args:
            provider_name: The provider whose callback was hit.
            code: The ``code`` query parameter of the callback.
            state: The ``state`` query parameter of the callback.

        Returns:
            A fresh token pair for the linked or newly created account.

        Raises:
            Unavailable: ``AUTH_OAUTH_NOT_CONFIGURED``.
            AuthenticationError: ``AUTH_OAUTH_FAILED`` (unknown, expired, replayed or
                other-provider state; refused code; bad PKCE verifier; provider error),
                ``AUTH_OAUTH_NO_EMAIL``, ``AUTH_OAUTH_EMAIL_UNVERIFIED`` or
                ``AUTH_USER_INACTIVE`` (from :meth:`Identity.sign_in_external`).
        """
        provider = self._provider(provider_name)
        if not _plausible(state):
            raise _failed("Invalid or expired OAuth state")
        async with self._tx.write() as tx:
            record = await tx.uow.oauth_states.take(state)
            await tx.commit()
        if record is None or record.provider != provider_name:
            raise _failed("Invalid or expired OAuth state")
        if record.is_expired(self._clock.now()):
            raise _failed("Invalid or expired OAuth state")
        if not _plausible(code):
            raise _failed("Invalid OAuth authorization code")
        try:
            info = await provider.exchange_code(
                code=code,
                code_verifier=record.code_verifier,
                redirect_uri=record.redirect_uri,
                nonce=record.nonce,
            )
        except DomainError:
            raise
        except Exception as exc:  # a third-party adapter broke its contract; never leak it
            log.warning("OAuth provider %r raised %r", provider_name, exc)
            raise _failed() from exc
        if info.provider != provider_name:
            raise _failed()
        return await self._identity.sign_in_external(info)

    async def exchange_google_id_token(
        self, id_token: str, *, nonce: str | None = None
    ) -> TokenPair:
        """Sign in with a Google ID token obtained by a client (e.g. Google Identity Services).

        Args:
            id_token: The ID token (a compact JWS).
            nonce: When the client's request carried a nonce, the value it must contain.

        Returns:
            A fresh token pair for the linked or newly created account.

        Raises:
            Unavailable: ``AUTH_OAUTH_NOT_CONFIGURED`` when Google is not configured.
            AuthenticationError: ``AUTH_GOOGLE_INVALID_TOKEN`` for any verification failure;
                ``AUTH_OAUTH_NO_EMAIL``, ``AUTH_OAUTH_EMAIL_UNVERIFIED`` or
                ``AUTH_USER_INACTIVE`` (from :meth:`Identity.sign_in_external`).
        """
        if self._google is None:
            raise _not_configured("google")
        if not _plausible(id_token, _MAX_ID_TOKEN_LENGTH):
            raise _invalid_google_token()
        try:
            info = await self._google.verify_id_token(id_token, nonce=nonce)
        except GoogleTokenInvalid:
            raise
        except DomainError as exc:
            raise _invalid_google_token() from exc
        except Exception as exc:  # a third-party verifier broke its contract; never leak it
            log.warning("Google ID token verifier raised %r", exc)
            raise _invalid_google_token() from exc
        if info.provider != "google":
            raise _invalid_google_token()
        return await self._identity.sign_in_external(info)
