"""The one error mapping: domain errors, request validation, routing errors, unexpected ones.

Errors are raised through test-only routes added to the app here, never in the app itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from http import HTTPStatus

import httpx
import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop
from bookshop_core import (
    ERRORS,
    AuthenticationError,
    Conflict,
    DomainError,
    FieldError,
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unavailable,
    ValidationError,
)
from bookshop_examples.http.app import create_app
from bookshop_examples.http.errors import STATUS_BY_CODE, error_responses

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]
Respond = Callable[..., Awaitable[httpx.Response]]
ORIGIN = "http://localhost:3000"


# Error mapping does not depend on the store: memory only.
pytestmark = pytest.mark.bookshop_backends("memory")


@pytest.fixture
def respond(shop: Shop, serve: Serve) -> Respond:
    """``await respond(error, headers=...)``: the answer of a test-only route raising it."""

    async def respond(
        error: BaseException, *, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        app = create_app(shop=shop)

        async def raise_it() -> None:
            raise error

        app.add_api_route("/raise", raise_it, methods=["GET"])
        async with serve(app) as client:
            return await client.get("/raise", headers=headers)

    return respond


# -- domain errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_registered_code_has_the_status_its_class_suggests(code: str) -> None:
    """The app's status map is the core registry's: no code missing, none unknown."""
    assert STATUS_BY_CODE[code] == ERRORS[code].http_status


def test_the_status_map_covers_exactly_the_registry() -> None:
    """No code of the map is unknown to the core, none of the core's is missing."""
    assert set(STATUS_BY_CODE) == set(ERRORS)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(ValidationError.single("x", "bad"), 422, id="VALIDATION_ERROR-422"),
        pytest.param(NotFound("gone", code="BOOK_NOT_FOUND"), 404, id="BOOK_NOT_FOUND-404"),
        pytest.param(Conflict("taken", code="GENRE_CONFLICT"), 409, id="GENRE_CONFLICT-409"),
        pytest.param(AuthenticationError("?", code="AUTH_TOKEN_INVALID"), 401, id="token-401"),
        pytest.param(PermissionDenied("no", code="AUTH_FORBIDDEN"), 403, id="forbidden-403"),
        pytest.param(RateLimited("slow", code="AUTH_TOO_MANY_ATTEMPTS"), 429, id="rate-429"),
        pytest.param(Unavailable("down", code="STORE_UNAVAILABLE"), 503, id="store-503"),
        pytest.param(
            DomainError("setup", code="AUTH_OAUTH_NOT_CONFIGURED"), 500, id="oauth-config-500"
        ),
    ],
)
async def test_a_code_answers_with_its_registered_status(
    respond: Respond, error: DomainError, status: int
) -> None:
    """A code of API.md has its documented status, whatever category it was raised as."""
    response = await respond(error)
    assert response.status_code == status
    assert response.json()["code"] == error.code


async def test_domain_error_body_has_detail_code_field_and_details(respond: Respond) -> None:
    """The body is {detail, code, field} plus structured details as further keys."""
    error = Conflict("Taken", code="GENRE_CONFLICT", field="name", details={"existing_genre_id": 7})
    response = await respond(error)
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Taken",
        "code": "GENRE_CONFLICT",
        "field": "name",
        "existing_genre_id": 7,
    }


async def test_domain_error_without_field_omits_it(respond: Respond) -> None:
    """field appears only when one input is at fault."""
    body = (await respond(InvalidCredentials())).json()
    assert body == {"detail": "Invalid email or password", "code": "AUTH_INVALID_CREDENTIALS"}


async def test_401_carries_www_authenticate_bearer(respond: Respond) -> None:
    """Every 401 keeps WWW-Authenticate: Bearer."""
    response = await respond(AuthenticationError("Token expired", code="AUTH_TOKEN_EXPIRED"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_rate_limited_sends_retry_after(respond: Respond) -> None:
    """A 429 with details.retry_after tells the client when to retry."""
    error = RateLimited(
        "Too many attempts", code="AUTH_TOO_MANY_ATTEMPTS", details={"retry_after": 30}
    )
    response = await respond(error)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"


async def test_domain_validation_error_lists_every_field(respond: Respond) -> None:
    """A core ValidationError is 422 {detail: [{loc, msg, type}...], code: VALIDATION_ERROR}."""
    error = ValidationError(
        [FieldError(("title",), "must not be empty"), FieldError(("price",), "too big")]
    )
    response = await respond(error)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"loc": ["title"], "msg": "must not be empty", "type": "value_error"},
            {"loc": ["price"], "msg": "too big", "type": "value_error"},
        ],
        "code": "VALIDATION_ERROR",
    }


# -- unexpected errors --------------------------------------------------------------------------


async def test_unexpected_exception_is_a_bare_500(respond: Respond) -> None:
    """Anything unexpected is 500 {"detail": "Internal server error", "code": "INTERNAL_ERROR"},
    revealing nothing of the cause."""
    response = await respond(RuntimeError("secret connection string"))
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "code": "INTERNAL_ERROR"}


async def test_unexpected_exception_is_logged(
    respond: Respond, caplog: pytest.LogCaptureFixture
) -> None:
    """The cause of a 500 goes to the log, with its traceback."""
    with caplog.at_level(logging.ERROR, logger="bookshop.http"):
        await respond(RuntimeError("kaboom"))
    [record] = [r for r in caplog.records if r.name == "bookshop.http"]
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "kaboom"
    assert "/raise" in record.getMessage()


async def test_500_keeps_cors_headers(respond: Respond) -> None:
    """A browser client can read a 500: it carries the CORS headers like any other answer."""
    response = await respond(RuntimeError("boom"), headers={"Origin": ORIGIN})
    assert response.status_code == 500
    assert response.headers["access-control-allow-origin"] == ORIGIN


# -- routing and request validation -------------------------------------------------------------


async def test_unknown_route_is_404_http_404(client: httpx.AsyncClient) -> None:
    """A path no route serves is 404 {"detail", "code": "HTTP_404"}."""
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found", "code": "HTTP_404"}


async def test_wrong_method_is_405_http_405(client: httpx.AsyncClient) -> None:
    """A known path with an unserved method is 405 HTTP_405 with the Allow header."""
    response = await client.delete("/genres")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed", "code": "HTTP_405"}
    assert response.headers["allow"] == "GET, POST"  # every route at the path, not the first


async def test_request_validation_body_has_only_loc_msg_type(client: httpx.AsyncClient) -> None:
    """FastAPI's own 422 uses the API's shape: no input echo, no ctx, no url."""
    response = await client.get("/books/abc")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    [error] = body["detail"]
    assert set(error) == {"loc", "msg", "type"}
    assert error["loc"] == ["path", "book_id"]


# -- OpenAPI helper -----------------------------------------------------------------------------


def test_error_responses_refuse_a_code_of_an_undeclared_status() -> None:
    """Documenting a code under a status the route does not declare is a bug caught early."""
    with pytest.raises(ValueError, match="BOOK_NOT_FOUND"):
        error_responses(422, codes=["BOOK_NOT_FOUND"])


def test_error_responses_list_codes_in_descriptions() -> None:
    """Each declared status documents its model and the codes the route raises."""
    responses = error_responses(404, 422, codes=["BOOK_NOT_FOUND"])
    assert responses[404]["description"] == "Not Found: BOOK_NOT_FOUND"
    assert responses[422]["description"] == f"{HTTPStatus(422).phrase}: VALIDATION_ERROR"
