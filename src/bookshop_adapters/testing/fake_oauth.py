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

It is a small Starlette app served by uvicorn on ``127.0.0.1`` and an ephemeral port, in a
thread of its own with its own event loop, so one instance can serve any number of tests
whatever their event loops::

    with FakeOAuthServer() as fake:
        adapters = OAuthAdapters.from_settings(fake.settings())
        url = await shop.oauth.begin("github", "http://app.test/callback")
        callback = await fake.approve(url)           # what the browser would do
        tokens = await shop.oauth.complete("github", callback.code, callback.state)
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import httpx
import jwt
import uvicorn
from attrs import define, field, frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

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
_START_TIMEOUT: Final = 30.0


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


_Handler = Callable[[RecordedRequest], Response]


@frozen
class _Endpoint:
    """One route of a fake provider: its method, its name for :meth:`FakeProvider.fail`, and
    what answers it."""

    method: str
    name: str
    handle: _Handler


def _json(status: int, value: Any) -> Response:
    return JSONResponse(value, status)


def _refuse(reason: str) -> Response:
    return PlainTextResponse(reason, 400)


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

    #: Whether authorization requests must be OpenID Connect ones (``openid`` scope).
    oidc: ClassVar[bool] = False

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

    def _failure(self, endpoint: str) -> Response | None:
        failure = self._failures.get(endpoint)
        if failure is None:
            return None
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                del self._failures[endpoint]
        return Response(failure.body, failure.status, media_type=failure.content_type)

    def endpoints(self) -> dict[str, _Endpoint]:
        """The provider's routes, by path under ``/<name>``."""
        raise NotImplementedError

    def _authorize(self, request: RecordedRequest) -> Response:
        query = request.query
        if query.get("client_id") != self.client_id:
            return _refuse("unknown client_id")
        redirect_uri = query.get("redirect_uri", "")
        state = query.get("state", "")
        challenge = query.get("code_challenge", "")
        if not redirect_uri.startswith(("http://", "https://")) or not state:
            return _refuse("redirect_uri and state are required")
        if query.get("code_challenge_method") != "S256" or len(challenge) != 43:
            return _refuse("PKCE with S256 is required")
        scope = query.get("scope", "")
        if self.oidc and (query.get("response_type") != "code" or "openid" not in scope.split()):
            return _refuse("response_type=code and scope openid required")
        if self.deny:
            location = _with_query(redirect_uri, {"error": "access_denied", "state": state})
            return RedirectResponse(location, 302)
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
        return RedirectResponse(location, 302)

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

    def endpoints(self) -> dict[str, _Endpoint]:
        return {
            "/login/oauth/authorize": _Endpoint("GET", "authorize", self._authorize),
            "/login/oauth/access_token": _Endpoint("POST", "token", self._token),
            "/api/user": _Endpoint("GET", "user", self._user),
            "/api/user/emails": _Endpoint("GET", "emails", self._emails),
        }

    def _token(self, request: RecordedRequest) -> Response:
        redeemed = self._redeem(request.form)
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

    def _user(self, request: RecordedRequest) -> Response:
        account = self._account_of(request.headers)
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

    def _emails(self, request: RecordedRequest) -> Response:
        account = self._account_of(request.headers)
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

    oidc = True

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

    def endpoints(self) -> dict[str, _Endpoint]:
        return {
            "/o/oauth2/v2/auth": _Endpoint("GET", "authorize", self._authorize),
            "/token": _Endpoint("POST", "token", self._token),
            "/oauth2/v3/certs": _Endpoint("GET", "jwks", lambda _: _json(200, self.jwks())),
        }

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

    def _token(self, request: RecordedRequest) -> Response:
        form = request.form
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


async def _recorded(request: Request) -> RecordedRequest:
    form: dict[str, str] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # Parsed here rather than by request.form(), which needs python-multipart.
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    return RecordedRequest(
        request.method, request.url.path, dict(request.query_params), dict(request.headers), form
    )


class FakeOAuthServer:
    """A fake GitHub and Google on ``http://127.0.0.1:<port>``, served by uvicorn in a thread.

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
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; only valid while started."""
        if self._port is None:
            raise RuntimeError("the fake OAuth server is not running; call start()")
        return f"http://{self._host}:{self._port}"

    def start(self) -> FakeOAuthServer:
        """Start serving in a background thread; returns ``self`` once it listens.

        Raises:
            RuntimeError: uvicorn did not come up.
        """
        if self._thread is not None:
            return self
        # Bound here, so the ephemeral port is known before uvicorn starts.
        listener = socket.create_server((self._host, 0))
        config = uvicorn.Config(
            self.app(),
            log_config=None,  # leave the test process's logging alone
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,  # a stalled endpoint must not hold up stop()
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="fake-oauth", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            server.should_exit = True
            thread.join(timeout=_START_TIMEOUT)
            listener.close()
            raise RuntimeError("the fake OAuth server could not start")
        self._server, self._thread = server, thread
        self._port = listener.getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=_START_TIMEOUT)
        self._server = self._thread = self._port = None

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

    def app(self) -> Starlette:
        """The ASGI app that serves both fakes (what :meth:`start` runs under uvicorn)."""
        return Starlette(
            routes=[
                Route(
                    f"/{provider.name}{path}",
                    self._endpoint(provider, endpoint),
                    methods=[endpoint.method],
                )
                for provider in (self.github, self.google)
                for path, endpoint in provider.endpoints().items()
            ]
        )

    def _endpoint(
        self, provider: FakeProvider, endpoint: _Endpoint
    ) -> Callable[[Request], Awaitable[Response]]:
        """Record the request, then answer with the injected failure or the handler's answer,
        after the injected stall."""

        async def answer(request: Request) -> Response:
            recorded = await _recorded(request)
            with self._lock:
                self.requests.append(recorded)
                response = provider._failure(endpoint.name) or endpoint.handle(recorded)
                delay = provider._delays.get(endpoint.name, 0.0)
            if delay:
                await asyncio.sleep(delay)
            response.headers["cache-control"] = "no-store"
            return response

        return answer
