"""Auth routes: register, sign in, refresh, log out; sign in with Google or GitHub.

Each route parses the request, builds the core's command with :func:`structure_input` (so an
unknown field such as ``role`` on a registration is ignored, never applied: the account is a
plain user), awaits the use case and returns its result; errors go to
``bookshop_examples.http.errors``.

OAuth: ``GET /auth/{provider}`` answers 302 to the provider's consent page, with a single-use
``state``, a PKCE S256 ``code_challenge`` and, for Google, a ``nonce``; the provider sends the
browser back to ``GET /auth/{provider}/callback?code=...&state=...``, which answers the token
pair. The callback URL given to the provider is, in this order: the provider's configured
``redirect_uri`` (``BOOKSHOP_<PROVIDER>_REDIRECT_URI``), the configured public base URL followed
by the callback route's path, or the URL of the request when its ``Host`` is one of the
configured ``allowed_hosts`` (default ``localhost``, ``127.0.0.1``); any other ``Host`` is
refused with 400, so a forged header can never choose where the provider sends the code.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Final, Literal

from attrs import frozen
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from bookshop_adapters.bootstrap import Shop
from bookshop_core import Login, Register, TokenPair, unstructure
from bookshop_examples.http.deps import (
    USER_AUTH_CODES,
    JsonObject,
    ShopDep,
    UserDep,
    json_body,
    located_in,
    structure_input,
)
from bookshop_examples.http.errors import error_responses
from bookshop_examples.settings import AppSettings

__all__ = [
    "GoogleIdTokenIn",
    "LoginIn",
    "RefreshTokenIn",
    "RegisterIn",
    "TokenPairOut",
    "callback_url",
    "router",
]

router = APIRouter(tags=["auth"])

_OAUTH_FAILURES: Final = (
    "AUTH_OAUTH_FAILED",
    "AUTH_OAUTH_NO_EMAIL",
    "AUTH_OAUTH_EMAIL_UNVERIFIED",
    "AUTH_USER_INACTIVE",
)
_NO_STORE: Final = {"Cache-Control": "no-store"}

# -- wire models ------------------------------------------------------------------------------


class TokenPairOut(BaseModel):
    """A fresh access token (15 minutes by default) and the refresh token of its session."""

    access_token: str = Field(description="A JWT with claims sub (the user id) and role.")
    refresh_token: str = Field(description="Single use: each refresh returns a new one.")
    token_type: Literal["bearer"] = "bearer"


class RegisterIn(BaseModel):
    """A new account: always a plain user (any other field, ``role`` included, is ignored)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, examples=["reader@example.com"])
    password: str = Field(
        min_length=8,
        description="At least 8 characters, not a common password, not the email.",
    )
    display_name: str | None = Field(
        default=None,
        max_length=100,
        description='The name others see on your reviews (default: "Reader #<id>").',
    )


class LoginIn(BaseModel):
    """Email and password."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(examples=["reader@example.com"])
    password: str


class RefreshTokenIn(BaseModel):
    """A refresh token from an earlier sign-in or refresh."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: str


class GoogleIdTokenIn(BaseModel):
    """A Google ID token a client obtained itself (e.g. with Google Identity Services)."""

    model_config = ConfigDict(extra="forbid")

    id_token: str


# The core has no command for a bare token: these give ``structure_input`` the shape to check.


@frozen
class _RefreshTokenInput:
    refresh_token: str


@frozen
class _GoogleIdTokenInput:
    id_token: str


def _pair(tokens: TokenPair) -> Any:
    return unstructure(tokens)


# -- password sign-in -------------------------------------------------------------------------


@router.post(
    "/auth/register",
    status_code=HTTPStatus.CREATED,
    response_model=TokenPairOut,
    responses=error_responses(409, 422, codes=["AUTH_EMAIL_CONFLICT"]),
    summary="Register",
)
async def register(shop: ShopDep, body: Annotated[JsonObject, json_body(RegisterIn)]) -> Any:
    """Open a user account and sign it in (201 with a token pair)."""
    command = structure_input(body, Register, source="body")
    with located_in("body"):  # the shop's own password policy is checked by the use case
        return _pair(await shop.identity.register(command))


@router.post(
    "/auth/login",
    response_model=TokenPairOut,
    responses=error_responses(
        401,
        403,
        422,
        429,
        codes=["AUTH_INVALID_CREDENTIALS", "AUTH_ACCOUNT_DEACTIVATED", "AUTH_TOO_MANY_ATTEMPTS"],
    ),
    summary="Sign in",
)
async def login(shop: ShopDep, body: Annotated[JsonObject, json_body(LoginIn)]) -> Any:
    """Sign in with email and password. A wrong password, an unknown email and an account
    without a password get the same 401; repeated failures lock sign-in for that email for a
    while (429 with ``Retry-After``)."""
    command = structure_input(body, Login, source="body")
    return _pair(await shop.identity.login(command))


@router.post(
    "/auth/refresh",
    response_model=TokenPairOut,
    responses=error_responses(
        401, 422, codes=["AUTH_REFRESH_INVALID", "AUTH_TOKEN_REUSE", "AUTH_USER_INACTIVE"]
    ),
    summary="Refresh the token pair",
)
async def refresh(shop: ShopDep, body: Annotated[JsonObject, json_body(RefreshTokenIn)]) -> Any:
    """Spend a refresh token for a new pair of the same session. A token already spent
    revokes the whole session (401 ``AUTH_TOKEN_REUSE``)."""
    command = structure_input(body, _RefreshTokenInput, source="body")
    return _pair(await shop.identity.refresh(command.refresh_token))


@router.post(
    "/auth/logout",
    status_code=HTTPStatus.NO_CONTENT,
    responses=error_responses(422),
    summary="Log out",
)
async def logout(shop: ShopDep, body: Annotated[JsonObject, json_body(RefreshTokenIn)]) -> None:
    """Revoke the session of the refresh token, with its access tokens. Idempotent: an
    unknown or already revoked token is still 204."""
    command = structure_input(body, _RefreshTokenInput, source="body")
    await shop.identity.logout(command.refresh_token)


@router.post(
    "/auth/logout-all",
    status_code=HTTPStatus.NO_CONTENT,
    responses=error_responses(401, 403, codes=USER_AUTH_CODES),
    summary="Log out everywhere",
)
async def logout_all(shop: ShopDep, principal: UserDep) -> None:
    """Revoke every session of the caller; every access token issued so far stops working."""
    await shop.identity.logout_all(principal)


# -- OAuth ------------------------------------------------------------------------------------


def callback_url(request: Request, provider: str) -> str:
    """The absolute URL the provider sends the browser back to, from configuration only.

    The provider's configured ``redirect_uri`` (in the shop's settings), else the app's public
    URL followed by the callback route's path, else the request's own URL when its host is one
    of the app's ``allowed_hosts``.

    Raises:
        HTTPException: 400 when nothing is configured and the ``Host`` is not allowed.
    """
    shop: Shop = request.app.state.shop
    oauth = shop.settings.oauth
    configured = {"github": oauth.github, "google": oauth.google}.get(provider)
    if configured is not None and configured.redirect_uri:
        return configured.redirect_uri
    settings: AppSettings = request.app.state.settings
    route_name = f"{provider}_callback"
    if settings.public_url:
        return settings.public_url.rstrip("/") + str(request.app.url_path_for(route_name))
    if request.url.hostname not in settings.allowed_hosts:
        raise HTTPException(
            HTTPStatus.BAD_REQUEST,
            "OAuth sign-in from this host needs a configured public URL or redirect URI",
        )
    return str(request.url_for(route_name))


async def _begin(shop: Shop, request: Request, provider: str) -> RedirectResponse:
    # A provider the shop does not offer is refused by the core (AUTH_OAUTH_NOT_CONFIGURED)
    # whatever the request's host: the callback URL only matters for a configured one.
    configured = shop.oauth.is_configured(provider)
    location = await shop.oauth.begin(
        provider, callback_url(request, provider) if configured else ""
    )
    return RedirectResponse(location, status_code=HTTPStatus.FOUND, headers=_NO_STORE)


async def _complete(shop: Shop, provider: str, code: str | None, state: str | None) -> Any:
    # A provider reporting an error (``error=access_denied``) sends no code: the core then
    # spends the state and refuses the sign-in like any other bad callback.
    return _pair(await shop.oauth.complete(provider, code or "", state or ""))


def _redirect_responses() -> dict[int | str, Any]:
    return {
        HTTPStatus.FOUND: {
            "description": "To the provider's consent page",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        },
        # 400: no configured callback URL and a Host that is not an allowed one.
        **error_responses(
            400, 401, 500, codes=["HTTP_400", "AUTH_OAUTH_FAILED", "AUTH_OAUTH_NOT_CONFIGURED"]
        ),
    }


def _callback_responses() -> dict[int | str, Any]:
    return error_responses(401, 422, 500, codes=[*_OAUTH_FAILURES, "AUTH_OAUTH_NOT_CONFIGURED"])


CodeQuery = Annotated[
    str | None, Query(description="The authorization code the provider sent back.")
]
StateQuery = Annotated[str | None, Query(description="The state the sign-in started with.")]
ErrorQuery = Annotated[
    str | None,
    Query(description="The provider's error (e.g. access_denied) instead of a code."),
]


@router.get(
    "/auth/google",
    status_code=HTTPStatus.FOUND,
    response_class=RedirectResponse,
    responses=_redirect_responses(),
    summary="Sign in with Google",
)
async def google_login(shop: ShopDep, request: Request) -> RedirectResponse:
    """302 to Google's consent page with a fresh state, PKCE challenge (S256) and nonce."""
    return await _begin(shop, request, "google")


@router.get(
    "/auth/google/callback",
    name="google_callback",
    response_model=TokenPairOut,
    responses=_callback_responses(),
    summary="Google's redirect back",
)
async def google_callback(
    shop: ShopDep, code: CodeQuery = None, state: StateQuery = None, error: ErrorQuery = None
) -> Any:
    """Finish a Google sign-in: the state is spent, the code exchanged, the account found,
    linked (by verified email) or created, and a token pair returned."""
    return await _complete(shop, "google", code, state)


@router.post(
    "/auth/google/token",
    response_model=TokenPairOut,
    responses=error_responses(
        401,
        422,
        500,
        codes=[
            "AUTH_GOOGLE_INVALID_TOKEN",
            "AUTH_OAUTH_NO_EMAIL",
            "AUTH_OAUTH_EMAIL_UNVERIFIED",
            "AUTH_USER_INACTIVE",
            "AUTH_OAUTH_NOT_CONFIGURED",
        ],
    ),
    summary="Sign in with a Google ID token",
)
async def google_token(
    shop: ShopDep, body: Annotated[JsonObject, json_body(GoogleIdTokenIn)]
) -> Any:
    """Exchange a Google ID token (signature, issuer, audience and expiry checked) for a
    token pair."""
    command = structure_input(body, _GoogleIdTokenInput, source="body")
    return _pair(await shop.oauth.exchange_google_id_token(command.id_token))


@router.get(
    "/auth/github",
    status_code=HTTPStatus.FOUND,
    response_class=RedirectResponse,
    responses=_redirect_responses(),
    summary="Sign in with GitHub",
)
async def github_login(shop: ShopDep, request: Request) -> RedirectResponse:
    """302 to GitHub's consent page with a fresh state and PKCE challenge (S256)."""
    return await _begin(shop, request, "github")


@router.get(
    "/auth/github/callback",
    name="github_callback",
    response_model=TokenPairOut,
    responses=_callback_responses(),
    summary="GitHub's redirect back",
)
async def github_callback(
    shop: ShopDep, code: CodeQuery = None, state: StateQuery = None, error: ErrorQuery = None
) -> Any:
    """Finish a GitHub sign-in with the verified primary email of GitHub's emails API."""
    return await _complete(shop, "github", code, state)
