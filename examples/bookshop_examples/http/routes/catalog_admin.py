"""Catalog writes, for admins: books, their stock, and genres.

Each route takes an active admin (:data:`~bookshop_examples.http.deps.AdminDep`: 401/403 before the
body is even looked at), builds the core's command from the raw JSON with
:func:`structure_input` (every bad or unknown field reported at once), awaits the use case
(which has committed when it returns) and unstructures the result.
"""

from __future__ import annotations

from datetime import date
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from bookshop_core import (
    CreateBook,
    CreateGenre,
    SetStock,
    UpdateBook,
    UpdateGenre,
    unstructure,
)
from bookshop_core.catalog.commands import (
    AUTHOR_MAX,
    DESCRIPTION_MAX,
    GENRE_NAME_MAX,
    MAX_STOCK,
    TITLE_MAX,
    URL_MAX,
)
from bookshop_core.kernel.ids import MAX_ID
from bookshop_examples.http.deps import (
    ADMIN_AUTH_CODES,
    AdminDep,
    JsonObject,
    ShopDep,
    json_body,
    located_in,
    structure_input,
)
from bookshop_examples.http.errors import error_responses
from bookshop_examples.http.routes.catalog import BookOut, GenreOut

__all__ = [
    "BookCreateIn",
    "BookUpdateIn",
    "GenreCreateIn",
    "GenreUpdateIn",
    "StockIn",
    "router",
]

router = APIRouter(tags=["catalog"])

# -- wire models (documentation of the request bodies) ----------------------------------------

PriceIn = Annotated[
    str | float,
    Field(
        description="> 0 with at most two decimals, as a string or a number.",
        examples=["15.99"],
    ),
]
IsbnIn = Annotated[
    str | None,
    Field(
        description="ISBN-10 or ISBN-13 (hyphens and spaces ignored), stored as ISBN-13; "
        "null or empty for none.",
        examples=["978-0-261-10221-7"],
    ),
]
GenreIdIn = Annotated[int | None, Field(ge=1, le=MAX_ID, description="An existing genre.")]


class BookCreateIn(BaseModel):
    """A new book; its stock starts at 0."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    author: str = Field(min_length=1, max_length=AUTHOR_MAX)
    price: PriceIn
    isbn: IsbnIn = None
    genre_id: GenreIdIn = None
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    cover_image_url: str | None = Field(default=None, max_length=URL_MAX)
    publish_date: date | None = None


def _nothing_required(schema: dict[str, Any]) -> None:
    schema.pop("required", None)


class BookUpdateIn(BaseModel):
    """Any subset of a book's fields: only those given change. ``null`` clears an optional
    field and is refused (422) for title, author and price."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_nothing_required)

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    author: str = Field(min_length=1, max_length=AUTHOR_MAX)
    price: PriceIn
    isbn: IsbnIn = None
    genre_id: GenreIdIn = None
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    cover_image_url: str | None = Field(default=None, max_length=URL_MAX)
    publish_date: date | None = None


class StockIn(BaseModel):
    """The new stock, absolute."""

    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=0, le=MAX_STOCK)


class GenreCreateIn(BaseModel):
    """A new genre, top-level or under ``parent_id``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=GENRE_NAME_MAX)
    parent_id: GenreIdIn = None


class GenreUpdateIn(BaseModel):
    """Rename and/or move a genre (``parent_id: null`` makes it top-level)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_nothing_required)

    name: str = Field(min_length=1, max_length=GENRE_NAME_MAX)
    parent_id: GenreIdIn = None


BookId = Annotated[int, Path(ge=1, le=MAX_ID, description="The book's id.")]
GenreId = Annotated[int, Path(ge=1, le=MAX_ID, description="The genre's id.")]

# -- books ------------------------------------------------------------------------------------


@router.post(
    "/books",
    status_code=HTTPStatus.CREATED,
    response_model=BookOut,
    responses=error_responses(401, 403, 409, 422, codes=[*ADMIN_AUTH_CODES, "BOOK_ISBN_CONFLICT"]),
    summary="Add a book",
)
async def create_book(
    shop: ShopDep, principal: AdminDep, body: Annotated[JsonObject, json_body(BookCreateIn)]
) -> Any:
    """Add a book (stock 0). An unknown ``genre_id`` is 422."""
    command = structure_input(body, CreateBook, source="body")
    with located_in("body"):
        return unstructure(await shop.catalog.create_book(principal, command))


@router.put(
    "/books/{book_id}",
    response_model=BookOut,
    responses=error_responses(
        401, 403, 404, 409, 422, codes=[*ADMIN_AUTH_CODES, "BOOK_NOT_FOUND", "BOOK_ISBN_CONFLICT"]
    ),
    summary="Change a book",
)
async def update_book(
    shop: ShopDep,
    principal: AdminDep,
    book_id: BookId,
    body: Annotated[JsonObject, json_body(BookUpdateIn)],
) -> Any:
    """Change the given fields of a book; the others keep their values."""
    command = structure_input(body, UpdateBook, source="body")
    with located_in("body"):
        return unstructure(await shop.catalog.update_book(principal, book_id, command))


@router.delete(
    "/books/{book_id}",
    status_code=HTTPStatus.NO_CONTENT,
    responses=error_responses(401, 403, 404, 422, codes=[*ADMIN_AUTH_CODES, "BOOK_NOT_FOUND"]),
    summary="Delete a book",
)
async def delete_book(shop: ShopDep, principal: AdminDep, book_id: BookId) -> None:
    """Remove a book from the catalog."""
    await shop.catalog.delete_book(principal, book_id)


@router.patch(
    "/books/{book_id}/stock",
    response_model=BookOut,
    responses=error_responses(401, 403, 404, 422, codes=[*ADMIN_AUTH_CODES, "BOOK_NOT_FOUND"]),
    summary="Set a book's stock",
)
async def set_stock(
    shop: ShopDep,
    principal: AdminDep,
    book_id: BookId,
    body: Annotated[JsonObject, json_body(StockIn)],
) -> Any:
    """Set the stock to an absolute quantity; from 0 to more notifies waiting pre-bookers."""
    command = structure_input(body, SetStock, source="body")
    return unstructure(await shop.catalog.set_stock(principal, book_id, command))


# -- genres -----------------------------------------------------------------------------------


@router.post(
    "/genres",
    status_code=HTTPStatus.CREATED,
    response_model=GenreOut,
    responses=error_responses(401, 403, 409, 422, codes=[*ADMIN_AUTH_CODES, "GENRE_CONFLICT"]),
    summary="Add a genre",
)
async def create_genre(
    shop: ShopDep, principal: AdminDep, body: Annotated[JsonObject, json_body(GenreCreateIn)]
) -> Any:
    """Add a genre; names are unique case-insensitively. An unknown ``parent_id`` is 422."""
    command = structure_input(body, CreateGenre, source="body")
    with located_in("body"):
        return unstructure(await shop.catalog.create_genre(principal, command))


@router.patch(
    "/genres/{genre_id}",
    response_model=GenreOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*ADMIN_AUTH_CODES, "GENRE_NOT_FOUND", "GENRE_CONFLICT"],
    ),
    summary="Rename or move a genre",
)
async def update_genre(
    shop: ShopDep,
    principal: AdminDep,
    genre_id: GenreId,
    body: Annotated[JsonObject, json_body(GenreUpdateIn)],
) -> Any:
    """Rename a genre and/or move it under another (never under itself or a descendant)."""
    command = structure_input(body, UpdateGenre, source="body")
    with located_in("body"):
        return unstructure(await shop.catalog.update_genre(principal, genre_id, command))


@router.delete(
    "/genres/{genre_id}",
    status_code=HTTPStatus.NO_CONTENT,
    responses=error_responses(
        401, 403, 404, 409, 422, codes=[*ADMIN_AUTH_CODES, "GENRE_NOT_FOUND", "GENRE_IN_USE"]
    ),
    summary="Delete a genre",
)
async def delete_genre(shop: ShopDep, principal: AdminDep, genre_id: GenreId) -> None:
    """Delete a genre that no book and no sub-genre uses."""
    await shop.catalog.delete_genre(principal, genre_id)
