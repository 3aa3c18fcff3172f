"""What fuzzing the HTTP app found (``test_http_schemathesis.py`` and probes beside it), one
behaviour per test, so that each fix stays fixed whatever the fuzzer happens to generate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.oauth import OAuthSettings
from bookshop_adapters.testing.identity import open_test_shop, sign_up
from bookshop_core import CreateGenre, ManualClock, Role, ValidationError

#: JSON's escape for a UTF-16 surrogate with no partner: it decodes to a Python ``str`` that
#: no UTF-8 response can carry.
LONE_SURROGATE = "\\ud800"


@pytest.fixture
async def shop(clock: ManualClock) -> AsyncIterator[Shop]:
    """Memory only (these are input checks, made before the store), fast hashing."""
    settings = ShopSettings(oauth=OAuthSettings())
    async with open_test_shop("memory://", clock=clock, settings=settings) as opened:
        yield opened


@pytest.fixture
async def admin(shop: Shop) -> dict[str, str]:
    """An admin's bearer header."""
    _, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return {"Authorization": f"Bearer {pair.access_token}"}


async def post_json(
    client: httpx.AsyncClient, path: str, raw: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST ``raw`` bytes as they are, declared as JSON."""
    return await client.post(
        path, content=raw, headers={**(headers or {}), "Content-Type": "application/json"}
    )


def validation_errors(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    errors: list[dict[str, Any]] = body["detail"]
    return errors


# -- bodies that are not JSON at all: 422, like any other malformed JSON (was a bare 400) ----


async def test_a_json_body_that_is_not_utf8_is_a_validation_error(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Bytes that are no UTF-8 get the 422 of a JSON syntax error, not an undocumented 400."""
    response = await post_json(client, "/genres", b'{"name": "\xe9t\xe9"}', admin)
    assert validation_errors(response) == [
        {"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}
    ]


async def test_a_json_integer_too_long_to_parse_is_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    """An integer over Python's 4300-digit parsing limit makes the body malformed: 422."""
    body = b'{"email": "a@example.com", "password": ' + b"1" * 5000 + b"}"
    response = await post_json(client, "/auth/login", body)
    assert [error["type"] for error in validation_errors(response)] == ["json_invalid"]


async def test_json_nested_deeper_than_the_parser_goes_is_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    """A body nesting past the parser's recursion limit is malformed JSON: 422, never 400/500."""
    response = await post_json(client, "/auth/login", b"[" * 100_000)
    assert [error["type"] for error in validation_errors(response)] == ["json_invalid"]


# -- lone surrogates: refused by the core's text checks (was a 500, and a poisoned store) ----


async def test_a_genre_name_with_a_lone_surrogate_is_refused_and_not_stored(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Stored, such a name made every later GET /genres a 500; now it is a 422 on name."""
    body = f'{{"name": "Sci{LONE_SURROGATE}fi"}}'.encode()
    response = await post_json(client, "/genres", body, admin)
    assert [error["loc"] for error in validation_errors(response)] == [["body", "name"]]
    listed = await client.get("/genres")
    assert (listed.status_code, listed.json()) == (200, [])


async def test_every_book_text_with_a_lone_surrogate_is_reported_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """title, author, description and cover_image_url each refused; no book is created."""
    s = LONE_SURROGATE
    body = (
        f'{{"title": "T{s}", "author": "A{s}", "price": "9.99", '
        f'"description": "{s}", "cover_image_url": "/covers/{s}.png"}}'
    ).encode()
    response = await post_json(client, "/books", body, admin)
    assert sorted(error["loc"][1] for error in validation_errors(response)) == [
        "author",
        "cover_image_url",
        "description",
        "title",
    ]
    listed = await client.get("/books")
    assert (listed.status_code, listed.json()["total"]) == (200, 0)


async def test_a_password_with_a_lone_surrogate_is_refused_before_hashing(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    """Registration answered 500 (the hasher cannot encode it); now 422 on password, and no
    account is created."""
    body = f'{{"email": "new@example.com", "password": "correct horse {LONE_SURROGATE}"}}'
    response = await post_json(client, "/auth/register", body.encode())
    assert [error["loc"] for error in validation_errors(response)] == [["body", "password"]]
    users = await client.get("/admin/users", params={"q": "new@"}, headers=admin)
    assert users.json()["total_count"] == 0


def test_a_command_built_in_python_refuses_a_lone_surrogate_too() -> None:
    """The check is the command's own, not the HTTP app's: an embedding app gets it as well."""
    with pytest.raises(ValidationError) as refused:
        CreateGenre(name="Sci\ud800fi")
    assert [error.loc for error in refused.value.errors] == [("name",)]
