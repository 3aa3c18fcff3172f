"""The auth routes over HTTP: register, login, refresh, logout, logout-all, and bearer tokens.

Runs on every backend of the shared harness (memory, SQLite, PostgreSQL), with the identity
testing kit's fast password hasher and test JWT secret (so tokens can be forged).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.oauth import OAuthSettings
from bookshop_adapters.testing.identity import TEST_PASSWORD, open_test_shop, sign_up
from bookshop_adapters.testing.tokens import (
    TEST_JWT_SECRET,
    TokenContext,
    bad_access_tokens,
    forge_access_token,
)
from bookshop_core import ManualClock, Principal, Role

TOKEN_PAIR_FIELDS = {"access_token", "refresh_token", "token_type"}
NOT_AUTHENTICATED = {"detail": "Not authenticated", "code": "HTTP_401"}


@pytest.fixture
async def shop(backend_url: str, clock: ManualClock) -> AsyncIterator[Shop]:
    """The fast test hasher and the test JWT secret; no OAuth provider."""
    settings = ShopSettings(oauth=OAuthSettings())
    async with open_test_shop(backend_url, clock=clock, settings=settings) as opened:
        yield opened


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def session_of(access_token: str) -> int:
    sid = jwt.decode(access_token, options={"verify_signature": False})["sid"]
    assert isinstance(sid, int)
    return sid


async def register(
    client: httpx.AsyncClient, email: str, password: str = TEST_PASSWORD
) -> dict[str, Any]:
    response = await client.post("/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(
    client: httpx.AsyncClient, email: str, password: str = TEST_PASSWORD
) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get("/users/me", headers=bearer(access_token))


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


# -- register -----------------------------------------------------------------------------------


async def test_register_answers_201_with_a_token_pair_for_a_user(
    client: httpx.AsyncClient,
) -> None:
    """POST /auth/register: 201 {access_token, refresh_token, token_type: bearer}; the access
    token carries sub and role user, and signs the new account in."""
    response = await client.post(
        "/auth/register", json={"email": "New@Example.com", "password": TEST_PASSWORD}
    )
    assert response.status_code == 201
    pair = response.json()
    assert set(pair) == TOKEN_PAIR_FIELDS
    assert pair["token_type"] == "bearer"
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    account = (await me(client, pair["access_token"])).json()
    assert (claims["sub"], claims["role"]) == (str(account["id"]), "user")
    assert (account["email"], account["role"], account["is_active"]) == (
        "new@example.com",
        "user",
        True,
    )


async def test_register_ignores_a_role_field(client: httpx.AsyncClient) -> None:
    """A registration naming ``"role": "admin"`` is 201 and opens a plain user account: an
    unknown field is ignored, never applied (as the original API did)."""
    response = await client.post(
        "/auth/register",
        json={"email": "climber@example.com", "password": TEST_PASSWORD, "role": "admin"},
    )
    assert response.status_code == 201
    account = (await me(client, response.json()["access_token"])).json()
    assert (account["email"], account["role"]) == ("climber@example.com", "user")


async def test_register_reports_every_bad_field_at_once(client: httpx.AsyncClient) -> None:
    """A bad email and a short password are both reported, each under body."""
    response = await client.post("/auth/register", json={"email": "nope", "password": "short"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert {tuple(error["loc"]) for error in body["detail"]} == {
        ("body", "email"),
        ("body", "password"),
    }


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"email": "x@example.com"}, id="password-missing"),
        pytest.param({"email": "x@example.com", "password": 12345678}, id="password-not-string"),
        pytest.param(["x@example.com", TEST_PASSWORD], id="not-an-object"),
    ],
)
async def test_register_refuses_bad_input_with_422(client: httpx.AsyncClient, body: Any) -> None:
    """Missing, mistyped or unshaped input is 422 VALIDATION_ERROR."""
    response = await client.post("/auth/register", json=body)
    assert_refused(response, 422, "VALIDATION_ERROR")


async def test_register_an_email_taken_in_another_case_is_409(client: httpx.AsyncClient) -> None:
    """Emails are unique case-insensitively: 409 AUTH_EMAIL_CONFLICT on field email."""
    await register(client, "taken@example.com")
    response = await client.post(
        "/auth/register", json={"email": "TAKEN@example.com", "password": TEST_PASSWORD}
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "An account with this email already exists",
        "code": "AUTH_EMAIL_CONFLICT",
        "field": "email",
    }


# -- login --------------------------------------------------------------------------------------


async def test_login_answers_a_fresh_token_pair(client: httpx.AsyncClient) -> None:
    """POST /auth/login with JSON {email, password}: 200 and a new session."""
    registered = await register(client, "reader@example.com")
    response = await login(client, "Reader@Example.com")
    assert response.status_code == 200
    pair = response.json()
    assert set(pair) == TOKEN_PAIR_FIELDS
    assert session_of(pair["access_token"]) != session_of(registered["access_token"])
    assert (await me(client, pair["access_token"])).status_code == 200


async def test_login_says_the_same_for_unknown_email_and_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    """A wrong password and an unknown email get the identical 401 body."""
    await register(client, "reader@example.com")
    wrong = await login(client, "reader@example.com", "not the password at all")
    unknown = await login(client, "nobody@example.com")
    assert_refused(wrong, 401, "AUTH_INVALID_CREDENTIALS")
    assert wrong.json() == unknown.json()
    assert unknown.status_code == 401


async def test_repeated_failed_logins_are_429_with_retry_after(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """After five failures sign-in is locked: 429 AUTH_TOO_MANY_ATTEMPTS with Retry-After,
    even with the right password, until the lock expires."""
    await register(client, "target@example.com")
    for _ in range(5):
        assert_refused(
            await login(client, "target@example.com", "guess guess guess"),
            401,
            "AUTH_INVALID_CREDENTIALS",
        )
    locked = await login(client, "target@example.com")
    assert_refused(locked, 429, "AUTH_TOO_MANY_ATTEMPTS")
    retry_after = int(locked.headers["retry-after"])
    assert 0 < retry_after <= 30
    clock.advance(seconds=retry_after)
    assert (await login(client, "target@example.com")).status_code == 200


@pytest.mark.parametrize(
    "request_kwargs",
    [
        pytest.param({"data": {"email": "a@example.com", "password": "x"}}, id="form-encoded"),
        pytest.param({"json": {"email": "a@example.com"}}, id="password-missing"),
        pytest.param({"json": {"email": 7, "password": "x"}}, id="email-not-string"),
    ],
)
async def test_login_takes_only_a_json_object_of_email_and_password(
    client: httpx.AsyncClient, request_kwargs: dict[str, Any]
) -> None:
    """Form bodies, missing or mistyped fields are 422 VALIDATION_ERROR."""
    response = await client.post("/auth/login", **request_kwargs)
    assert_refused(response, 422, "VALIDATION_ERROR")


# -- refresh ------------------------------------------------------------------------------------


async def test_refresh_rotates_the_pair_within_the_session(client: httpx.AsyncClient) -> None:
    """POST /auth/refresh: 200 with a new pair of the same session; both tokens work."""
    first = await register(client, "reader@example.com")
    response = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200
    second = response.json()
    assert set(second) == TOKEN_PAIR_FIELDS
    assert second["refresh_token"] != first["refresh_token"]
    assert session_of(second["access_token"]) == session_of(first["access_token"])
    assert (await me(client, second["access_token"])).status_code == 200


async def test_reusing_a_spent_refresh_token_is_401_token_reuse(
    client: httpx.AsyncClient,
) -> None:
    """A spent refresh token is 401 AUTH_TOKEN_REUSE with WWW-Authenticate: Bearer."""
    first = await register(client, "reader@example.com")
    await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    reuse = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_refused(reuse, 401, "AUTH_TOKEN_REUSE")


async def test_refresh_with_an_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    """An unknown refresh token is 401 AUTH_REFRESH_INVALID."""
    response = await client.post("/auth/refresh", json={"refresh_token": "not-a-refresh-token"})
    assert_refused(response, 401, "AUTH_REFRESH_INVALID")


async def test_an_access_token_is_not_a_refresh_token(client: httpx.AsyncClient) -> None:
    """Presenting the access token for a refresh is 401 AUTH_REFRESH_INVALID."""
    pair = await register(client, "reader@example.com")
    response = await client.post("/auth/refresh", json={"refresh_token": pair["access_token"]})
    assert_refused(response, 401, "AUTH_REFRESH_INVALID")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"refresh_token": None}, id="null"),
        pytest.param({"refresh_token": 42}, id="not-a-string"),
    ],
)
async def test_refresh_body_must_be_one_string_field(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    """POST /auth/refresh takes {refresh_token: string}, else 422."""
    assert_refused(await client.post("/auth/refresh", json=body), 422, "VALIDATION_ERROR")


# -- logout -------------------------------------------------------------------------------------


async def test_logout_revokes_the_session_and_is_idempotent(client: httpx.AsyncClient) -> None:
    """POST /auth/logout: 204 with no body (again 204); the session's access token dies."""
    pair = await register(client, "reader@example.com")
    for _ in range(2):
        response = await client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
        assert (response.status_code, response.content) == (204, b"")
    assert_refused(await me(client, pair["access_token"]), 401, "AUTH_TOKEN_INVALID")


async def test_logout_with_an_unknown_token_is_still_204(client: httpx.AsyncClient) -> None:
    """Logging out a token the shop never issued changes nothing and says 204."""
    response = await client.post("/auth/logout", json={"refresh_token": "never-issued"})
    assert response.status_code == 204


async def test_logout_without_a_refresh_token_is_422(client: httpx.AsyncClient) -> None:
    """POST /auth/logout needs {refresh_token}."""
    assert_refused(await client.post("/auth/logout", json={}), 422, "VALIDATION_ERROR")


async def test_logout_all_revokes_every_session_of_the_caller(
    client: httpx.AsyncClient,
) -> None:
    """POST /auth/logout-all: 204 with no body; the caller's other session dies too."""
    one = await register(client, "reader@example.com")
    two = (await login(client, "reader@example.com")).json()
    response = await client.post("/auth/logout-all", headers=bearer(one["access_token"]))
    assert (response.status_code, response.content) == (204, b"")
    assert_refused(await me(client, two["access_token"]), 401, "AUTH_TOKEN_INVALID")


async def test_logout_all_needs_a_token(client: httpx.AsyncClient) -> None:
    """Without a bearer token: 401 Not authenticated."""
    response = await client.post("/auth/logout-all")
    assert (response.status_code, response.json()) == (401, NOT_AUTHENTICATED)


# -- bearer tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Authorization": ""}, id="empty-header"),
        pytest.param({"Authorization": "Bearer"}, id="scheme-only"),
        pytest.param({"Authorization": "Bearer "}, id="scheme-and-space"),
        pytest.param({"Authorization": "Basic cmVhZGVyOnNlY3JldA=="}, id="basic-scheme"),
        pytest.param({"Authorization": "Token abc"}, id="other-scheme"),
    ],
)
async def test_missing_token_is_401_not_authenticated(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """No bearer token: 401 {"detail": "Not authenticated", "code": "HTTP_401"} with
    WWW-Authenticate: Bearer."""
    response = await client.get("/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert response.headers["www-authenticate"] == "Bearer"


async def test_the_bearer_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    """`bearer <token>` works like `Bearer <token>` (auth schemes are case-insensitive)."""
    pair = await register(client, "reader@example.com")
    response = await client.get(
        "/users/me", headers={"Authorization": f"bearer {pair['access_token']}"}
    )
    assert response.status_code == 200


# How two corpus entries travel over HTTP: the empty token is a header without credentials
# (the missing-token answer), and spaces around a token are HTTP's optional whitespace, not
# part of the token, so that header carries the genuine token.
HTTP_NOT_A_TOKEN = {"empty"}
HTTP_SAME_AS_GENUINE = {"surrounded by spaces"}


async def corpus_answers(
    client: httpx.AsyncClient, path: str, context: TokenContext
) -> tuple[int, dict[str, tuple[int, str, str | None]]]:
    """Send each bad token of the corpus to ``path``; return how many were sent and every
    answer that is not the expected 401 with the expected code and WWW-Authenticate."""
    wrong: dict[str, tuple[int, str, str | None]] = {}
    sent = 0
    # For an admin's context, "tampered to role admin" changes nothing: it is the genuine token.
    genuine = forge_access_token(context)
    for bad in bad_access_tokens(context):
        if bad.name in HTTP_NOT_A_TOKEN | HTTP_SAME_AS_GENUINE or bad.token == genuine:
            continue
        header = ("Bearer " + bad.token).encode("utf-8")  # some are deliberately not ASCII
        response = await client.get(path, headers={b"Authorization": header})
        sent += 1
        answer = (
            response.status_code,
            response.json().get("code"),
            response.headers.get("www-authenticate"),
        )
        if answer != (401, bad.code, "Bearer"):
            wrong[bad.name] = answer
    return sent, wrong


async def test_bad_token_corpus_is_401_on_a_user_route(
    client: httpx.AsyncClient, shop: Shop, clock: ManualClock
) -> None:
    """Every forged, mangled or expired token of the testing kit's corpus, for a real account
    and live session, is 401 with its code (AUTH_TOKEN_INVALID or AUTH_TOKEN_EXPIRED) and
    WWW-Authenticate: Bearer on GET /users/me."""
    user, pair = await sign_up(shop, "target@example.com")
    context = TokenContext(
        TEST_JWT_SECRET,
        user_id=user.user_id,
        session_id=session_of(pair.access_token),
        now=clock.now(),
    )
    assert (await me(client, forge_access_token(context))).status_code == 200
    sent, wrong = await corpus_answers(client, "/users/me", context)
    assert sent >= 30
    assert wrong == {}


async def test_bad_token_corpus_of_a_user_is_401_not_403_on_an_admin_route(
    client: httpx.AsyncClient, shop: Shop, clock: ManualClock
) -> None:
    """A plain user's bad tokens on GET /admin/users are refused as tokens (401), before any
    role check (403); the one claiming role admin included."""
    user, pair = await sign_up(shop, "target@example.com")
    context = TokenContext(
        TEST_JWT_SECRET,
        user_id=user.user_id,
        session_id=session_of(pair.access_token),
        now=clock.now(),
    )
    sent, wrong = await corpus_answers(client, "/admin/users", context)
    assert sent >= 30
    assert wrong == {}


async def test_bad_token_corpus_is_401_on_an_admin_route(
    client: httpx.AsyncClient, shop: Shop, clock: ManualClock
) -> None:
    """The same corpus forged for an admin's account and session is 401 on GET /admin/users:
    a bad token never reaches the role check."""
    admin, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    context = TokenContext(
        TEST_JWT_SECRET,
        user_id=admin.user_id,
        session_id=session_of(pair.access_token),
        now=clock.now(),
        role="admin",
    )
    genuine = await client.get("/admin/users", headers=bearer(forge_access_token(context)))
    assert genuine.status_code == 200
    sent, wrong = await corpus_answers(client, "/admin/users", context)
    assert sent >= 30
    assert wrong == {}


async def test_corpus_entries_http_carries_differently(
    client: httpx.AsyncClient, shop: Shop, clock: ManualClock
) -> None:
    """The empty token is the missing-token 401; spaces around a genuine token are HTTP
    whitespace, so that header authenticates."""
    user, pair = await sign_up(shop, "target@example.com")
    context = TokenContext(
        TEST_JWT_SECRET,
        user_id=user.user_id,
        session_id=session_of(pair.access_token),
        now=clock.now(),
    )
    tokens = {bad.name: bad.token for bad in bad_access_tokens(context)}
    empty = await client.get("/users/me", headers={"Authorization": "Bearer " + tokens["empty"]})
    assert (empty.status_code, empty.json()) == (401, NOT_AUTHENTICATED)
    spaced = "Bearer " + tokens["surrounded by spaces"]
    assert (await client.get("/users/me", headers={"Authorization": spaced})).status_code == 200


async def test_the_role_claim_of_a_token_is_not_trusted(
    client: httpx.AsyncClient, shop: Shop, clock: ManualClock
) -> None:
    """A validly signed token claiming role admin for a plain user gets 403 AUTH_FORBIDDEN on
    an admin route: the role is read from the account."""
    user, pair = await sign_up(shop, "climber@example.com")
    context = TokenContext(
        TEST_JWT_SECRET,
        user_id=user.user_id,
        session_id=session_of(pair.access_token),
        now=clock.now(),
        role="admin",
    )
    claims_admin = forge_access_token(context)
    assert_refused(
        await client.get("/admin/users", headers=bearer(claims_admin)), 403, "AUTH_FORBIDDEN"
    )
    assert (await me(client, claims_admin)).json()["role"] == "user"


async def test_users_me_shows_exactly_the_documented_fields(
    client: httpx.AsyncClient, shop: Shop, clock: ManualClock
) -> None:
    """GET /users/me answers {id, email, role, is_active, created_at} of the caller."""
    pair = await register(client, "reader@example.com")
    response = await me(client, pair["access_token"])
    assert response.status_code == 200
    body = response.json()
    view = await shop.identity.me(Principal(body["id"]))
    assert body == {
        "id": view.id,
        "email": "reader@example.com",
        "role": "user",
        "is_active": True,
        "created_at": clock.now().isoformat(),
    }
