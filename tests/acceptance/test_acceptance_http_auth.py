"""Acceptance: auth, /users/me and user administration over HTTP, as API.md describes them."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from bookshop_adapters import Shop
from bookshop_adapters.testing.fake_oauth import FakeAccount, FakeOAuthServer
from bookshop_core import ManualClock, Role
from bookshop_examples.http.app import create_app
from tests.acceptance.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    PASSWORD,
    SECRET,
    bearer,
    jwt_part,
    open_shop,
    register,
    serve,
    shop_settings,
    sqlite_url,
)

PAIR_KEYS = {"access_token", "refresh_token", "token_type"}
USER_KEYS = {"id", "email", "full_name", "role", "is_active", "created_at"}
ADMIN_PAGE_KEYS = {"items", "total_count", "page", "per_page", "total_pages"}


def assert_401(response: httpx.Response, code: str) -> None:
    """401 with ``code`` and a WWW-Authenticate header naming the Bearer scheme."""
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code
    assert isinstance(response.json()["detail"], str)
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), response.headers


def assert_code(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get("/users/me", headers=bearer(access_token))


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": refresh_token})


async def user_id(client: httpx.AsyncClient, access_token: str) -> int:
    response = await me(client, access_token)
    assert response.status_code == 200, response.text
    value: int = response.json()["id"]
    return value


# --- register -----------------------------------------------------------------------------


async def test_register_returns_token_pair(client: httpx.AsyncClient) -> None:
    """POST /auth/register is 201 {access_token, refresh_token, token_type: bearer}."""
    response = await client.post(
        "/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 201
    pair = response.json()
    assert set(pair) == PAIR_KEYS
    assert pair["token_type"] == "bearer"
    assert isinstance(pair["access_token"], str)
    assert isinstance(pair["refresh_token"], str)


async def test_register_email_conflict_case_insensitive(client: httpx.AsyncClient) -> None:
    """Registering an existing email in other case is 409 AUTH_EMAIL_CONFLICT field=email."""
    await register(client, "ada@example.com")
    response = await client.post(
        "/auth/register", json={"email": "  ADA@Example.COM ", "password": PASSWORD}
    )
    assert_code(response, 409, "AUTH_EMAIL_CONFLICT")
    assert response.json()["field"] == "email"


async def test_register_ignores_role_field(client: httpx.AsyncClient) -> None:
    """A role (or any unknown) field at registration is ignored, never applied: 201, a user."""
    response = await client.post(
        "/auth/register",
        json={"email": "eve@example.com", "password": PASSWORD, "role": "admin"},
    )
    assert response.status_code == 201, response.text
    pair = response.json()
    assert jwt_part(pair["access_token"], 1)["role"] == "user"
    assert (await me(client, pair["access_token"])).json()["role"] == "user"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ada@example.com", "password": "short"}, "password"),
        ({"email": "ada@example.com", "password": "password"}, "password"),
        ({"email": "ada@example.com", "password": "x" * 10_000}, "password"),
        ({"email": "not an email", "password": PASSWORD}, "email"),
        ({"email": "ada@example.com"}, "password"),
        ({"password": PASSWORD}, "email"),
    ],
)
async def test_register_bad_input_is_422(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    """Short, common or huge passwords and bad emails are 422 naming the field (a list of
    request-shape errors, or the flat form of a policy refusal)."""
    response = await client.post("/auth/register", json=body)
    assert_code(response, 422, "VALIDATION_ERROR")
    detail = response.json()["detail"]
    if isinstance(detail, str):
        assert response.json()["field"] == field
    else:
        assert field in {item["loc"][-1] for item in detail}


async def test_password_made_from_email_refused(client: httpx.AsyncClient) -> None:
    """A password made from the account's email is refused: 422 in the flat form on password."""
    response = await client.post(
        "/auth/register",
        json={"email": "averyuniquename@example.com", "password": "averyuniquename@example.com"},
    )
    assert_code(response, 422, "VALIDATION_ERROR")
    assert response.json()["field"] == "password"
    assert "email" in response.json()["detail"]


async def test_password_unicode_normalised(client: httpx.AsyncClient) -> None:
    """Passwords are NFKC-normalised: the same password typed two ways matches."""
    response = await client.post(
        "/auth/register",
        json={"email": "nf@example.com", "password": "ｆｕｌｌｗｉｄｔｈ passphrase"},
    )
    assert response.status_code == 201
    assert (await login(client, "nf@example.com", "fullwidth passphrase")).status_code == 200


async def test_password_never_echoed_or_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A password appears in no response and no log line, whatever goes wrong."""
    secret = "Sup3r-secret-passphrase-xyz"
    caplog.set_level(logging.DEBUG)
    responses = [
        await client.post("/auth/register", json={"email": 5, "password": secret}),
        await client.post("/auth/register", json={"email": "a@example.com", "password": [secret]}),
        await client.post(
            "/auth/register",
            content=f'{{"email": "a@example.com", "password": "{secret}"'.encode(),
            headers={"Content-Type": "application/json"},
        ),
        await client.post("/auth/register", json={"email": "b@example.com", "password": secret}),
        await login(client, "b@example.com", secret + "!"),
        await login(client, "b@example.com", secret),
    ]
    assert [r.status_code for r in responses] == [422, 422, 422, 201, 401, 200]
    assert not any(secret in r.text for r in responses)
    assert secret not in caplog.text
    assert not any(secret in str(record.args) for record in caplog.records)


async def test_long_passphrase_accepted(client: httpx.AsyncClient) -> None:
    """A 64+ character passphrase is a valid password."""
    phrase = "the quick brown fox jumps over the lazy dog while the cat sleeps soundly"
    response = await client.post(
        "/auth/register", json={"email": "long@example.com", "password": phrase}
    )
    assert response.status_code == 201
    assert (await login(client, "long@example.com", phrase)).status_code == 200


# --- login --------------------------------------------------------------------------------


async def test_login_returns_token_pair(client: httpx.AsyncClient) -> None:
    """POST /auth/login with JSON credentials is 200 with a token pair; email case ignored."""
    await register(client, "ada@example.com")
    response = await login(client, "Ada@Example.com")
    assert response.status_code == 200
    assert set(response.json()) == PAIR_KEYS
    assert response.json()["token_type"] == "bearer"


async def test_login_failure_same_for_unknown_email_and_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    """Unknown email and wrong password both get the same 401 AUTH_INVALID_CREDENTIALS body."""
    await register(client, "ada@example.com")
    wrong = await login(client, "ada@example.com", "not the password at all")
    unknown = await login(client, "nobody@example.com", "not the password at all")
    assert_401(wrong, "AUTH_INVALID_CREDENTIALS")
    assert_401(unknown, "AUTH_INVALID_CREDENTIALS")
    assert wrong.json() == unknown.json()


async def test_login_throttled_after_repeated_failures(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """After 5 failures sign-in is locked: 429 AUTH_TOO_MANY_ATTEMPTS, Retry-After: 30."""
    await register(client, "ada@example.com")
    for _ in range(5):
        assert_401(
            await login(client, "ada@example.com", "wrong password!"), "AUTH_INVALID_CREDENTIALS"
        )
    response = await login(client, "ada@example.com")  # even the right password waits
    assert_code(response, 429, "AUTH_TOO_MANY_ATTEMPTS")
    assert response.headers["Retry-After"] == "30"
    clock.advance(seconds=30)
    assert (await login(client, "ada@example.com")).status_code == 200


async def test_unknown_email_throttled_alike(client: httpx.AsyncClient) -> None:
    """An email without an account is throttled the same way, revealing nothing."""
    for _ in range(5):
        assert_401(
            await login(client, "ghost@example.com", "wrong password!"), "AUTH_INVALID_CREDENTIALS"
        )
    assert_code(
        await login(client, "ghost@example.com", "wrong password!"), 429, "AUTH_TOO_MANY_ATTEMPTS"
    )


async def test_login_bad_body_is_422(client: httpx.AsyncClient) -> None:
    """A login body without password is 422 VALIDATION_ERROR."""
    response = await client.post("/auth/login", json={"email": "ada@example.com"})
    assert_code(response, 422, "VALIDATION_ERROR")


# --- access tokens ------------------------------------------------------------------------


async def test_access_token_claims(client: httpx.AsyncClient) -> None:
    """The access token carries sub (the user id as a string), role, and a 15-minute life."""
    pair = await register(client, "ada@example.com")
    claims = jwt_part(pair["access_token"], 1)
    header = jwt_part(pair["access_token"], 0)
    uid = await user_id(client, pair["access_token"])
    assert claims["sub"] == str(uid)
    assert isinstance(claims["sub"], str)
    assert claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert {"exp", "iat", "sub", "jti", "iss", "aud"} <= set(claims)
    assert header["alg"] == "HS256"


async def test_admin_token_role_claim(
    client: httpx.AsyncClient, shop: Shop, admin_headers: dict[str, str]
) -> None:
    """An admin's access token says role admin."""
    response = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert jwt_part(response.json()["access_token"], 1)["role"] == "admin"


async def test_users_me_shape(client: httpx.AsyncClient) -> None:
    """GET /users/me is 200 {id, email, role, is_active, created_at}, no password material."""
    pair = await register(client, "Ada@Example.com")
    response = await me(client, pair["access_token"])
    assert response.status_code == 200
    body = response.json()
    assert {"id", "email", "role", "is_active", "created_at"} <= set(body)
    assert body["email"] == "ada@example.com"
    assert (body["role"], body["is_active"]) == ("user", True)
    assert isinstance(body["id"], int)
    assert body["id"] > 0
    assert body["created_at"].endswith(("+00:00", "Z"))
    assert not any("password" in key or "hash" in key for key in body)


async def test_missing_token_is_http_401(client: httpx.AsyncClient) -> None:
    """A user route without a token is 401 {detail: Not authenticated, code: HTTP_401}."""
    response = await client.get("/users/me")
    assert_401(response, "HTTP_401")
    assert response.json() == {"detail": "Not authenticated", "code": "HTTP_401"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_token_lives_15_minutes(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """An access token works at 14 minutes and is AUTH_TOKEN_EXPIRED after 15."""
    pair = await register(client, "ada@example.com")
    clock.advance(minutes=14)
    assert (await me(client, pair["access_token"])).status_code == 200
    clock.advance(minutes=2)
    assert_401(await me(client, pair["access_token"]), "AUTH_TOKEN_EXPIRED")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bad_tokens(genuine: str, refresh_token: str) -> Iterator[tuple[str, str]]:
    """(name, token) pairs that must all be refused as AUTH_TOKEN_INVALID."""
    header, claims = jwt_part(genuine, 0), jwt_part(genuine, 1)
    head, body, signature = genuine.split(".")
    yield "garbage", "not-a-token"
    yield "refresh token", refresh_token
    yield "alg none", f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{body}."
    yield "wrong key", jwt.encode(claims, "another-secret-of-32-bytes-or-more!!", "HS256", header)
    yield "tampered role", f"{head}.{_b64({**claims, 'role': 'admin'})}.{signature}"
    yield "tampered sub", f"{head}.{_b64({**claims, 'sub': '999'})}.{signature}"
    yield "bad signature", f"{head}.{body}.{signature[:-4]}AAAA"
    yield "truncated", genuine[: len(genuine) // 2]
    yield "non base64", "###.$$$.%%%"
    yield "huge", "a" * 100_000
    yield "wrong iss", jwt.encode({**claims, "iss": "evil"}, SECRET, "HS256", header)
    yield "wrong aud", jwt.encode({**claims, "aud": "evil"}, SECRET, "HS256", header)
    yield "unknown account", jwt.encode({**claims, "sub": "999"}, SECRET, "HS256", header)
    yield (
        "not yet valid",
        jwt.encode({**claims, "nbf": claims["iat"] + 3600}, SECRET, "HS256", header),
    )
    yield "refresh type", jwt.encode({**claims, "typ": "refresh"}, SECRET, "HS256", header)
    yield "id token type", jwt.encode({**claims, "typ": "id"}, SECRET, "HS256", header)
    for claim in ("sub", "exp", "iat", "jti", "iss", "aud", "typ"):
        stripped = {k: v for k, v in claims.items() if k != claim}
        yield f"no {claim}", jwt.encode(stripped, SECRET, "HS256", header)
    yield "HS512", jwt.encode(claims, SECRET * 2, "HS512", {**header, "alg": "HS512"})


async def test_bad_tokens_are_auth_token_invalid(client: httpx.AsyncClient) -> None:
    """Forged, tampered, malformed and wrong-type tokens are 401 AUTH_TOKEN_INVALID."""
    pair = await register(client, "ada@example.com")
    for name, token in bad_tokens(pair["access_token"], pair["refresh_token"]):
        response = await me(client, token)
        assert response.status_code == 401, (name, response.text)
        assert response.json()["code"] == "AUTH_TOKEN_INVALID", name
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), name


async def test_signed_role_claim_is_not_trusted(client: httpx.AsyncClient) -> None:
    """A validly signed token claiming role admin gives a plain user no admin rights."""
    pair = await register(client, "ada@example.com")
    header, claims = jwt_part(pair["access_token"], 0), jwt_part(pair["access_token"], 1)
    forged = jwt.encode({**claims, "role": "admin"}, SECRET, "HS256", header)
    response = await client.post("/genres", json={"name": "Mine"}, headers=bearer(forged))
    assert_code(response, 403, "AUTH_FORBIDDEN")
    assert (await client.get("/genres")).json() == []


async def test_role_read_from_account_not_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """A promotion or demotion takes effect on tokens issued before it."""
    pair = await register(client, "ada@example.com")
    token = pair["access_token"]
    uid = await user_id(client, token)
    assert (
        await client.post("/genres", json={"name": "A"}, headers=bearer(token))
    ).status_code == 403
    promote = await client.patch(
        f"/admin/users/{uid}/role", json={"role": "admin"}, headers=admin_headers
    )
    assert promote.status_code == 200
    assert promote.json()["role"] == "admin"
    assert (
        await client.post("/genres", json={"name": "B"}, headers=bearer(token))
    ).status_code == 201
    demote = await client.patch(
        f"/admin/users/{uid}/role", json={"role": "user"}, headers=admin_headers
    )
    assert demote.status_code == 200
    assert demote.json()["role"] == "user"
    response = await client.post("/genres", json={"name": "C"}, headers=bearer(token))
    assert_code(response, 403, "AUTH_FORBIDDEN")


# --- refresh, logout ----------------------------------------------------------------------


async def test_refresh_rotates(client: httpx.AsyncClient) -> None:
    """POST /auth/refresh is 200 with a new pair; the new access token works."""
    pair = await register(client, "ada@example.com")
    response = await refresh(client, pair["refresh_token"])
    assert response.status_code == 200
    new = response.json()
    assert set(new) == PAIR_KEYS
    assert new["token_type"] == "bearer"
    assert new["refresh_token"] != pair["refresh_token"]
    assert (await me(client, new["access_token"])).status_code == 200


async def test_refresh_reuse_revokes_family(client: httpx.AsyncClient) -> None:
    """Replaying a spent refresh token is AUTH_TOKEN_REUSE and kills the whole family."""
    pair = await register(client, "ada@example.com")
    other = (await login(client, "ada@example.com")).json()  # another session (family)
    new = (await refresh(client, pair["refresh_token"])).json()
    assert_401(await refresh(client, pair["refresh_token"]), "AUTH_TOKEN_REUSE")
    assert_401(await refresh(client, new["refresh_token"]), "AUTH_REFRESH_INVALID")
    assert_401(await me(client, new["access_token"]), "AUTH_TOKEN_INVALID")
    assert (await me(client, other["access_token"])).status_code == 200
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_refresh_token_expires_after_30_days(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """A refresh token unused for 30 days is 401 AUTH_REFRESH_INVALID."""
    pair = await register(client, "ada@example.com")
    clock.advance(days=31)
    assert_401(await refresh(client, pair["refresh_token"]), "AUTH_REFRESH_INVALID")


async def test_session_ends_after_90_days(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """However often it is refreshed, a login lives at most 90 days."""
    pair = await register(client, "ada@example.com")
    for _ in range(8):
        clock.advance(days=10)
        response = await refresh(client, pair["refresh_token"])
        assert response.status_code == 200
        pair = response.json()
    clock.advance(days=11)
    assert_401(await refresh(client, pair["refresh_token"]), "AUTH_REFRESH_INVALID")


@pytest.mark.parametrize("token", ["unknown-refresh-token", "", "x" * 5000])
async def test_unknown_refresh_token(client: httpx.AsyncClient, token: str) -> None:
    """An unknown refresh token is 401 AUTH_REFRESH_INVALID (or 422 when empty)."""
    response = await refresh(client, token)
    if token:
        assert_401(response, "AUTH_REFRESH_INVALID")
    else:
        assert response.status_code in (401, 422)


async def test_access_token_is_not_a_refresh_token(client: httpx.AsyncClient) -> None:
    """An access token presented to /auth/refresh is 401 AUTH_REFRESH_INVALID."""
    pair = await register(client, "ada@example.com")
    assert_401(await refresh(client, pair["access_token"]), "AUTH_REFRESH_INVALID")


async def test_refresh_missing_body_is_422(client: httpx.AsyncClient) -> None:
    """POST /auth/refresh without refresh_token is 422."""
    assert_code(await client.post("/auth/refresh", json={}), 422, "VALIDATION_ERROR")


async def test_logout_revokes_family_and_is_idempotent(client: httpx.AsyncClient) -> None:
    """POST /auth/logout is 204 (again too, and for unknown tokens); the family is dead."""
    pair = await register(client, "ada@example.com")
    other = (await login(client, "ada@example.com")).json()
    for token in (pair["refresh_token"], pair["refresh_token"], "never-issued"):
        response = await client.post("/auth/logout", json={"refresh_token": token})
        assert response.status_code == 204
        assert response.content == b""
    assert_401(await refresh(client, pair["refresh_token"]), "AUTH_REFRESH_INVALID")
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_logout_with_a_spent_token_ends_the_session(client: httpx.AsyncClient) -> None:
    """Logging out with an already rotated refresh token still revokes its family."""
    first = await register(client, "ada@example.com")
    current = (await refresh(client, first["refresh_token"])).json()
    response = await client.post("/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 204
    assert_401(await refresh(client, current["refresh_token"]), "AUTH_REFRESH_INVALID")


async def test_logout_missing_body_is_422(client: httpx.AsyncClient) -> None:
    """POST /auth/logout without a refresh_token is 422."""
    assert_code(await client.post("/auth/logout", json={}), 422, "VALIDATION_ERROR")


async def test_logout_all(client: httpx.AsyncClient) -> None:
    """POST /auth/logout-all is 204 and kills every session and access token of the user."""
    assert_401(await client.post("/auth/logout-all"), "HTTP_401")
    first = await register(client, "ada@example.com")
    second = (await login(client, "ada@example.com")).json()
    bystander = await register(client, "bob@example.com")
    response = await client.post("/auth/logout-all", headers=bearer(second["access_token"]))
    assert response.status_code == 204
    for pair in (first, second):
        assert_401(await refresh(client, pair["refresh_token"]), "AUTH_REFRESH_INVALID")
        assert_401(await me(client, pair["access_token"]), "AUTH_TOKEN_INVALID")
    assert (await me(client, bystander["access_token"])).status_code == 200
    fresh = (await login(client, "ada@example.com")).json()
    assert (await me(client, fresh["access_token"])).status_code == 200


# --- deactivation -------------------------------------------------------------------------


async def test_deactivation_semantics(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Deactivation kills tokens at once; login says deactivated only after a right password."""
    pair = await register(client, "ada@example.com")
    uid = await user_id(client, pair["access_token"])
    response = await client.patch(f"/admin/users/{uid}/deactivate", headers=admin_headers)
    assert response.status_code == 200
    assert set(response.json()) >= USER_KEYS
    assert response.json()["is_active"] is False
    assert_code(await me(client, pair["access_token"]), 403, "AUTH_ACCOUNT_DEACTIVATED")
    assert_401(await refresh(client, pair["refresh_token"]), "AUTH_USER_INACTIVE")
    assert_code(await login(client, "ada@example.com"), 403, "AUTH_ACCOUNT_DEACTIVATED")
    assert_401(
        await login(client, "ada@example.com", "wrong password!"), "AUTH_INVALID_CREDENTIALS"
    )


async def test_reactivation_revives_no_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """After reactivation old tokens stay dead and a new login works."""
    pair = await register(client, "ada@example.com")
    uid = await user_id(client, pair["access_token"])
    await client.patch(f"/admin/users/{uid}/deactivate", headers=admin_headers)
    response = await client.patch(f"/admin/users/{uid}/reactivate", headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is True
    assert_401(await me(client, pair["access_token"]), "AUTH_TOKEN_INVALID")
    assert (await refresh(client, pair["refresh_token"])).status_code == 401
    fresh = await login(client, "ada@example.com")
    assert fresh.status_code == 200
    assert (await me(client, fresh.json()["access_token"])).status_code == 200


async def test_deactivate_and_reactivate_idempotent(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Deactivating or reactivating twice is 200 both times."""
    pair = await register(client, "ada@example.com")
    uid = await user_id(client, pair["access_token"])
    for action, active in (("deactivate", False), ("deactivate", False), ("reactivate", True)):
        response = await client.patch(f"/admin/users/{uid}/{action}", headers=admin_headers)
        assert response.status_code == 200
        assert response.json()["is_active"] is active
    response = await client.patch(f"/admin/users/{uid}/reactivate", headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is True


async def test_admin_cannot_be_deactivated(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Deactivating an admin account is 403 ADMN_CANNOT_DEACTIVATE_ADMIN."""
    admin_id = await user_id(client, admin_headers["Authorization"].removeprefix("Bearer "))
    response = await client.patch(f"/admin/users/{admin_id}/deactivate", headers=admin_headers)
    assert_code(response, 403, "ADMN_CANNOT_DEACTIVATE_ADMIN")
    assert (await client.get("/users/me", headers=admin_headers)).json()["is_active"] is True


async def test_deactivated_user_routes_are_403(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Every user route answers a deactivated account 403 AUTH_ACCOUNT_DEACTIVATED."""
    pair = await register(client, "ada@example.com")
    uid = await user_id(client, pair["access_token"])
    await client.patch(f"/admin/users/{uid}/deactivate", headers=admin_headers)
    response = await client.post("/auth/logout-all", headers=bearer(pair["access_token"]))
    assert_code(response, 403, "AUTH_ACCOUNT_DEACTIVATED")


async def test_other_admin_cannot_be_deactivated(
    client: httpx.AsyncClient, shop: Shop, admin_headers: dict[str, str]
) -> None:
    """Deactivating another admin is 403 ADMN_CANNOT_DEACTIVATE_ADMIN too."""
    second = await shop.identity.create_account(
        "second@example.com", ADMIN_PASSWORD, role=Role.ADMIN
    )
    response = await client.patch(f"/admin/users/{second.id}/deactivate", headers=admin_headers)
    assert_code(response, 403, "ADMN_CANNOT_DEACTIVATE_ADMIN")


@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
async def test_unknown_user_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str], action: str
) -> None:
    """Deactivating or reactivating a missing account is 404 USER_NOT_FOUND."""
    response = await client.patch(f"/admin/users/999/{action}", headers=admin_headers)
    assert_code(response, 404, "USER_NOT_FOUND")


# --- roles --------------------------------------------------------------------------------


async def test_nobody_demotes_themselves_or_the_last_admin(
    client: httpx.AsyncClient, shop: Shop, admin_headers: dict[str, str]
) -> None:
    """Demoting yourself is 409 ADMN_LAST_ADMIN, even with another admin around."""
    admin_id = await user_id(client, admin_headers["Authorization"].removeprefix("Bearer "))
    response = await client.patch(
        f"/admin/users/{admin_id}/role", json={"role": "user"}, headers=admin_headers
    )
    assert_code(response, 409, "ADMN_LAST_ADMIN")
    await shop.identity.create_account("second@example.com", ADMIN_PASSWORD, role=Role.ADMIN)
    response = await client.patch(
        f"/admin/users/{admin_id}/role", json={"role": "user"}, headers=admin_headers
    )
    assert_code(response, 409, "ADMN_LAST_ADMIN")
    assert (await client.get("/users/me", headers=admin_headers)).json()["role"] == "admin"


async def test_admin_demotes_another_admin(
    client: httpx.AsyncClient, shop: Shop, admin_headers: dict[str, str]
) -> None:
    """With two admins, one may demote the other; the demoted may then be deactivated."""
    second = await shop.identity.create_account(
        "second@example.com", ADMIN_PASSWORD, role=Role.ADMIN
    )
    response = await client.patch(
        f"/admin/users/{second.id}/role", json={"role": "user"}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["role"] == "user"
    response = await client.patch(f"/admin/users/{second.id}/deactivate", headers=admin_headers)
    assert response.status_code == 200


async def test_role_change_errors(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    """A bad role is 422; unknown fields are ignored, never applied; a missing user 404;
    promoting a deactivated user 409."""
    pair = await register(client, "ada@example.com")
    uid = await user_id(client, pair["access_token"])
    for body in ({"role": "root"}, {}):
        response = await client.patch(f"/admin/users/{uid}/role", json=body, headers=admin_headers)
        assert_code(response, 422, "VALIDATION_ERROR")
    response = await client.patch(
        f"/admin/users/{uid}/role", json={"role": "user", "is_active": False}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["role"], response.json()["is_active"]) == ("user", True)
    response = await client.patch(
        "/admin/users/999/role", json={"role": "admin"}, headers=admin_headers
    )
    assert_code(response, 404, "USER_NOT_FOUND")
    await client.patch(f"/admin/users/{uid}/deactivate", headers=admin_headers)
    response = await client.patch(
        f"/admin/users/{uid}/role", json={"role": "admin"}, headers=admin_headers
    )
    assert_code(response, 409, "ADMN_USER_INACTIVE")


# --- admin user list ----------------------------------------------------------------------


async def test_admin_user_list_envelope(
    client: httpx.AsyncClient, admin_headers: dict[str, str], clock: ManualClock
) -> None:
    """GET /admin/users is {items, total_count, page, per_page, total_pages}, newest first."""
    for name in ("ada", "bob"):
        clock.advance(minutes=1)
        await register(client, f"{name}@example.com")
    response = await client.get("/admin/users", headers=admin_headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ADMIN_PAGE_KEYS
    assert (body["total_count"], body["page"], body["per_page"], body["total_pages"]) == (
        3,
        1,
        20,
        1,
    )
    assert [u["email"] for u in body["items"]] == [
        "bob@example.com",
        "ada@example.com",
        ADMIN_EMAIL,
    ]
    for item in body["items"]:
        assert set(item) == USER_KEYS
    page = (await client.get("/admin/users", params={"per_page": 2}, headers=admin_headers)).json()
    assert (len(page["items"]), page["total_pages"], page["per_page"]) == (2, 2, 2)
    page2 = await client.get(
        "/admin/users", params={"per_page": 2, "page": 2}, headers=admin_headers
    )
    assert [u["email"] for u in page2.json()["items"]] == [ADMIN_EMAIL]


async def test_admin_user_list_empty_has_zero_pages(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """An empty admin page has total_pages 0."""
    response = await client.get("/admin/users", params={"q": "nobody-here"}, headers=admin_headers)
    assert response.json() == {
        "items": [],
        "total_count": 0,
        "page": 1,
        "per_page": 20,
        "total_pages": 0,
    }


async def test_admin_user_list_filters(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """role, is_active and q (email search) filter the admin user list."""
    ada = await register(client, "ada@example.com")
    await register(client, "bob@other.org")
    uid = await user_id(client, ada["access_token"])
    await client.patch(f"/admin/users/{uid}/deactivate", headers=admin_headers)

    async def emails(**params: Any) -> set[str]:
        response = await client.get("/admin/users", params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        return {u["email"] for u in response.json()["items"]}

    assert await emails(role="admin") == {ADMIN_EMAIL}
    assert await emails(role="user") == {"ada@example.com", "bob@other.org"}
    assert await emails(is_active="false") == {"ada@example.com"}
    assert await emails(q="OTHER") == {"bob@other.org"}
    assert await emails(role="user", is_active="true") == {"bob@other.org"}


@pytest.mark.parametrize(
    "params",
    [{"per_page": 0}, {"per_page": 101}, {"page": 0}, {"role": "root"}, {"is_active": "x"}],
)
async def test_admin_user_list_bad_params_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], params: dict[str, Any]
) -> None:
    """Bad paging or filter parameters of GET /admin/users are 422."""
    response = await client.get("/admin/users", params=params, headers=admin_headers)
    assert_code(response, 422, "VALIDATION_ERROR")


ADMIN_ROUTES = [
    ("GET", "/admin/users", None),
    ("PATCH", "/admin/users/{uid}/deactivate", None),
    ("PATCH", "/admin/users/{uid}/reactivate", None),
    ("PATCH", "/admin/users/{uid}/role", {"role": "admin"}),
]


async def test_admin_routes_refuse_anonymous_and_users(client: httpx.AsyncClient) -> None:
    """Admin routes are 401 HTTP_401 without a token and 403 AUTH_FORBIDDEN for a user."""
    pair = await register(client, "ada@example.com")
    uid = await user_id(client, pair["access_token"])
    for method, path, body in ADMIN_ROUTES:
        url = path.format(uid=uid)
        assert_401(await client.request(method, url, json=body), "HTTP_401")
        response = await client.request(
            method, url, json=body, headers=bearer(pair["access_token"])
        )
        assert_code(response, 403, "AUTH_FORBIDDEN")
    assert (await me(client, pair["access_token"])).json()["role"] == "user"


# --- OAuth --------------------------------------------------------------------------------


async def test_oauth_not_configured_is_500(client: httpx.AsyncClient) -> None:
    """Without a configured provider, OAuth routes are 500 AUTH_OAUTH_NOT_CONFIGURED."""
    assert_code(await client.get("/auth/github"), 500, "AUTH_OAUTH_NOT_CONFIGURED")
    assert_code(await client.get("/auth/google"), 500, "AUTH_OAUTH_NOT_CONFIGURED")
    response = await client.post("/auth/google/token", json={"id_token": "x.y.z"})
    assert_code(response, 500, "AUTH_OAUTH_NOT_CONFIGURED")


@pytest.fixture(scope="module")
def fake_oauth() -> Iterator[FakeOAuthServer]:
    with FakeOAuthServer() as fake:
        yield fake


@pytest.fixture
async def oauth_shop(fake_oauth: FakeOAuthServer, clock: ManualClock) -> AsyncIterator[Shop]:
    """A shop whose GitHub and Google are the fake provider."""
    fake_oauth.reset()
    fake_oauth.use_clock(clock)
    settings = shop_settings(oauth=fake_oauth.settings())
    async with open_shop("memory://", clock, settings=settings) as opened:
        yield opened


@pytest.fixture
async def oauth_client(oauth_shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    # Deployed as a user would: OAuth callback URLs come from the configured public URL.
    async with serve(oauth_shop, public_url="http://bookshop.test") as client:
        yield client


async def github_sign_in(client: httpx.AsyncClient, fake: FakeOAuthServer) -> httpx.Response:
    """The whole browser round trip: start, approve at the provider, come back."""
    callback = await fake.approve((await client.get("/auth/github")).headers["location"])
    return await client.get(
        "/auth/github/callback", params={"code": callback.code, "state": callback.state}
    )


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_oauth_redirects_with_state_and_pkce(oauth_client: httpx.AsyncClient) -> None:
    """GET /auth/github and /auth/google are 302 with state and PKCE S256 (Google: nonce)."""
    for provider in ("github", "google"):
        response = await oauth_client.get(f"/auth/{provider}")
        assert response.status_code == 302
        query = query_of(response.headers["location"])
        assert query["state"]
        assert query["code_challenge"]
        assert query["code_challenge_method"] == "S256"
        if provider == "google":
            assert query["nonce"]


@pytest.mark.parametrize("provider", ["github", "google"])
async def test_oauth_callback_signs_in_once(
    oauth_client: httpx.AsyncClient, fake_oauth: FakeOAuthServer, provider: str
) -> None:
    """The callback is 200 with a token pair; replaying its state is 401 AUTH_OAUTH_FAILED."""
    location = (await oauth_client.get(f"/auth/{provider}")).headers["location"]
    callback = await fake_oauth.approve(location)
    params = {"code": callback.code, "state": callback.state}
    response = await oauth_client.get(f"/auth/{provider}/callback", params=params)
    assert response.status_code == 200, response.text
    assert set(response.json()) == PAIR_KEYS
    assert (await me(oauth_client, response.json()["access_token"])).status_code == 200
    replay = await oauth_client.get(f"/auth/{provider}/callback", params=params)
    assert_401(replay, "AUTH_OAUTH_FAILED")


async def test_oauth_wrong_state_is_401(
    oauth_client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """A callback with an unknown state is 401 AUTH_OAUTH_FAILED."""
    location = (await oauth_client.get("/auth/github")).headers["location"]
    callback = await fake_oauth.approve(location)
    response = await oauth_client.get(
        "/auth/github/callback", params={"code": callback.code, "state": "forged-state"}
    )
    assert_401(response, "AUTH_OAUTH_FAILED")


async def test_oauth_only_account_cannot_password_login(
    oauth_client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """An account made by OAuth has no password: login is 401 AUTH_INVALID_CREDENTIALS."""
    callback = await fake_oauth.approve(
        (await oauth_client.get("/auth/github")).headers["location"]
    )
    await oauth_client.get(
        "/auth/github/callback", params={"code": callback.code, "state": callback.state}
    )
    assert_401(await login(oauth_client, "octo@example.com", ""), "AUTH_INVALID_CREDENTIALS")
    response = await login(oauth_client, "octo@example.com", "some password guess")
    assert_401(response, "AUTH_INVALID_CREDENTIALS")


async def test_oauth_links_existing_account_only_when_verified(
    oauth_client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """An unverified provider email is 401 AUTH_OAUTH_EMAIL_UNVERIFIED; a verified one links."""
    local = await register(oauth_client, "octo@example.com")
    fake_oauth.github.account = FakeAccount("1001", "octo@example.com", email_verified=False)
    assert_401(await github_sign_in(oauth_client, fake_oauth), "AUTH_OAUTH_EMAIL_UNVERIFIED")
    fake_oauth.github.account = FakeAccount("1001", "octo@example.com", email_verified=True)
    response = await github_sign_in(oauth_client, fake_oauth)
    assert response.status_code == 200
    linked = jwt_part(response.json()["access_token"], 1)["sub"]
    assert linked == jwt_part(local["access_token"], 1)["sub"]


async def test_oauth_without_email_or_with_provider_failure(
    oauth_client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """No shared email is AUTH_OAUTH_NO_EMAIL; a failing provider is AUTH_OAUTH_FAILED."""
    fake_oauth.github.account = FakeAccount("2002", None)
    assert_401(await github_sign_in(oauth_client, fake_oauth), "AUTH_OAUTH_NO_EMAIL")
    fake_oauth.github.account = FakeAccount("2003", "new@example.com")
    fake_oauth.github.fail("token", 500)
    assert_401(await github_sign_in(oauth_client, fake_oauth), "AUTH_OAUTH_FAILED")


async def test_oauth_sign_in_of_deactivated_account(
    oauth_client: httpx.AsyncClient, oauth_shop: Shop, fake_oauth: FakeOAuthServer
) -> None:
    """OAuth sign-in of a deactivated account is 401 AUTH_USER_INACTIVE."""
    first = await github_sign_in(oauth_client, fake_oauth)
    uid = int(jwt_part(first.json()["access_token"], 1)["sub"])
    await oauth_shop.identity.create_account(ADMIN_EMAIL, ADMIN_PASSWORD, role=Role.ADMIN)
    admin = (await login(oauth_client, ADMIN_EMAIL, ADMIN_PASSWORD)).json()["access_token"]
    await oauth_client.patch(f"/admin/users/{uid}/deactivate", headers=bearer(admin))
    assert_401(await github_sign_in(oauth_client, fake_oauth), "AUTH_USER_INACTIVE")


async def test_google_id_token_exchange(
    oauth_client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """POST /auth/google/token: a valid ID token gives a pair; a bad one 401."""
    token = fake_oauth.google.issue_id_token()
    response = await oauth_client.post("/auth/google/token", json={"id_token": token})
    assert response.status_code == 200, response.text
    assert set(response.json()) == PAIR_KEYS
    bad = await oauth_client.post("/auth/google/token", json={"id_token": token[:-6] + "AAAAAA"})
    assert_401(bad, "AUTH_GOOGLE_INVALID_TOKEN")


# --- SQLite -------------------------------------------------------------------------------


async def test_app_from_environment_shares_tokens_across_instances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two create_app() from $BOOKSHOP_DATABASE_URL/$BOOKSHOP_JWT_SECRET share tokens."""
    monkeypatch.setenv("BOOKSHOP_DATABASE_URL", sqlite_url(tmp_path / "env.db"))
    monkeypatch.setenv("BOOKSHOP_JWT_SECRET", SECRET)
    monkeypatch.setenv("BOOKSHOP_CORS_ORIGINS", "")
    first, second = create_app(), create_app()
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        transports = [httpx.ASGITransport(app=app) for app in (first, second)]
        async with (
            httpx.AsyncClient(transport=transports[0], base_url="http://one.test") as one,
            httpx.AsyncClient(transport=transports[1], base_url="http://two.test") as two,
        ):
            assert (await one.get("/health")).json()["status"] == "ok"
            pair = await register(one, "ada@example.com")
            assert (await me(two, pair["access_token"])).status_code == 200
            assert (await refresh(two, pair["refresh_token"])).status_code == 200
    assert (tmp_path / "env.db").exists()


async def test_concurrent_refresh_one_winner_on_sqlite(tmp_path: Path, clock: ManualClock) -> None:
    """Ten concurrent refreshes of one token on SQLite: exactly one succeeds."""
    async with (
        open_shop(sqlite_url(tmp_path / "auth.db"), clock) as opened,
        serve(opened) as client,
    ):
        pair = await register(client, "ada@example.com")
        responses = await asyncio.gather(
            *(refresh(client, pair["refresh_token"]) for _ in range(10))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [401] * 9
        winner = next(r for r in responses if r.status_code == 200).json()
        # the reuse revoked the family, the winner's tokens included
        assert (await refresh(client, winner["refresh_token"])).status_code == 401


async def test_registration_race_safe_on_sqlite(tmp_path: Path, clock: ManualClock) -> None:
    """Concurrent registrations of one email in several cases: one 201, the rest 409."""
    async with (
        open_shop(sqlite_url(tmp_path / "race.db"), clock) as opened,
        serve(opened) as client,
    ):
        emails = ["ada@example.com", "ADA@example.com", "Ada@Example.COM", " ada@example.com"] * 2
        responses = await asyncio.gather(
            *(
                client.post("/auth/register", json={"email": email, "password": PASSWORD})
                for email in emails
            )
        )
        assert sorted(r.status_code for r in responses) == [201] + [409] * 7
        conflicts = {r.json()["code"] for r in responses if r.status_code == 409}
        assert conflicts == {"AUTH_EMAIL_CONFLICT"}
