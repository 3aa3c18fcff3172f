"""How the auth routes answer input the core refuses: password-policy refusals in the flat
form, emails no store can hold, token ids beyond any id column; none of it is a crash.

Runs on every backend of the shared harness (the crashes these pin were SQL-only).
"""

from __future__ import annotations

import logging

import httpx
import jwt
import pytest

from bookshop_adapters.testing.identity import TEST_PASSWORD
from bookshop_adapters.testing.tokens import TEST_JWT_SECRET, TokenContext, forge_access_token
from bookshop_core import ManualClock

COMMON = "Password is too common; choose a less predictable password"


async def _register(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/register", json={"email": email, "password": password})


@pytest.mark.parametrize(
    ("password", "detail"),
    [
        pytest.param("password123", COMMON, id="common"),
        pytest.param(
            "reader-2024!", "Password must not contain your email address", id="from-the-email"
        ),
    ],
)
async def test_a_password_policy_refusal_is_422_in_the_flat_form(
    client: httpx.AsyncClient, password: str, detail: str
) -> None:
    """A well-formed password the policy refuses is 422 {detail: text, code, field}: the web
    client's register page renders ``detail`` as text."""
    response = await _register(client, "reader@example.com", password)
    assert response.status_code == 422
    assert response.json() == {"detail": detail, "code": "VALIDATION_ERROR", "field": "password"}


async def test_a_password_too_short_is_a_request_shape_error(client: httpx.AsyncClient) -> None:
    """Below 8 characters the request's schema refuses it: 422 in the list form."""
    response = await _register(client, "reader@example.com", "short")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "password"],
                "msg": "must have at least 8 characters",
                "type": "value_error",
            }
        ],
        "code": "VALIDATION_ERROR",
    }


@pytest.mark.parametrize(
    "escaped_email",
    [
        pytest.param("\\ud800@example.com", id="lone-surrogate"),
        pytest.param("nul\\u0000@example.com", id="nul"),
    ],
)
@pytest.mark.parametrize("route", ["/auth/login", "/auth/register"])
async def test_an_unstorable_email_is_422_and_no_crash(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, route: str, escaped_email: str
) -> None:
    """An email with a lone surrogate or NUL (valid JSON escapes) is 422 VALIDATION_ERROR on
    body.email, and nothing is logged as an error."""
    body = f'{{"email": "{escaped_email}", "password": "{TEST_PASSWORD}"}}'
    with caplog.at_level(logging.ERROR):
        response = await client.post(
            route, content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["code"] == "VALIDATION_ERROR"
    assert [error["loc"] for error in payload["detail"]] == [["body", "email"]]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_signed_token_with_a_subject_past_2_63_is_401_token_invalid(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """A well-signed access token with ``sub`` = 2**63 is 401 AUTH_TOKEN_INVALID."""
    pair = (await _register(client, "big@example.com", TEST_PASSWORD)).json()
    sid = jwt.decode(pair["access_token"], options={"verify_signature": False})["sid"]
    context = TokenContext(TEST_JWT_SECRET, user_id=1, session_id=sid, now=clock.now())
    token = forge_access_token(context, sub=str(2**63))
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "AUTH_TOKEN_INVALID"
    assert response.headers["www-authenticate"] == "Bearer"
