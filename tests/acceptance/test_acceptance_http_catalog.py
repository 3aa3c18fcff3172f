"""Acceptance: the catalog, health and conventions of API.md, as a web client sees them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest

import bookshop_core
from bookshop_adapters import Repositories, Shop, build_shop
from bookshop_adapters.memory import MemoryBackend
from bookshop_core import CreateBook, ManualClock, Principal, Role
from tests.acceptance.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    bearer,
    open_shop,
    serve,
    sqlite_url,
)

BOOK_FIELDS = {
    "id",
    "title",
    "author",
    "price",
    "isbn",
    "genre_id",
    "description",
    "cover_image_url",
    "publish_date",
    "stock_quantity",
}


async def add_genre(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, parent_id: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if parent_id is not None:
        body["parent_id"] = parent_id
    response = await client.post("/genres", json=body, headers=headers)
    assert response.status_code == 201, response.text
    genre: dict[str, Any] = response.json()
    return genre


async def add_book(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"title": "Dune", "author": "Frank Herbert", "price": "9.99", **fields}
    response = await client.post("/books", json=body, headers=headers)
    assert response.status_code == 201, response.text
    book: dict[str, Any] = response.json()
    return book


async def set_stock(
    client: httpx.AsyncClient, headers: dict[str, str], book_id: int, quantity: int
) -> dict[str, Any]:
    response = await client.patch(
        f"/books/{book_id}/stock", json={"quantity": quantity}, headers=headers
    )
    assert response.status_code == 200, response.text
    book: dict[str, Any] = response.json()
    return book


async def titles(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/books", params=params)
    assert response.status_code == 200, response.text
    return [book["title"] for book in response.json()["items"]]


def assert_error(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str if code != "VALIDATION_ERROR" else list)
    if field is not None:
        assert body["field"] == field


def assert_validation(response: httpx.Response, *fields: str) -> None:
    """422 VALIDATION_ERROR naming each of ``fields``: in the detail list (last part of loc)
    for a request of the wrong shape, or as the flat ``field`` for a value a rule refused."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    if isinstance(body["detail"], str):  # the flat form: one sentence about one field
        assert set(fields) == {body["field"]}, body
        return
    assert isinstance(body["detail"], list)
    assert body["detail"]
    for item in body["detail"]:
        assert {"loc", "msg", "type"} <= set(item)
    named = {item["loc"][-1] for item in body["detail"]}
    for field in fields:
        assert field in named, (field, body)


# --- health -------------------------------------------------------------------------------


async def test_health_ok_with_version(client: httpx.AsyncClient) -> None:
    """GET /health is 200 {status: ok, version} while the store answers."""
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": metadata.version("bookshop")}
    assert response.json()["version"] == bookshop_core.__version__


class _DownBackend(MemoryBackend):
    """A store that cannot be reached (its ping fails like a refused connection)."""

    async def ping(self) -> bool:
        raise ConnectionRefusedError("connection refused")


async def test_health_503_when_store_unreachable() -> None:
    """GET /health is 503 {status: unavailable} when the store does not answer."""
    shop = await build_shop(backend=_DownBackend(), clock=ManualClock())
    async with serve(shop) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


# --- conventions --------------------------------------------------------------------------


async def test_unknown_route_is_http_404(client: httpx.AsyncClient) -> None:
    """An unknown path is 404 {detail, code: HTTP_404}."""
    response = await client.get("/no-such-route")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "HTTP_404"
    assert isinstance(body["detail"], str)


async def test_unknown_method_is_http_405(client: httpx.AsyncClient) -> None:
    """A method a path does not serve is 405 {detail, code: HTTP_405}."""
    response = await client.delete("/books")
    assert response.status_code == 405
    body = response.json()
    assert body["code"] == "HTTP_405"
    assert isinstance(body["detail"], str)


class _ExplodingBooks:
    """A books repository that fails in an unexpected way."""

    def __getattr__(self, name: str) -> Any:
        async def explode(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals")

        return explode


async def test_unexpected_failure_is_500_internal_error(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Anything unexpected is 500 {detail: Internal server error, code: INTERNAL_ERROR}, logged."""
    async with (
        open_shop(
            "memory://", clock, repositories=Repositories(books=lambda uow: _ExplodingBooks())
        ) as shop,
        serve(shop) as client,
    ):
        response = await client.get("/books/1", headers={"Origin": "http://localhost:3000"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "code": "INTERNAL_ERROR"}
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "secret internals" not in response.text
    assert any(
        record.exc_info and "secret internals" in str(record.exc_info[1])
        for record in caplog.records
    )


async def test_cors_preflight_default_origins(client: httpx.AsyncClient) -> None:
    """Preflight from each default origin allows credentials, the listed methods and headers."""
    for origin in ("http://localhost:3000", "http://127.0.0.1:3000"):
        response = await client.options(
            "/books",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
            },
        )
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-credentials"] == "true"
        methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
        assert {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} <= methods
        allowed = {
            h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
        }
        assert {"authorization", "content-type", "idempotency-key"} <= allowed


async def test_cors_simple_request_and_foreign_origin(client: httpx.AsyncClient) -> None:
    """A listed origin gets allow-origin + credentials; any other origin gets no allow-origin."""
    response = await client.get("/books", headers={"Origin": "http://localhost:3000"})
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["access-control-allow-credentials"] == "true"
    response = await client.get("/books", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_cors_headers_on_errors(client: httpx.AsyncClient) -> None:
    """Error responses carry CORS headers too, so the browser lets the client read them."""
    response = await client.get("/books/999", headers={"Origin": "http://127.0.0.1:3000"})
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"


async def test_cors_origins_configurable(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """CORS origins come from create_app(cors_origins=...) or $BOOKSHOP_CORS_ORIGINS."""
    async with serve(shop, cors_origins=["https://shop.example"]) as client:
        ok = await client.get("/books", headers={"Origin": "https://shop.example"})
        default = await client.get("/books", headers={"Origin": "http://localhost:3000"})
    assert ok.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in default.headers
    monkeypatch.setenv("BOOKSHOP_CORS_ORIGINS", "https://a.example, https://b.example")
    async with serve(shop) as client:
        response = await client.get("/books", headers={"Origin": "https://b.example"})
    assert response.headers["access-control-allow-origin"] == "https://b.example"


API_ROUTES = {
    ("GET", "/health"),
    ("GET", "/books"),
    ("GET", "/books/{}"),
    ("POST", "/books"),
    ("PUT", "/books/{}"),
    ("DELETE", "/books/{}"),
    ("PATCH", "/books/{}/stock"),
    ("GET", "/genres"),
    ("POST", "/genres"),
    ("PATCH", "/genres/{}"),
    ("DELETE", "/genres/{}"),
    ("POST", "/uploads/images"),
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout-all"),
    ("GET", "/auth/google"),
    ("GET", "/auth/google/callback"),
    ("POST", "/auth/google/token"),
    ("GET", "/auth/github"),
    ("GET", "/auth/github/callback"),
    ("GET", "/users/me"),
    ("GET", "/admin/users"),
    ("PATCH", "/admin/users/{}/deactivate"),
    ("PATCH", "/admin/users/{}/reactivate"),
    ("PATCH", "/admin/users/{}/role"),
}


async def test_openapi_lists_every_route_with_errors(client: httpx.AsyncClient) -> None:
    """The OpenAPI document lists every API.md route, each with its error responses."""
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    served = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path)): operation
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }
    assert set(served) >= API_ROUTES
    assert {"404", "422"} <= set(served["GET", "/books/{}"]["responses"])
    assert {"401", "403", "409", "422"} <= set(served["POST", "/books"]["responses"])
    assert {"401", "403", "404", "409"} <= set(served["PATCH", "/admin/users/{}/role"]["responses"])
    assert {"401", "403", "422", "429"} <= set(served["POST", "/auth/login"]["responses"])


# --- public reads -------------------------------------------------------------------------


async def test_empty_book_list_envelope(client: httpx.AsyncClient) -> None:
    """GET /books on an empty shop is exactly {items: [], total: 0, page: 1, size: 20}."""
    response = await client.get("/books")
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "page": 1, "size": 20}


async def test_book_shape_on_the_wire(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """A book has the Book fields, money as a 2-decimal string, and the detail extras."""
    genre = await add_genre(client, admin_headers, "Science Fiction")
    created = await add_book(
        client,
        admin_headers,
        price="10",
        isbn="978-0-441-17271-9",
        genre_id=genre["id"],
        publish_date="1965-08-01",
    )
    assert set(created) >= BOOK_FIELDS
    assert created["price"] == "10.00"
    assert created["stock_quantity"] == 0
    response = await client.get(f"/books/{created['id']}")
    assert response.status_code == 200
    book = response.json()
    assert set(book) >= BOOK_FIELDS
    assert book["price"] == "10.00"
    assert book["isbn"] == "9780441172719"
    assert book["genre_id"] == genre["id"]
    assert book["publish_date"] == "1965-08-01"
    assert book["description"] is None
    assert book["cover_image_url"] is None
    assert book["avg_rating"] is None
    assert book["review_count"] == 0
    assert book["in_stock"] is False
    listed = (await client.get("/books")).json()["items"][0]
    assert listed["price"] == "10.00"


async def test_timestamps_are_iso_with_offset(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Timestamps on the wire are ISO-8601 with a UTC offset, from the shop's clock."""
    book = await add_book(client, admin_headers)
    assert book["created_at"] == book["updated_at"] == "2030-01-01T00:00:00+00:00"


async def test_query_q_searches_by_relevance(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """GET /books?q= answers 200 with matching books (relevance order)."""
    await add_book(client, admin_headers)
    response = await client.get("/books", params={"q": "dune"})
    assert response.status_code == 200
    assert [b["title"] for b in response.json()["items"]] == ["Dune"]


async def test_book_not_found_body(client: httpx.AsyncClient) -> None:
    """GET /books/{missing} is 404 {detail, code: BOOK_NOT_FOUND, field: book_id}."""
    response = await client.get("/books/999")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "Book 999 not found",
        "code": "BOOK_NOT_FOUND",
        "field": "book_id",
    }


async def test_book_id_not_an_integer_is_422(client: httpx.AsyncClient) -> None:
    """A non-integer book id is 422 VALIDATION_ERROR with a {loc, msg, type} list."""
    assert_validation(await client.get("/books/abc"), "book_id")


async def test_money_accepts_number_and_string(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Price may be sent as a string or a number and always comes back as a 2-decimal string."""
    a = await add_book(client, admin_headers, price=15.99)
    b = await add_book(client, admin_headers, title="B", price="15.5")
    c = await add_book(client, admin_headers, title="C", price=7)
    assert (a["price"], b["price"], c["price"]) == ("15.99", "15.50", "7.00")


# --- creating books -----------------------------------------------------------------------


async def test_isbn10_stored_as_isbn13(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """An ISBN-10 with hyphens is stored and returned as the bare ISBN-13."""
    book = await add_book(client, admin_headers, isbn="0-261-10221-4")
    assert book["isbn"] == "9780261102217"
    spaced = await add_book(client, admin_headers, title="X", isbn="978 0 441 17271 9")
    assert spaced["isbn"] == "9780441172719"


async def test_isbn_empty_string_means_none(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """isbn "" or null means no ISBN; several books may have none."""
    a = await add_book(client, admin_headers, isbn="")
    b = await add_book(client, admin_headers, title="B", isbn=None)
    assert a["isbn"] is None
    assert b["isbn"] is None


async def test_isbn_conflict_across_forms(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """The same ISBN in its 10 and 13 forms conflicts: 409 BOOK_ISBN_CONFLICT field=isbn."""
    await add_book(client, admin_headers, isbn="0-261-10221-4")
    response = await client.post(
        "/books",
        json={"title": "Again", "author": "A", "price": "1", "isbn": "9780261102217"},
        headers=admin_headers,
    )
    assert_error(response, 409, "BOOK_ISBN_CONFLICT", "isbn")
    assert (await client.get("/books")).json()["total"] == 1


@pytest.mark.parametrize("isbn", ["0-261-10221-5", "123", "97802611022170", "abcdefghij"])
async def test_bad_isbn_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], isbn: str
) -> None:
    """A malformed ISBN or a wrong check digit is 422 naming isbn."""
    response = await client.post(
        "/books",
        json={"title": "T", "author": "A", "price": "1", "isbn": isbn},
        headers=admin_headers,
    )
    assert_validation(response, "isbn")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "0"),
        ("price", "-1"),
        ("price", "1.234"),
        ("price", "1e400"),
        ("price", "99999999999999999999"),
        ("price", "abc"),
        ("price", True),
        ("title", ""),
        ("title", "x" * 501),
        ("author", "x" * 256),
        ("cover_image_url", "https://x.example/" + "a" * 2048),
        ("publish_date", "not a date"),
        ("genre_id", 12345),
        ("genre_id", "abc"),
    ],
)
async def test_bad_create_fields_are_422_and_change_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], field: str, value: Any
) -> None:
    """Each bad field of POST /books is 422 naming it, and nothing is created."""
    body = {"title": "T", "author": "A", "price": "1", field: value}
    response = await client.post("/books", json=body, headers=admin_headers)
    assert_validation(response, field)
    assert (await client.get("/books")).json()["total"] == 0


async def test_missing_required_fields_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """POST /books without title, author and price names each of them."""
    response = await client.post("/books", json={}, headers=admin_headers)
    assert_validation(response, "title", "author", "price")


async def test_create_ignores_unknown_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """No mass assignment: POST /books with stock_quantity or id is 201 with neither applied."""
    body = {"title": "T", "author": "A", "price": "1", "stock_quantity": 50, "id": 7}
    response = await client.post("/books", json=body, headers=admin_headers)
    assert response.status_code == 201
    assert response.json()["stock_quantity"] == 0
    assert (await client.get("/books")).json()["total"] == 1


async def test_text_fields_are_trimmed(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Titles, authors and genre names are stored trimmed; blank ones are 422."""
    book = await add_book(client, admin_headers, title="  Dune  ", author=" Frank Herbert ")
    assert (book["title"], book["author"]) == ("Dune", "Frank Herbert")
    genre = await add_genre(client, admin_headers, "  Poetry ")
    assert genre["name"] == "Poetry"
    blank = await client.post(
        "/books", json={"title": "   ", "author": "A", "price": "1"}, headers=admin_headers
    )
    assert_validation(blank, "title")


async def test_new_book_starts_out_of_stock(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """A created book has stock_quantity 0 and is not in stock."""
    book = await add_book(client, admin_headers)
    detail = (await client.get(f"/books/{book['id']}")).json()
    assert detail["stock_quantity"] == 0
    assert detail["in_stock"] is False


# --- updating, deleting, stock ------------------------------------------------------------


async def test_put_changes_only_given_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """PUT /books/{id} with a subset changes only those fields."""
    book = await add_book(client, admin_headers, isbn="9780441172719", description="Spice")
    response = await client.put(
        f"/books/{book['id']}", json={"price": "12.5"}, headers=admin_headers
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["price"] == "12.50"
    for key in ("title", "author", "isbn", "description", "genre_id", "publish_date"):
        assert updated[key] == book[key]


async def test_put_empty_body_changes_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """PUT with {} is 200 and leaves the book as it was."""
    book = await add_book(client, admin_headers, isbn="9780441172719")
    response = await client.put(f"/books/{book['id']}", json={}, headers=admin_headers)
    assert response.status_code == 200
    assert {k: response.json()[k] for k in BOOK_FIELDS} == {k: book[k] for k in BOOK_FIELDS}


@pytest.mark.parametrize("field", ["title", "author", "price"])
async def test_put_null_for_required_field_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], field: str
) -> None:
    """PUT with null for a required field is 422 naming it, and the book is unchanged."""
    book = await add_book(client, admin_headers)
    response = await client.put(f"/books/{book['id']}", json={field: None}, headers=admin_headers)
    assert_validation(response, field)
    assert (await client.get(f"/books/{book['id']}")).json()[field] == book[field]


async def test_put_null_clears_optional_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """PUT with null for an optional field clears it."""
    book = await add_book(client, admin_headers, isbn="9780441172719", description="Spice")
    response = await client.put(
        f"/books/{book['id']}", json={"isbn": None, "description": None}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["isbn"] is None
    assert response.json()["description"] is None


async def test_put_normalises_isbn_and_detects_conflict(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """PUT stores ISBN-13 and answers 409 BOOK_ISBN_CONFLICT for another book's ISBN."""
    first = await add_book(client, admin_headers, isbn="0-261-10221-4")
    second = await add_book(client, admin_headers, title="Second")
    response = await client.put(
        f"/books/{second['id']}", json={"isbn": "0-441-17271-7"}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["isbn"] == "9780441172719"
    response = await client.put(
        f"/books/{second['id']}", json={"isbn": first["isbn"]}, headers=admin_headers
    )
    assert_error(response, 409, "BOOK_ISBN_CONFLICT", "isbn")


async def test_put_missing_book_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """PUT /books/{missing} is 404 BOOK_NOT_FOUND."""
    response = await client.put("/books/999", json={"title": "X"}, headers=admin_headers)
    assert_error(response, 404, "BOOK_NOT_FOUND", "book_id")


async def test_put_rejects_stock_and_unknown_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """PUT cannot set stock: unknown fields are ignored (200), never applied."""
    book = await add_book(client, admin_headers)
    response = await client.put(
        f"/books/{book['id']}", json={"stock_quantity": 9, "bogus": 1}, headers=admin_headers
    )
    assert response.status_code == 200
    assert (await client.get(f"/books/{book['id']}")).json()["stock_quantity"] == 0


async def test_delete_book(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    """DELETE /books/{id} is 204; the book is then 404, and deleting again is 404."""
    book = await add_book(client, admin_headers)
    response = await client.delete(f"/books/{book['id']}", headers=admin_headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/books/{book['id']}")).status_code == 404
    again = await client.delete(f"/books/{book['id']}", headers=admin_headers)
    assert_error(again, 404, "BOOK_NOT_FOUND")


async def test_set_stock_absolute(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    """PATCH /books/{id}/stock {quantity} sets the stock absolutely and returns the Book."""
    book = await add_book(client, admin_headers)
    assert (await set_stock(client, admin_headers, book["id"], 5))["stock_quantity"] == 5
    updated = await set_stock(client, admin_headers, book["id"], 2)
    assert set(updated) >= BOOK_FIELDS
    assert updated["stock_quantity"] == 2
    assert updated["price"] == "9.99"


@pytest.mark.parametrize("body", [{"quantity": -1}, {"quantity": "many"}, {}, {"quantity": 1.5}])
async def test_bad_stock_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any]
) -> None:
    """A negative, missing or non-integer quantity is 422; stock unchanged."""
    book = await add_book(client, admin_headers)
    response = await client.patch(f"/books/{book['id']}/stock", json=body, headers=admin_headers)
    assert_validation(response, "quantity")
    assert (await client.get(f"/books/{book['id']}")).json()["stock_quantity"] == 0


async def test_stock_of_missing_book_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """PATCH stock of a missing book is 404 BOOK_NOT_FOUND."""
    response = await client.patch("/books/999/stock", json={"quantity": 1}, headers=admin_headers)
    assert_error(response, 404, "BOOK_NOT_FOUND")


async def test_restock_event_from_zero(
    shop: Shop, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """A stock change from 0 to above 0 over HTTP is reported as a BookRestocked event."""
    seen: list[bookshop_core.BookRestocked] = []

    async def remember(event: bookshop_core.BookRestocked) -> None:
        seen.append(event)

    shop.events.subscribe(bookshop_core.BookRestocked, remember)
    book = await add_book(client, admin_headers)
    await set_stock(client, admin_headers, book["id"], 3)
    await set_stock(client, admin_headers, book["id"], 4)
    assert [(e.book_id, e.stock_quantity) for e in seen] == [(book["id"], 3)]


# --- listing ------------------------------------------------------------------------------


@pytest.fixture
async def shelf(
    client: httpx.AsyncClient, admin_headers: dict[str, str], shop: Shop, clock: ManualClock
) -> dict[str, Any]:
    """Five books in a small taxonomy, created one minute apart."""
    fiction = await add_genre(client, admin_headers, "Fiction")
    fantasy = await add_genre(client, admin_headers, "Fantasy", fiction["id"])
    history = await add_genre(client, admin_headers, "History")
    specs = [
        {"title": "The Hobbit", "author": "J. R. R. Tolkien", "price": "12.50",
         "genre_id": fantasy["id"], "publish_date": "1937-09-21"},
        {"title": "dune", "author": "Frank Herbert", "price": "9.99",
         "genre_id": fiction["id"], "publish_date": "1965-08-01"},
        {"title": "SPQR", "author": "Mary Beard", "price": "18.00", "genre_id": history["id"]},
        {"title": "Percent", "author": "100% Real_Author", "price": "5.00"},
        {"title": "Underscore", "author": "Real Author", "price": "30.00",
         "publish_date": "2001-01-01"},
    ]  # fmt: skip
    books = {}
    for spec in specs:
        books[spec["title"]] = await add_book(client, admin_headers, **spec)
        clock.advance(minutes=1)
    await set_stock(client, admin_headers, books["The Hobbit"]["id"], 3)
    await set_stock(client, admin_headers, books["SPQR"]["id"], 1)
    return {"fiction": fiction, "fantasy": fantasy, "history": history, "books": books}


async def test_default_sort_is_title_case_insensitive(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    """Without sort, books come by title ascending, ignoring case."""
    assert await titles(client) == ["dune", "Percent", "SPQR", "The Hobbit", "Underscore"]


async def test_genre_filter_includes_sub_genres(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    """genre_id includes books of every sub-genre."""
    assert await titles(client, genre_id=shelf["fiction"]["id"]) == ["dune", "The Hobbit"]
    assert await titles(client, genre_id=shelf["fantasy"]["id"]) == ["The Hobbit"]


async def test_author_filter_substring_case_insensitive(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    """author is a case-insensitive substring match."""
    assert await titles(client, author="BEARD") == ["SPQR"]
    assert await titles(client, author="real") == ["Percent", "Underscore"]


async def test_author_filter_percent_and_underscore_are_literal(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    """% and _ in author match themselves, not any characters."""
    assert await titles(client, author="%") == ["Percent"]
    assert await titles(client, author="l_a") == ["Percent"]
    assert await titles(client, author="_") == ["Percent"]
    assert await titles(client, author="r%a") == []


async def test_price_range_inclusive(client: httpx.AsyncClient, shelf: dict[str, Any]) -> None:
    """min_price and max_price are inclusive bounds."""
    assert await titles(client, min_price="9.99", max_price="12.50") == ["dune", "The Hobbit"]


async def test_min_price_above_max_price_is_422(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    """min_price > max_price is 422 VALIDATION_ERROR."""
    response = await client.get("/books", params={"min_price": "20", "max_price": "10"})
    assert_validation(response, "min_price")


async def test_in_stock_filter(client: httpx.AsyncClient, shelf: dict[str, Any]) -> None:
    """in_stock=true keeps only books with stock above 0."""
    assert await titles(client, in_stock="true") == ["SPQR", "The Hobbit"]


async def test_filters_and_combine(client: httpx.AsyncClient, shelf: dict[str, Any]) -> None:
    """Filters AND-combine."""
    params = {"genre_id": shelf["fiction"]["id"], "in_stock": "true", "max_price": "20"}
    assert await titles(client, **params) == ["The Hobbit"]
    assert await titles(client, **params, author="herbert") == []


async def test_sort_by_price_both_directions(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    """sort=price defaults to ascending; sort_dir=desc reverses it."""
    ascending = ["Percent", "dune", "The Hobbit", "SPQR", "Underscore"]
    assert await titles(client, sort="price") == ascending
    assert await titles(client, sort="price", sort_dir="desc") == ascending[::-1]


async def test_sort_created_at_defaults_to_newest_first(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    """sort=created_at without sort_dir is newest first; asc is oldest first."""
    newest = ["Underscore", "Percent", "SPQR", "dune", "The Hobbit"]
    assert await titles(client, sort="created_at") == newest
    assert await titles(client, sort="created_at", sort_dir="asc") == newest[::-1]


async def test_sort_avg_rating_defaults_to_desc(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    """sort=avg_rating is accepted and, without sort_dir, equals sort_dir=desc."""
    default = await titles(client, sort="avg_rating")
    assert sorted(default) == sorted(shelf["books"])
    assert default == await titles(client, sort="avg_rating", sort_dir="desc")


async def test_sort_by_publish_date(client: httpx.AsyncClient, shelf: dict[str, Any]) -> None:
    """sort=date orders by publish date; books without one come last."""
    dated = await titles(client, sort="date")
    assert dated[:3] == ["The Hobbit", "dune", "Underscore"]
    assert set(dated[3:]) == {"SPQR", "Percent"}


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "bogus"},
        {"sort_dir": "sideways"},
        {"page": 0},
        {"size": 0},
        {"size": 101},
        {"min_price": "abc"},
        {"genre_id": "x"},
        {"in_stock": "maybe"},
    ],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    """A bad query parameter of GET /books is 422 VALIDATION_ERROR naming it."""
    assert_validation(await client.get("/books", params=params), next(iter(params)))


async def test_pagination_envelope_and_exact_total(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """page/size slice the list; total is exact; default size is 20; size 100 is allowed."""
    for n in range(25):
        await add_book(client, admin_headers, title=f"Book {n:02d}")
    first = (await client.get("/books")).json()
    assert (len(first["items"]), first["total"], first["page"], first["size"]) == (20, 25, 1, 20)
    second = (await client.get("/books", params={"page": 2})).json()
    assert (len(second["items"]), second["total"], second["page"]) == (5, 25, 2)
    assert {b["id"] for b in first["items"]}.isdisjoint(b["id"] for b in second["items"])
    beyond = (await client.get("/books", params={"page": 9, "size": 10})).json()
    assert beyond == {"items": [], "total": 25, "page": 9, "size": 10}
    assert (await client.get("/books", params={"size": 100})).json()["size"] == 100


# --- genres -------------------------------------------------------------------------------


async def test_genres_listed_by_name_with_parent(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """GET /genres is [{id, name, parent_id}] ordered by name."""
    assert (await client.get("/genres")).json() == []
    fiction = await add_genre(client, admin_headers, "Fiction")
    assert set(fiction) >= {"id", "name"}
    assert fiction["name"] == "Fiction"
    fantasy = await add_genre(client, admin_headers, "Fantasy", fiction["id"])
    response = await client.get("/genres")
    assert response.status_code == 200
    assert response.json() == [
        {"id": fantasy["id"], "name": "Fantasy", "parent_id": fiction["id"]},
        {"id": fiction["id"], "name": "Fiction", "parent_id": None},
    ]


async def test_genre_tree(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    """GET /genres/tree nests sub-genres under their parents."""
    fiction = await add_genre(client, admin_headers, "Fiction")
    await add_genre(client, admin_headers, "Fantasy", fiction["id"])
    await add_genre(client, admin_headers, "History")
    tree = (await client.get("/genres/tree")).json()
    assert [(n["name"], [c["name"] for c in n["children"]]) for n in tree] == [
        ("Fiction", ["Fantasy"]),
        ("History", []),
    ]


async def test_genre_name_conflict_case_insensitive(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """POST /genres with an existing name in other case is 409 GENRE_CONFLICT field=name."""
    await add_genre(client, admin_headers, "Poetry")
    response = await client.post("/genres", json={"name": "POETRY"}, headers=admin_headers)
    assert_error(response, 409, "GENRE_CONFLICT", "name")


@pytest.mark.parametrize(
    "body", [{"name": ""}, {"name": "x" * 101}, {}, {"name": 5}, {"name": "A", "parent_id": 99}]
)
async def test_bad_genre_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any]
) -> None:
    """A bad genre body (empty, too long, missing, wrong type, unknown parent) is 422."""
    response = await client.post("/genres", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert (await client.get("/genres")).json() == []


async def test_genre_rename_and_move(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """PATCH /genres/{id} renames and moves a genre (parent_id null makes it top-level)."""
    fiction = await add_genre(client, admin_headers, "Fiction")
    scifi = await add_genre(client, admin_headers, "SF")
    response = await client.patch(
        f"/genres/{scifi['id']}",
        json={"name": "Science Fiction", "parent_id": fiction["id"]},
        headers=admin_headers,
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Science Fiction"
    assert response.json()["parent_id"] == fiction["id"]
    response = await client.patch(
        f"/genres/{scifi['id']}", json={"parent_id": None}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["parent_id"] is None


async def test_genre_move_into_own_subtree_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Moving a genre under its own sub-genre is a 422 on parent_id and changes nothing."""
    fiction = await add_genre(client, admin_headers, "Fiction")
    fantasy = await add_genre(client, admin_headers, "Fantasy", fiction["id"])
    response = await client.patch(
        f"/genres/{fiction['id']}", json={"parent_id": fantasy["id"]}, headers=admin_headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    genres = {g["name"]: g for g in (await client.get("/genres")).json()}
    assert genres["Fiction"]["parent_id"] is None


async def test_genre_delete_rules(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    """DELETE /genres/{id}: 409 GENRE_IN_USE when used, 204 when unused, 404 when missing."""
    genre = await add_genre(client, admin_headers, "Fiction")
    book = await add_book(client, admin_headers, genre_id=genre["id"])
    in_use = await client.delete(f"/genres/{genre['id']}", headers=admin_headers)
    assert_error(in_use, 409, "GENRE_IN_USE")
    await client.delete(f"/books/{book['id']}", headers=admin_headers)
    response = await client.delete(f"/genres/{genre['id']}", headers=admin_headers)
    assert response.status_code == 204
    missing = await client.delete(f"/genres/{genre['id']}", headers=admin_headers)
    assert_error(missing, 404, "GENRE_NOT_FOUND")
    patch_missing = await client.patch("/genres/999", json={"name": "X"}, headers=admin_headers)
    assert_error(patch_missing, 404, "GENRE_NOT_FOUND")


# --- admin only ---------------------------------------------------------------------------

WRITES = [
    ("POST", "/books", {"title": "T", "author": "A", "price": "1"}),
    ("PUT", "/books/{book}", {"title": "Mine"}),
    ("DELETE", "/books/{book}", None),
    ("PATCH", "/books/{book}/stock", {"quantity": 99}),
    ("POST", "/genres", {"name": "Mine"}),
    ("PATCH", "/genres/{genre}", {"name": "Mine"}),
    ("DELETE", "/genres/{genre}", None),
]


@pytest.fixture
async def one_of_each(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, int]:
    genre = await add_genre(client, admin_headers, "Fiction")
    book = await add_book(client, admin_headers)
    return {"book": book["id"], "genre": genre["id"]}


async def catalog_state(client: httpx.AsyncClient) -> Any:
    return (await client.get("/books")).json(), (await client.get("/genres")).json()


async def test_catalog_writes_without_token_are_401(
    client: httpx.AsyncClient, one_of_each: dict[str, int]
) -> None:
    """Every catalog write without a token is 401 HTTP_401 with WWW-Authenticate; no change."""
    before = await catalog_state(client)
    for method, path, body in WRITES:
        response = await client.request(method, path.format(**one_of_each), json=body)
        assert response.status_code == 401, (method, path)
        assert response.json() == {"detail": "Not authenticated", "code": "HTTP_401"}
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert await catalog_state(client) == before


async def test_catalog_writes_by_user_are_403(
    client: httpx.AsyncClient, one_of_each: dict[str, int], user_headers: dict[str, str]
) -> None:
    """Every catalog write by a plain user is 403 AUTH_FORBIDDEN; no change."""
    before = await catalog_state(client)
    for method, path, body in WRITES:
        response = await client.request(
            method, path.format(**one_of_each), json=body, headers=user_headers
        )
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "AUTH_FORBIDDEN"
    assert await catalog_state(client) == before


async def test_upload_requires_admin(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    """POST /uploads/images is 401 anonymous and 403 for a plain user."""
    files = {"file": ("c.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")}
    assert (await client.post("/uploads/images", files=files)).status_code == 401
    response = await client.post("/uploads/images", files=files, headers=user_headers)
    assert_error(response, 403, "AUTH_FORBIDDEN")


async def test_uploaded_image_is_served_back(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """The url of an uploaded image serves its bytes; over 5 MB is 400 HTTP_400."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    response = await client.post(
        "/uploads/images", files={"file": ("c.bin", png, "application/octet-stream")},
        headers=admin_headers,
    )  # fmt: skip
    served = await client.get(response.json()["url"])
    assert served.status_code == 200
    assert served.content == png
    big = {"file": ("big.png", png + b"\0" * (5 * 1024 * 1024), "image/png")}
    response = await client.post("/uploads/images", files=big, headers=admin_headers)
    assert_error(response, 400, "HTTP_400")


async def test_upload_checked_by_content(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """An admin upload of a PNG returns {url}; a GIF declared as PNG is 400 HTTP_400."""
    png = {"file": ("c.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")}
    response = await client.post("/uploads/images", files=png, headers=admin_headers)
    assert response.status_code == 200
    assert set(response.json()) == {"url"}
    gif = {"file": ("c.png", b"GIF89a" + b"\0" * 64, "image/png")}
    response = await client.post("/uploads/images", files=gif, headers=admin_headers)
    assert_error(response, 400, "HTTP_400")


# --- on SQLite too ------------------------------------------------------------------------


@pytest.fixture
async def any_client(store_url: str, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    async with open_shop(store_url, clock) as opened, serve(opened) as client:
        odd = CreateBook(title="Odd", author="50%_off", price=Decimal(1), isbn="0-261-10221-4")
        await opened.catalog.create_book(Principal.system(), odd)
        yield client


async def test_wire_rules_hold_on_every_backend(any_client: httpx.AsyncClient) -> None:
    """Money string, ISBN-13 storage and literal % / _ hold on memory and SQLite alike."""
    page = (await any_client.get("/books", params={"author": "0%_"})).json()
    assert page["total"] == 1
    assert page["items"][0]["price"] == "1.00"
    assert page["items"][0]["isbn"] == "9780261102217"
    assert (await any_client.get("/books", params={"author": "0_%"})).json()["total"] == 0


async def test_genre_names_race_safe_on_sqlite(tmp_path: Path, clock: ManualClock) -> None:
    """Concurrent POST /genres of one name in several cases: one 201, the rest 409."""
    async with open_shop(sqlite_url(tmp_path / "race.db"), clock) as shop, serve(shop) as client:
        await shop.identity.create_account(ADMIN_EMAIL, ADMIN_PASSWORD, role=Role.ADMIN)
        login = await client.post(
            "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        headers = bearer(login.json()["access_token"])
        names = ["Poetry", "POETRY", "poetry", "PoEtRy"] * 2
        responses = await asyncio.gather(
            *(client.post("/genres", json={"name": name}, headers=headers) for name in names)
        )
        assert sorted(r.status_code for r in responses) == [201] + [409] * 7
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {"GENRE_CONFLICT"}
        assert len((await client.get("/genres")).json()) == 1
