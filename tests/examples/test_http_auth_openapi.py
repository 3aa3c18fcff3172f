"""The OpenAPI document of the auth, user, catalog-write and upload routes: each route with its
error responses, and the bearer security scheme on exactly the routes that need a token."""

from __future__ import annotations

from typing import Any

import pytest

from bookshop_examples.http.app import create_app

PUBLIC = "public"
USER = "user"
ADMIN = "admin"

#: (method, path): who may call it, and every status it documents.
ROUTES: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("post", "/auth/register"): (PUBLIC, {"201", "409", "422", "500"}),
    ("post", "/auth/login"): (PUBLIC, {"200", "401", "403", "422", "429", "500"}),
    ("post", "/auth/refresh"): (PUBLIC, {"200", "401", "422", "500"}),
    ("post", "/auth/logout"): (PUBLIC, {"204", "422", "500"}),
    ("post", "/auth/logout-all"): (USER, {"204", "401", "403", "500"}),
    ("get", "/auth/google"): (PUBLIC, {"302", "400", "401", "500"}),
    ("get", "/auth/google/callback"): (PUBLIC, {"200", "401", "422", "500"}),
    ("post", "/auth/google/token"): (PUBLIC, {"200", "401", "422", "500"}),
    ("get", "/auth/github"): (PUBLIC, {"302", "400", "401", "500"}),
    ("get", "/auth/github/callback"): (PUBLIC, {"200", "401", "422", "500"}),
    ("get", "/users/me"): (USER, {"200", "401", "403", "500"}),
    ("get", "/admin/users"): (ADMIN, {"200", "401", "403", "422", "500"}),
    ("patch", "/admin/users/{user_id}/deactivate"): (
        ADMIN,
        {"200", "401", "403", "404", "422", "500"},
    ),
    ("patch", "/admin/users/{user_id}/reactivate"): (
        ADMIN,
        {"200", "401", "403", "404", "422", "500"},
    ),
    ("patch", "/admin/users/{user_id}/role"): (
        ADMIN,
        {"200", "401", "403", "404", "409", "422", "500"},
    ),
    ("post", "/books"): (ADMIN, {"201", "401", "403", "409", "422", "500"}),
    ("put", "/books/{book_id}"): (ADMIN, {"200", "401", "403", "404", "409", "422", "500"}),
    ("delete", "/books/{book_id}"): (ADMIN, {"204", "401", "403", "404", "422", "500"}),
    ("patch", "/books/{book_id}/stock"): (ADMIN, {"200", "401", "403", "404", "422", "500"}),
    ("post", "/genres"): (ADMIN, {"201", "401", "403", "409", "422", "500"}),
    ("patch", "/genres/{genre_id}"): (ADMIN, {"200", "401", "403", "404", "409", "422", "500"}),
    ("delete", "/genres/{genre_id}"): (ADMIN, {"204", "401", "403", "404", "409", "422", "500"}),
    ("post", "/uploads/images"): (ADMIN, {"200", "400", "401", "403", "422", "500"}),
    ("get", "/uploads/{name}"): (PUBLIC, {"200", "404", "422", "500"}),
    ("post", "/prebooks"): (USER, {"201", "401", "403", "404", "409", "422", "500"}),
    ("get", "/prebooks"): (USER, {"200", "401", "403", "500"}),
    ("delete", "/prebooks/{prebooking_id}"): (
        USER,
        {"204", "401", "403", "404", "409", "422", "500"},
    ),
    ("get", "/admin/outbox"): (ADMIN, {"200", "401", "403", "422", "500"}),
    ("post", "/admin/outbox/{message_id}/retry"): (
        ADMIN,
        {"200", "401", "403", "404", "409", "422", "500"},
    ),
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The document of an app that is never started (the schema needs no store)."""
    document: dict[str, Any] = create_app("memory://").openapi()
    return document


def operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["paths"][path][method]
    return found


def test_the_bearer_scheme_is_declared(spec: dict[str, Any]) -> None:
    """components.securitySchemes has the HTTP bearer scheme (JWT)."""
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


@pytest.mark.parametrize(("method", "path"), list(ROUTES))
def test_each_route_declares_its_responses_and_security(
    spec: dict[str, Any], method: str, path: str
) -> None:
    """Every route documents each status it can answer, and asks for the bearer token
    exactly when it needs one."""
    who, statuses = ROUTES[method, path]
    op = operation(spec, method, path)
    # 413 (the body limit) is declared on every route with a body: test_http_openapi.py.
    assert set(op["responses"]) - {"413"} == statuses
    assert op.get("security") == (None if who == PUBLIC else [{"bearer": []}])


@pytest.mark.parametrize(("method", "path"), [key for key, (w, _) in ROUTES.items() if w != PUBLIC])
def test_protected_routes_list_the_auth_codes(spec: dict[str, Any], method: str, path: str) -> None:
    """401 lists the missing, expired and invalid token codes; 403 the deactivated account,
    and for admin routes AUTH_FORBIDDEN."""
    who, _ = ROUTES[method, path]
    responses = operation(spec, method, path)["responses"]
    for code in ("HTTP_401", "AUTH_TOKEN_EXPIRED", "AUTH_TOKEN_INVALID"):
        assert code in responses["401"]["description"]
    assert "AUTH_ACCOUNT_DEACTIVATED" in responses["403"]["description"]
    assert ("AUTH_FORBIDDEN" in responses["403"]["description"]) is (who == ADMIN)


def test_registration_documents_no_role(spec: dict[str, Any]) -> None:
    """The register body is {email, password} (and the optional display_name shown on the
    account's reviews) and refuses other fields."""
    body = operation(spec, "post", "/auth/register")["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"email", "password", "display_name"}
    assert schema["additionalProperties"] is False
    assert schema["properties"]["password"]["minLength"] == 8


def test_partial_update_bodies_require_nothing(spec: dict[str, Any]) -> None:
    """PUT /books/{id} and PATCH /genres/{id} document every field as optional."""
    for method, path in (("put", "/books/{book_id}"), ("patch", "/genres/{genre_id}")):
        body = operation(spec, method, path)["requestBody"]
        assert "required" not in body["content"]["application/json"]["schema"]


def test_oauth_start_documents_the_redirect(spec: dict[str, Any]) -> None:
    """GET /auth/{provider} documents a 302 with its Location header."""
    for provider in ("google", "github"):
        found = operation(spec, "get", f"/auth/{provider}")["responses"]["302"]
        assert "Location" in found["headers"]


def test_the_token_pair_is_a_named_schema(spec: dict[str, Any]) -> None:
    """Sign-in routes answer TokenPairOut {access_token, refresh_token, token_type}."""
    response = operation(spec, "post", "/auth/login")["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/TokenPairOut")
    schema = spec["components"]["schemas"]["TokenPairOut"]
    assert set(schema["properties"]) == {"access_token", "refresh_token", "token_type"}


def test_no_framework_error_model_leaks(spec: dict[str, Any]) -> None:
    """Every 422 is documented with the API's ValidationErrorBody, never FastAPI's default."""
    assert "HTTPValidationError" not in spec["components"]["schemas"]
