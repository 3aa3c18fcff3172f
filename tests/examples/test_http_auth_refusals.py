"""How the auth routes answer input the core refuses: password-policy refusals in the flat
form, emails no store can hold; none of it is a crash.

Runs on every backend of the shared harness (the crashes these pin were SQL-only).
"""

from __future__ import annotations

import logging

import httpx
import pytest

from bookshop_adapters.testing.identity import TEST_PASSWORD

COMMON = "Password is too common; choose a less predictable password"


async def _register(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/register", json={"email": email, "password": password})


async def test_a_password_policy_refusal_is_422_in_the_flat_form(
    client: httpx.AsyncClient,
) -> None:
    """A well-formed password the policy refuses (here a common one) is 422 {detail: text,
    code, field}: the web client's register page renders ``detail`` as text."""
    response = await _register(client, "reader@example.com", "password123")
    assert response.status_code == 422
    assert response.json() == {"detail": COMMON, "code": "VALIDATION_ERROR", "field": "password"}


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


@pytest.mark.parametrize("route", ["/auth/login", "/auth/register"])
async def test_an_unstorable_email_is_422_and_no_crash(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, route: str
) -> None:
    """An email with a lone surrogate (a valid JSON escape that no UTF-8 answer can echo) is
    422 VALIDATION_ERROR on body.email, and nothing is logged as an error."""
    body = f'{{"email": "\\ud800@example.com", "password": "{TEST_PASSWORD}"}}'
    with caplog.at_level(logging.ERROR):
        response = await client.post(
            route, content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["code"] == "VALIDATION_ERROR"
    assert [error["loc"] for error in payload["detail"]] == [["body", "email"]]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
