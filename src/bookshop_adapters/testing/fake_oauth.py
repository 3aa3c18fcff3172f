"""A fake GitHub and Google, served over real HTTP on loopback, for testing OAuth sign-in.

The real adapters (:mod:`bookshop_adapters.oauth`) talk to it exactly as they talk to the real
providers; only the URLs differ (:meth:`FakeOAuthServer.settings`). It implements:

- the authorization endpoints, auto-approving as the provider's current :class:`FakeAccount`
  (a 302 back to the redirect URI with ``code`` and ``state``; or ``error=access_denied``);
- the token endpoints, which check the client id and secret, the redirect URI, that the code
  is known and unused, and the PKCE ``code_verifier`` against the S256 challenge;
- GitHub's ``/user`` and ``/user/emails``;
- Google's JWKS (an RSA key generated at start) and signed ID tokens carrying the ``nonce``.

It can be told to misbehave: an unverified or missing email (via the account), any endpoint
failing with a status and body (:meth:`FakeProvider.fail`), and flawed ID tokens
(:class:`IdTokenFlaw`: wrong signature, audience, issuer, nonce, expired, ``alg: none``, ...).

The server runs in its own thread with its own event loop, so one instance can serve any number
of tests whatever their event loops::

    with FakeOAuthServer() as fake:
        adapters = OAuthAdapters.from_settings(fake.settings())
        url = await shop.oauth.begin("github", "http://app.test/callback")
        callback = await fake.approve(url)           # what the browser would do
        tokens = await shop.oauth.complete("github", callback.code, callback.state)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import httpx
import jwt
from attrs import define, field, frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bookshop_adapters.oauth.settings import GOOGLE_ISSUERS, OAuthProviderSettings, OAuthSettings
from bookshop_core.kernel.clock import Clock

__all__ = [
    "Callback",
    "FakeAccount",
    "FakeGitHub",
    "FakeGoogle",
    "FakeOAuthServer",
    "FakeProvider",
    "IdTokenFlaw",
    "RecordedRequest",
]

#: The issuer the fake writes into ID tokens: the real Google's, so default settings accept it.
GOOGLE_ISSUER: Final = GOOGLE_ISSUERS[0]
_READ_TIMEOUT: Final = 10.0
_MAX_BODY: Final = 1 << 20


# -- what the fake knows -----------------------------------------------------------------------


@define
class FakeAccount:
    """The person who approves at a fake provider.

    Args:
        subject: The provider's id for them (digits for GitHub, whose ids are integers).
        email: Their primary email, or ``None`` for an account that shares none.
        email_verified: Whether the provider vouches for the email.
        name: Display name.
        login: GitHub login (defaults to ``user<subject>``).
        other_emails: GitHub's further (non-primary) addresses, as ``(email, verified)``.
    """

    subject: str
    email: str | None = None
    email_verified: bool = True
    name: str | None = None
    login: str | None = None
    other_emails: list[tuple[str, bool]] = field(factory=list)


class IdTokenFlaw(enum.StrEnum):
    """Ways a fake Google ID token can be wrong."""

    WRONG_SIGNATURE = "wrong_signature"
    """Signed by another key under the published ``kid``."""
    UNKNOWN_KEY = "unknown_key"
    """Signed by a key whose ``kid`` the JWKS does not list."""
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_ISSUER = "wrong_issuer"
    EXPIRED = "expired"
    ISSUED_IN_FUTURE = "issued_in_future"
    WRONG_NONCE = "wrong_nonce"
    MISSING_NONCE = "missing_nonce"
    MISSING_SUBJECT = "missing_subject"
    ALG_NONE = "alg_none"
    """Unsigned (``alg: none``)."""
    ALG_HS256 = "alg_hs256"
    """HMAC-signed with the public key as secret (algorithm confusion)."""
    MALFORMED = "malformed"
    """Not a JWS at all."""


@frozen
class Callback:
    """Where the provider sent the browser back: the callback's query parameters.

    Attributes:
        url: The full redirect location.
        code: The authorization code (``None`` when the user denied).
        state: The state echoed back.
        error: ``access_denied`` and the like, when the provider reports an error.
    """

    url: str
    code: str | None
    state: str | None
    error: str | None = None


@frozen
class RecordedRequest:
    """One request the fake received (for assertions: what was sent where)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    form: Mapping[str, str]


@define
class _Grant:
    account: FakeAccount
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    scope: str
    used: bool = False


@define
class _Failure:
    status: int
    body: bytes
    content_type: str
    times: int | None


@frozen
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, value: Any) -> _Response:
    return _Response(status, json.dumps(value).encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _s256(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


# -- providers -----------------------------------------------------------------------------


class FakeProvider:
    """What both fake providers share: client credentials, the current account, grants,
    and the switchboard of failures.

    Args:
        name: ``"github"`` or ``"google"``.
        client_id: The client id the fake accepts.
        client_secret: The client secret the fake accepts.
        account: Who approves the next authorization.
        lock: The server's lock (the server thread and the test thread share this state).
    """

    def __init__(
        self,
        name: str,
        *,
        client_id: str,
        client_secret: str,
        account: FakeAccount,
        lock: threading.RLock,
    ) -> None:
        self.name = name
        self.client_id = client_id
        self.client_secret = client_secret
        self.account = account
        self.deny = False
        self._lock = lock
        self._grants: dict[str, _Grant] = {}
        self._failures: dict[str, _Failure] = {}
        self._delays: dict[str, float] = {}
        self.access_tokens: dict[str, FakeAccount] = {}

    def fail(
        self,
        endpoint: str,
        status: int = 500,
        body: bytes | str | Mapping[str, Any] = b"Internal Server Error",
        *,
        times: int | None = None,
    ) -> None:
        """Make ``endpoint`` answer ``status`` with ``body`` (``times`` times, or until
        :meth:`heal`).

        Args:
            endpoint: ``authorize``, ``token``, and for GitHub ``user`` and ``emails``, for
                Google ``jwks``.
            status: The HTTP status to answer (200 with garbage is a failure too).
            body: Raw bytes, text, or a mapping sent as JSON.
            times: How many requests fail; ``None`` for every request until healed.
        """
        if isinstance(body, Mapping):
            raw, content_type = json.dumps(dict(body)).encode(), "application/json"
        elif isinstance(body, str):
            raw, content_type = body.encode(), "text/plain; charset=utf-8"
        else:
            raw, content_type = body, "text/plain; charset=utf-8"
        with self._lock:
            self._failures[endpoint] = _Failure(status, raw, content_type, times)

    def stall(self, endpoint: str, seconds: float) -> None:
        """Make ``endpoint`` wait ``seconds`` before answering (until :meth:`heal`), to test
        timeouts."""
        with self._lock:
            self._delays[endpoint] = seconds

    def heal(self, endpoint: str | None = None) -> None:
        """Stop failing or stalling ``endpoint`` (every endpoint when ``None``)."""
        with self._lock:
            if endpoint is None:
                self._failures.clear()
                self._delays.clear()
            else:
                self._failures.pop(endpoint, None)
                self._delays.pop(endpoint, None)

    def _failure(self, endpoint: str) -> _Response | None:
        failure = self._failures.get(endpoint)
        if failure is None:
            return None
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                del self._failures[endpoint]
        return _Response(failure.status, failure.body, failure.content_type)

    def _authorize(self, query: Mapping[str, str], *, oidc: bool) -> _Response:
        if query.get("client_id") != self.client_id:
            return _Response(400, b"unknown client_id", "text/plain")
        redirect_uri = query.get("redirect_uri", "")
        state = query.get("state", "")
        challenge = query.get("code_challenge", "")
        if not redirect_uri.startswith(("http://", "https://")) or not state:
            return _Response(400, b"redirect_uri and state are required", "text/plain")
        if query.get("code_challenge_method") != "S256" or len(challenge) != 43:
            return _Response(400, b"PKCE with S256 is required", "text/plain")
        scope = query.get("scope", "")
        if oidc and (query.get("response_type") != "code" or "openid" not in scope.split()):
            return _Response(400, b"response_type=code and scope openid required", "text/plain")
        if self.deny:
            location = _with_query(redirect_uri, {"error": "access_denied", "state": state})
            return _Response(302, headers=(("Location", location),))
        code = secrets.token_urlsafe(24)
        self._grants[code] = _Grant(
            account=self.account,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            code_challenge=challenge,
            nonce=query.get("nonce"),
            scope=scope,
        )
        location = _with_query(redirect_uri, {"code": code, "state": state})
        return _Response(302, headers=(("Location", location),))

    def _redeem(self, form: Mapping[str, str]) -> _Grant | str:
        """The grant for a valid token request, or an OAuth error code."""
        if form.get("client_id") != self.client_id or not hmac.compare_digest(
            form.get("client_secret", "").encode(), self.client_secret.encode()
        ):
            return "invalid_client"
        grant = self._grants.get(form.get("code", ""))
        if grant is None or grant.used:
            return "invalid_grant"
        grant.used = True  # a code is single-use, whatever happens next
        if form.get("redirect_uri") != grant.redirect_uri:
            return "invalid_grant"
        verifier = form.get("code_verifier", "")
        if not verifier or not hmac.compare_digest(_s256(verifier), grant.code_challenge):
            return "invalid_grant"
        return grant


class FakeGitHub(FakeProvider):
    """The fake GitHub: ``/login/oauth/authorize``, ``/login/oauth/access_token``, and the
    API's ``/user`` and ``/user/emails``."""

    def _token(self, form: Mapping[str, str]) -> _Response:
        redeemed = self._redeem(form)
        if isinstance(redeemed, str):
            # GitHub reports refused codes with HTTP 200 and an error field.
            error = "bad_verification_code" if redeemed == "invalid_grant" else redeemed
            return _json(200, {"error": error, "error_description": "refused"})
        token = "gho_" + secrets.token_urlsafe(24)
        self.access_tokens[token] = redeemed.account
        return _json(200, {"access_token": token, "token_type": "bearer", "scope": "user:email"})

    def _account_of(self, headers: Mapping[str, str]) -> FakeAccount | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.access_tokens.get(token)

    def _user(self, headers: Mapping[str, str]) -> _Response:
        account = self._account_of(headers)
        if account is None:
            return _json(401, {"message": "Bad credentials"})
        return _json(
            200,
            {
                "id": int(account.subject),
                "login": account.login or f"user{account.subject}",
                "name": account.name,
                "email": None,
                "type": "User",
            },
        )

    def _emails(self, headers: Mapping[str, str]) -> _Response:
        account = self._account_of(headers)
        if account is None:
            return _json(401, {"message": "Bad credentials"})
        emails: list[dict[str, Any]] = []
        if account.email is not None:
            emails.append(
                {
                    "email": account.email,
                    "primary": True,
                    "verified": account.email_verified,
                    "visibility": "private",
                }
            )
        emails.extend(
            {"email": e, "primary": False, "verified": v, "visibility": None}
            for e, v in account.other_emails
        )
        return _json(200, emails)


class FakeGoogle(FakeProvider):
    """The fake Google: authorization and token endpoints, JWKS, signed ID tokens.

    Args:
        now: The fake's clock, as POSIX seconds (default ``time.time``).
        **kwargs: See :class:`FakeProvider`.
    """

    def __init__(self, *, now: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__("google", **kwargs)
        self.now = now
        self.id_token_flaw: IdTokenFlaw | None = None
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self._stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def kid(self) -> str:
        """The key id of the current signing key."""
        return self._kid

    def rotate_key(self) -> str:
        """Replace the signing key (and its ``kid``) with a new one; returns the new ``kid``."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with self._lock:
            self._key, self._kid = key, secrets.token_hex(8)
            return self._kid

    def jwks(self) -> dict[str, Any]:
        """The published key set."""
        with self._lock:
            jwk = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
            kid = self._kid
        return {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}

    def issue_id_token(
        self,
        account: FakeAccount | None = None,
        *,
        nonce: str | None = None,
        flaw: IdTokenFlaw | None = None,
        audience: str | list[str] | None = None,
        **claims: Any,
    ) -> str:
        """Sign an ID token as Google would (or with ``flaw``).

        Args:
            account: Whom it names (default: the current account).
            nonce: The ``nonce`` claim, if any.
            flaw: How to spoil it.
            audience: The ``aud`` (default: the client id).
            **claims: Further claims, overriding the defaults (``None`` removes one).

        Returns:
            The compact JWS.
        """
        with self._lock:
            who = account or self.account
            now = int(self.now())
            payload: dict[str, Any] = {
                "iss": GOOGLE_ISSUER,
                "azp": self.client_id,
                "aud": audience if audience is not None else self.client_id,
                "sub": who.subject,
                "email": who.email,
                "email_verified": who.email_verified,
                "name": who.name,
                "iat": now,
                "exp": now + 3600,
            }
            if nonce is not None:
                payload["nonce"] = nonce
            payload.update(claims)
            key, kid = self._key, self._kid
        return self._sign(payload, key, kid, flaw)

    def _sign(
        self,
        payload: dict[str, Any],
        key: rsa.RSAPrivateKey,
        kid: str,
        flaw: IdTokenFlaw | None,
    ) -> str:
        if flaw is IdTokenFlaw.WRONG_AUDIENCE:
            payload["aud"] = "someone-else.apps.googleusercontent.com"
        elif flaw is IdTokenFlaw.WRONG_ISSUER:
            payload["iss"] = "https://accounts.evil.example"
        elif flaw is IdTokenFlaw.EXPIRED:
            payload["iat"], payload["exp"] = payload["iat"] - 7200, payload["iat"] - 3600
        elif flaw is IdTokenFlaw.ISSUED_IN_FUTURE:
            payload["iat"], payload["exp"] = payload["iat"] + 3600, payload["iat"] + 7200
        elif flaw is IdTokenFlaw.WRONG_NONCE:
            payload["nonce"] = "not-the-nonce-" + secrets.token_hex(4)
        elif flaw is IdTokenFlaw.MISSING_NONCE:
            payload.pop("nonce", None)
        elif flaw is IdTokenFlaw.MISSING_SUBJECT:
            payload.pop("sub", None)
        payload = {k: v for k, v in payload.items() if v is not None}
        if flaw is IdTokenFlaw.MALFORMED:
            return "not-a.jwt"
        if flaw is IdTokenFlaw.ALG_NONE:
            return self._unsigned({"alg": "none", "typ": "JWT", "kid": kid}, payload, b"")
        if flaw is IdTokenFlaw.ALG_HS256:
            pem = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            header = {"alg": "HS256", "typ": "JWT", "kid": kid}
            signing_input = self._signing_input(header, payload)
            signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{_b64(signature)}"
        if flaw is IdTokenFlaw.WRONG_SIGNATURE:
            key = self._stranger
        elif flaw is IdTokenFlaw.UNKNOWN_KEY:
            key, kid = self._stranger, "unknown-" + secrets.token_hex(4)
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})

    @staticmethod
    def _signing_input(header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
        head = _b64(json.dumps(header, separators=(",", ":")).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{head}.{body}"

    def _unsigned(
        self, header: Mapping[str, Any], payload: Mapping[str, Any], signature: bytes
    ) -> str:
        return f"{self._signing_input(header, payload)}.{_b64(signature)}"

    def _token(self, form: Mapping[str, str]) -> _Response:
        if form.get("grant_type") != "authorization_code":
            return _json(400, {"error": "unsupported_grant_type"})
        redeemed = self._redeem(form)
        if isinstance(redeemed, str):
            return _json(400 if redeemed == "invalid_grant" else 401, {"error": redeemed})
        id_token = self.issue_id_token(
            redeemed.account, nonce=redeemed.nonce, flaw=self.id_token_flaw
        )
        access_token = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens[access_token] = redeemed.account
        return _json(
            200,
            {
                "access_token": access_token,
                "expires_in": 3599,
                "id_token": id_token,
                "scope": redeemed.scope,
                "token_type": "Bearer",
            },
        )


# -- the server ------------------------------------------------------------------------------


_STATUS_TEXT: Final = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class FakeOAuthServer:
    """A fake GitHub and Google on ``http://127.0.0.1:<port>``, in a background thread.

    Use it as a (sync or async) context manager, or call :meth:`start` and :meth:`stop`.

    Args:
        github_client_id: The GitHub client id it accepts.
        github_client_secret: The GitHub client secret it accepts.
        google_client_id: The Google client id it accepts (and the ID token audience).
        google_client_secret: The Google client secret it accepts.
        github_account: Who approves at GitHub (default: user 1001, a verified email).
        google_account: Who approves at Google (default: a verified email).
        now: The fake's clock for ID tokens, in POSIX seconds (default ``time.time``).
        host: The loopback address to listen on.
    """

    def __init__(
        self,
        *,
        github_client_id: str = "fake-github-client-id",
        github_client_secret: str = "fake-github-client-secret",
        google_client_id: str = "fake-google-client-id.apps.googleusercontent.com",
        google_client_secret: str = "fake-google-client-secret",
        github_account: FakeAccount | None = None,
        google_account: FakeAccount | None = None,
        now: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
    ) -> None:
        self._lock = threading.RLock()
        self.github = FakeGitHub(
            "github",
            client_id=github_client_id,
            client_secret=github_client_secret,
            account=github_account
            or FakeAccount("1001", "octo@example.com", name="Octo Cat", login="octocat"),
            lock=self._lock,
        )
        self.google = FakeGoogle(
            client_id=google_client_id,
            client_secret=google_client_secret,
            account=google_account
            or FakeAccount("108234567890123456789", "gina@example.com", name="Gina Google"),
            lock=self._lock,
            now=now,
        )
        self._default_accounts = (
            attrs.evolve(self.github.account),
            attrs.evolve(self.google.account),
        )
        self.requests: list[RecordedRequest] = []
        self._host = host
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; only valid while started."""
        if self._port is None:
            raise RuntimeError("the fake OAuth server is not running; call start()")
        return f"http://{self._host}:{self._port}"

    def start(self) -> FakeOAuthServer:
        """Start serving in a background thread; returns ``self`` once it listens."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failure), name="fake-oauth-server", daemon=True
        )
        self._thread.start()
        ready.wait(timeout=30)
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError("the fake OAuth server could not start") from failure[0]
        if self._port is None:
            raise RuntimeError("the fake OAuth server did not start in time")
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._thread is None:
            return
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None:
            loop.call_soon_threadsafe(stopped.set)
        self._thread.join(timeout=30)
        self._thread = None
        self._port = None

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopped = asyncio.Event()
            server = await asyncio.start_server(self._handle, self._host, 0)
            self._port = server.sockets[0].getsockname()[1]
            ready.set()
            try:
                await self._stopped.wait()
            finally:
                server.close()
                await server.wait_closed()

        try:
            asyncio.run(main())
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    def __enter__(self) -> FakeOAuthServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeOAuthServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def use_clock(self, clock: Clock | None) -> None:
        """Date the ID tokens by ``clock`` (e.g. the shop's ``ManualClock``, so that moving it
        ages them); ``None`` goes back to the system time."""
        self.google.now = time.time if clock is None else (lambda: clock.now().timestamp())

    def reset(self) -> None:
        """Forget grants, tokens, failures, flaws and recorded requests; approve again, as the
        default accounts."""
        with self._lock:
            github, google = self._default_accounts
            self.github.account, self.google.account = attrs.evolve(github), attrs.evolve(google)
            for provider in (self.github, self.google):
                provider.heal()
                provider.deny = False
                provider.access_tokens.clear()
                provider._grants.clear()
            self.google.id_token_flaw = None
            self.requests.clear()

    # -- configuration for the adapters ----------------------------------------------------

    def github_settings(self, **overrides: Any) -> OAuthProviderSettings:
        """GitHub settings pointing at this fake (keyword overrides as in ``.github()``)."""
        base = self.base_url
        options: dict[str, Any] = {
            "authorize_url": f"{base}/github/login/oauth/authorize",
            "token_url": f"{base}/github/login/oauth/access_token",
            "api_url": f"{base}/github/api",
            **overrides,
        }
        return OAuthProviderSettings.github(
            self.github.client_id, self.github.client_secret, **options
        )

    def google_settings(self, **overrides: Any) -> OAuthProviderSettings:
        """Google settings pointing at this fake (keyword overrides as in ``.google()``)."""
        base = self.base_url
        options: dict[str, Any] = {
            "authorize_url": f"{base}/google/o/oauth2/v2/auth",
            "token_url": f"{base}/google/token",
            "jwks_url": f"{base}/google/oauth2/v3/certs",
            **overrides,
        }
        return OAuthProviderSettings.google(
            self.google.client_id, self.google.client_secret, **options
        )

    def settings(self) -> OAuthSettings:
        """Both providers, pointing at this fake."""
        return OAuthSettings(github=self.github_settings(), google=self.google_settings())

    def environ(self) -> dict[str, str]:
        """The ``BOOKSHOP_GITHUB_*``/``BOOKSHOP_GOOGLE_*`` variables that configure both
        providers against this fake (for apps configured from the environment)."""
        base = self.base_url
        return {
            "BOOKSHOP_GITHUB_CLIENT_ID": self.github.client_id,
            "BOOKSHOP_GITHUB_CLIENT_SECRET": self.github.client_secret,
            "BOOKSHOP_GITHUB_AUTHORIZE_URL": f"{base}/github/login/oauth/authorize",
            "BOOKSHOP_GITHUB_TOKEN_URL": f"{base}/github/login/oauth/access_token",
            "BOOKSHOP_GITHUB_API_URL": f"{base}/github/api",
            "BOOKSHOP_GOOGLE_CLIENT_ID": self.google.client_id,
            "BOOKSHOP_GOOGLE_CLIENT_SECRET": self.google.client_secret,
            "BOOKSHOP_GOOGLE_AUTHORIZE_URL": f"{base}/google/o/oauth2/v2/auth",
            "BOOKSHOP_GOOGLE_TOKEN_URL": f"{base}/google/token",
            "BOOKSHOP_GOOGLE_JWKS_URL": f"{base}/google/oauth2/v3/certs",
        }

    # -- the browser -----------------------------------------------------------------------

    async def approve(self, authorization_url: str) -> Callback:
        """Do what the browser does: open the authorization URL and read where the provider
        redirects back to (without following it).

        Args:
            authorization_url: What ``OAuthLogin.begin`` returned.

        Returns:
            The callback's parameters.

        Raises:
            AssertionError: the provider did not redirect (it refused the request).
        """
        # The fake speaks plain HTTP on loopback: no TLS context to build (which would cost
        # tens of milliseconds per client).
        async with httpx.AsyncClient(timeout=_READ_TIMEOUT, verify=False) as client:
            response = await client.get(authorization_url)
        if response.status_code != 302:
            raise AssertionError(
                f"the fake provider refused the authorization request: "
                f"{response.status_code} {response.text!r}"
            )
        location = response.headers["location"]
        query = {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}
        return Callback(location, query.get("code"), query.get("state"), query.get("error"))

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        delay = 0.0
        try:
            response, delay = await asyncio.wait_for(self._read_and_route(reader), _READ_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, ValueError, ConnectionError):
            response = _Response(400, b"bad request", "text/plain")
        try:
            if delay:
                await asyncio.sleep(delay)
            writer.write(self._encode(response))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _read_and_route(self, reader: asyncio.StreamReader) -> tuple[_Response, float]:
        request_line = (await reader.readline()).decode("latin-1").strip()
        method, target, _version = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or "0")
        if length > _MAX_BODY:
            raise ValueError("body too large")
        body = await reader.readexactly(length) if length else b""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        form: dict[str, str] = {}
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        with self._lock:
            self.requests.append(RecordedRequest(method, parts.path, query, headers, form))
            return self._route(method, parts.path, query, headers, form)

    def _route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        form: Mapping[str, str],
    ) -> tuple[_Response, float]:
        github, google = self.github, self.google
        routes: dict[tuple[str, str], tuple[FakeProvider, str, Callable[[], _Response]]] = {
            ("GET", "/github/login/oauth/authorize"): (
                github,
                "authorize",
                lambda: github._authorize(query, oidc=False),
            ),
            ("POST", "/github/login/oauth/access_token"): (
                github,
                "token",
                lambda: github._token(form),
            ),
            ("GET", "/github/api/user"): (github, "user", lambda: github._user(headers)),
            ("GET", "/github/api/user/emails"): (
                github,
                "emails",
                lambda: github._emails(headers),
            ),
            ("GET", "/google/o/oauth2/v2/auth"): (
                google,
                "authorize",
                lambda: google._authorize(query, oidc=True),
            ),
            ("POST", "/google/token"): (google, "token", lambda: google._token(form)),
            ("GET", "/google/oauth2/v3/certs"): (
                google,
                "jwks",
                lambda: _json(200, google.jwks()),
            ),
        }
        route = routes.get((method, path))
        if route is None:
            known = {p for _, p in routes}
            return _Response(405 if path in known else 404, b"", "text/plain"), 0.0
        provider, endpoint, handler = route
        return provider._failure(endpoint) or handler(), provider._delays.get(endpoint, 0.0)

    @staticmethod
    def _encode(response: _Response) -> bytes:
        reason = _STATUS_TEXT.get(response.status, "Status")
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            "Cache-Control: no-store",
            "Connection: close",
            *(f"{name}: {value}" for name, value in response.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body
