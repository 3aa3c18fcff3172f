"""The OpenAPI document: every route with its response models and declared errors."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

# The schema does not depend on the store: memory only.
pytestmark = pytest.mark.bookshop_backends("memory")


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def schema_ref(operation: dict[str, Any], status: str) -> str:
    ref: str = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    """/docs serves the interactive API page."""
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/health", {"200", "503", "500"}),
        ("/books", {"200", "422", "500"}),
        ("/books/{book_id}", {"200", "404", "422", "500"}),
        ("/genres", {"200", "500"}),
        ("/genres/tree", {"200", "500"}),
    ],
)
def test_each_route_declares_its_responses(
    spec: dict[str, Any], path: str, statuses: set[str]
) -> None:
    """Every route documents its success and each error status it can answer."""
    assert set(spec["paths"][path]["get"]["responses"]) == statuses


def test_errors_are_documented_with_the_api_error_bodies(spec: dict[str, Any]) -> None:
    """404 uses ErrorBody and 422 uses ValidationErrorBody, not FastAPI's default model."""
    operation = spec["paths"]["/books/{book_id}"]["get"]
    assert schema_ref(operation, "404") == "ErrorBody"
    assert schema_ref(operation, "422") == "ValidationErrorBody"
    assert "BOOK_NOT_FOUND" in operation["responses"]["404"]["description"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_success_bodies_have_models(spec: dict[str, Any]) -> None:
    """Book, the page envelope and genres are named schemas; money is a string."""
    paths = spec["paths"]
    assert schema_ref(paths["/books"]["get"], "200") == "BookPageOut"
    assert schema_ref(paths["/books/{book_id}"]["get"], "200") == "BookOut"
    price = spec["components"]["schemas"]["BookOut"]["properties"]["price"]
    assert price["type"] == "string"


def test_list_parameters_are_documented(spec: dict[str, Any]) -> None:
    """GET /books documents q, every filter and the search additions, with sort choices and
    size bounds."""
    params = {p["name"]: p for p in spec["paths"]["/books"]["get"]["parameters"]}
    assert set(params) == {
        "q",
        "genre_id",
        "author",
        "min_price",
        "max_price",
        "in_stock",
        "sort",
        "sort_dir",
        "page",
        "size",
        "facets",
        "suggest",
        "highlight",
    }
    assert params["sort"]["schema"]["enum"] == [
        "title",
        "price",
        "date",
        "created_at",
        "avg_rating",
        "relevance",
        "newest",
    ]
    assert (params["size"]["schema"]["minimum"], params["size"]["schema"]["maximum"]) == (1, 100)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_every_asset_from_the_app(
    client: httpx.AsyncClient, page: str
) -> None:
    """The docs pages work offline: every script, style and icon they reference is a path on
    this app (no CDN), and the app serves each one."""
    html = (await client.get(page)).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        assert not asset.startswith("//"), asset
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert served.content


def test_routes_with_a_body_declare_the_body_limit(spec: dict[str, Any]) -> None:
    """Every operation taking a request body documents 413 HTTP_413 with ErrorBody; those
    without a body do not."""
    operations = [op for path in spec["paths"].values() for op in path.values()]
    with_body = [op for op in operations if "requestBody" in op]
    assert with_body
    for operation in with_body:
        assert schema_ref(operation, "413") == "ErrorBody"
        assert "HTTP_413" in operation["responses"]["413"]["description"]
    assert all("413" not in op["responses"] for op in operations if "requestBody" not in op)
