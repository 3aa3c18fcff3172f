"""Catalog routes: browse books and genres (public reads).

Each route only parses the request, builds the core's command, awaits the use case (which has
committed when it returns) and unstructures the result; errors go to
``bookshop_examples.http.errors``.
Admin writes (POST/PUT/DELETE /books, PATCH stock, POST/PATCH/DELETE /genres) arrive with the
auth routes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bookshop_core import BookSort, ListBooks, SearchUnavailable, SortDirection, unstructure
from bookshop_core.kernel.ids import MAX_ID
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from bookshop_examples.http.deps import ShopDep, structure_input
from bookshop_examples.http.errors import error_responses

__all__ = ["BookOut", "BookPageOut", "GenreNodeOut", "GenreOut", "router"]

router = APIRouter(tags=["catalog"])

# -- wire models ------------------------------------------------------------------------------

Money = Annotated[
    str,
    Field(
        pattern=r"^-?\d+\.\d{2}$",
        examples=["15.99"],
        description="An exact amount with two decimals, as a string.",
    ),
]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
IsoDate = Annotated[str, Field(json_schema_extra={"format": "date"})]


class BookOut(BaseModel):
    """A book as the bookstore REST API shows it, plus the additive rating and stock fields."""

    id: int
    title: str
    author: str
    price: Money
    isbn: str | None = Field(description="Normalised ISBN-13, or null.")
    genre_id: int | None
    description: str | None
    cover_image_url: str | None
    publish_date: IsoDate | None
    stock_quantity: int
    in_stock: bool
    avg_rating: float | None = Field(
        description="Mean of live reviews, 1 decimal, half-up; null without reviews."
    )
    review_count: int
    created_at: Timestamp
    updated_at: Timestamp


class BookPageOut(BaseModel):
    """One page of books and the exact total across pages."""

    items: list[BookOut]
    total: int
    page: int
    size: int


class GenreOut(BaseModel):
    id: int
    name: str
    parent_id: int | None


class GenreNodeOut(BaseModel):
    """A genre with its sub-genres, recursively."""

    id: int
    name: str
    parent_id: int | None
    children: list[GenreNodeOut]


# -- routes -----------------------------------------------------------------------------------


# Ranges and choices of query parameters are documented in OpenAPI but checked by the core
# (``ListBooks``), which reports every bad field at once; FastAPI only parses the types.


def _bounds(minimum: int, maximum: int | None = None) -> dict[str, Any]:
    return {"minimum": minimum} if maximum is None else {"minimum": minimum, "maximum": maximum}


def _one_of(choices: type[StrEnum]) -> dict[str, Any]:
    return {"enum": [choice.value for choice in choices]}


@router.get(
    "/books",
    response_model=BookPageOut,
    responses=error_responses(422, 501, codes=["SEARCH_UNAVAILABLE"]),
    summary="List books",
)
async def list_books(
    shop: ShopDep,
    q: Annotated[
        str | None,
        Query(description="Full-text search. Not available yet: 501 SEARCH_UNAVAILABLE."),
    ] = None,
    genre_id: Annotated[
        int | None,
        Query(
            description="Only books of this genre or one of its sub-genres.",
            json_schema_extra=_bounds(1, MAX_ID),
        ),
    ] = None,
    author: Annotated[
        str | None, Query(description="Case-insensitive substring of the author, literal.")
    ] = None,
    min_price: Annotated[
        str | None, Query(description="Lowest price, e.g. 10.00.", examples=["10.00"])
    ] = None,
    max_price: Annotated[
        str | None,
        Query(description="Highest price; must not be below min_price.", examples=["25.00"]),
    ] = None,
    in_stock: Annotated[bool | None, Query(description="Only books in stock.")] = None,
    sort: Annotated[
        str | None,
        Query(description="Sort key (default title).", json_schema_extra=_one_of(BookSort)),
    ] = None,
    sort_dir: Annotated[
        str | None,
        Query(
            description="Default: desc for created_at and avg_rating, asc otherwise.",
            json_schema_extra=_one_of(SortDirection),
        ),
    ] = None,
    page: Annotated[
        int | None, Query(description="Page number from 1.", json_schema_extra=_bounds(1))
    ] = None,
    size: Annotated[
        int | None,
        Query(
            description=f"Page size (default {DEFAULT_PAGE_SIZE}).",
            json_schema_extra=_bounds(1, MAX_PAGE_SIZE),
        ),
    ] = None,
) -> Any:
    """Books matching every given filter, one page at a time, with the exact total."""
    if q is not None and q.strip():
        # Full-text search lands with the search context; until then a query is refused
        # rather than ignored, so a client never mistakes an unfiltered list for results.
        # A blank ``q`` means "no query", as it will then.
        raise SearchUnavailable()
    given = {
        "genre_id": genre_id,
        "author": author,
        "min_price": min_price,
        "max_price": max_price,
        "in_stock": in_stock,
        "sort": sort,
        "sort_dir": sort_dir,
        "page": page,
        "size": size,
    }
    query = structure_input(
        {name: value for name, value in given.items() if value is not None},
        ListBooks,
        source="query",
    )
    return unstructure(await shop.catalog.list_books(query))


@router.get(
    "/books/{book_id}",
    response_model=BookOut,
    responses=error_responses(404, 422, codes=["BOOK_NOT_FOUND"]),
    summary="Get a book",
)
async def get_book(
    shop: ShopDep,
    book_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The book's id.")],
) -> Any:
    """One book with its rating summary and availability."""
    return unstructure(await shop.catalog.get_book(book_id))


@router.get("/genres", response_model=list[GenreOut], summary="List genres")
async def list_genres(shop: ShopDep) -> Any:
    """Every genre, by name."""
    return unstructure(await shop.catalog.list_genres())


@router.get("/genres/tree", response_model=list[GenreNodeOut], summary="The genre taxonomy")
async def genre_tree(shop: ShopDep) -> Any:
    """Top-level genres by name, each with its sub-genres nested under ``children``."""
    # Sent as is: the response model documents the shape, but validating it would recurse
    # once per level, and a store may hold chains from before the depth limit.
    return JSONResponse(unstructure(await shop.catalog.genre_tree()))
