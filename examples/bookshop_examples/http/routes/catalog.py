"""Catalog routes: browse books and genres (public reads).

Each route only parses the request, builds the core's command, awaits the use case (which has
committed when it returns) and unstructures the result; errors go to
``bookshop_examples.http.errors``.
Admin writes (POST/PUT/DELETE /books, PATCH stock, POST/PATCH/DELETE /genres) arrive with the
auth routes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bookshop_core import BookSort, ListBooks, SortDirection, unstructure
from bookshop_core.kernel.ids import MAX_ID
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from bookshop_core.search import SORT_ALIASES, Facets, SearchBooks, SearchResult, SearchSort
from bookshop_examples.http.deps import ShopDep, located_in, structure_query
from bookshop_examples.http.errors import error_responses
from bookshop_examples.http.wire import Money, Timestamp

__all__ = [
    "BookOut",
    "BookPageOut",
    "FacetsOut",
    "GenreNodeOut",
    "GenreOut",
    "HighlightOut",
    "SearchBookOut",
    "router",
]

router = APIRouter(tags=["catalog"])

T = TypeVar("T")

# -- wire models ------------------------------------------------------------------------------

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


class HighlightOut(BaseModel):
    """A fragment of a field that matched, HTML-escaped, matched words in ``<mark>`` tags."""

    field: str = Field(description="title, author or description.")
    fragment: str = Field(examples=["The Girl with the <mark>Dragon</mark> Tattoo"])


class SearchBookOut(BookOut):
    """A book of a search page; ``highlights`` only when the request asked for them."""

    highlights: list[HighlightOut] | None = Field(
        default=None, description="With highlight=true: the fields that matched, marked."
    )


class GenreCountOut(BaseModel):
    genre_id: int
    name: str
    count: int


class PriceBucketOut(BaseModel):
    min: Money | None = Field(description="Inclusive; null: unbounded.")
    max: Money | None = Field(description="Exclusive; null: unbounded.")
    count: int


class FacetsOut(BaseModel):
    """Counts over every match of the query and filters, not only the page."""

    genres: list[GenreCountOut] = Field(
        description="Per top-level genre (sub-genres included), most first, then by name."
    )
    in_stock: int
    prices: list[PriceBucketOut] = Field(
        description="The fixed buckets: under 10, 10 to 20, 20 to 50, 50 and over."
    )


class BookPageOut(BaseModel):
    """One page of books and the exact total across pages; when searching, the extras the
    request asked for (each key only when it applies)."""

    items: list[SearchBookOut]
    total: int
    page: int
    size: int
    facets: FacetsOut | None = Field(default=None, description="With facets=true.")
    suggestion: str | None = Field(
        default=None,
        description="With q (unless suggest=false): a query that finds books when this one "
        "found none (did you mean), else null.",
    )


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


#: The sorts ``GET /books`` documents: the catalog's, plus the search's own.
_BOOK_SORTS = [*(sort.value for sort in BookSort), SearchSort.RELEVANCE.value, *SORT_ALIASES]


@router.get(
    "/books",
    response_model=BookPageOut,
    response_model_exclude_unset=True,
    responses=error_responses(422),
    summary="List or search books",
)
async def list_books(
    shop: ShopDep,
    q: Annotated[
        str | None,
        Query(
            description="Full-text search in titles, authors and descriptions (see the search "
            'guide): all words must match; "quoted phrase"; -word and -"phrase" exclude; the '
            "last word is a prefix while typing. Blank: no search.",
            json_schema_extra={"maxLength": 500},
        ),
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
        Query(
            description="Sort key. Default: relevance with q, else title. Every sort orders "
            "as in the plain listing, with or without q: date is the publish date, newest means "
            "created_at, books without a date or a rating come last. relevance without q is the "
            "default order.",
            json_schema_extra={"enum": _BOOK_SORTS},
        ),
    ] = None,
    sort_dir: Annotated[
        str | None,
        Query(
            description="Default: desc for created_at, newest and avg_rating, asc otherwise; "
            "relevance is always best first.",
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
    facets: Annotated[
        bool | None,
        Query(description="Add `facets`: counts per top-level genre, in stock, price bucket."),
    ] = None,
    suggest: Annotated[
        bool | None,
        Query(description="With q (default true): add `suggestion`, a did-you-mean query."),
    ] = None,
    highlight: Annotated[
        bool | None,
        Query(description="Add `highlights` to each book: its matching fields, marked."),
    ] = None,
) -> Any:
    """Books matching every given filter and the query, one page at a time, with the exact
    total; best match first when searching."""
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
    searching = bool(q and q.strip())
    if not (searching or facets or highlight):
        # A plain listing, exactly as before search existed (avg_rating, publish date sorts).
        if sort == SearchSort.RELEVANCE:
            given["sort"] = None  # without a query every book is equally relevant
        return unstructure(await shop.catalog.list_books(_command(given, ListBooks)))
    extras = {"q": q or "", "facets": facets, "suggest": suggest, "highlight": highlight}
    command = _command({**given, **extras}, SearchBooks)
    with located_in("query"):  # a query the parser refuses is reported on query.q
        result = await shop.search.search(command)
    return _search_body(result, command, suggestion=searching and command.suggest)


def _command(given: dict[str, Any], cls: type[T]) -> T:
    """``cls`` built from the parameters the request gave (FastAPI leaves the others None)."""
    return structure_query(cls, **given)


def _search_body(result: SearchResult, command: SearchBooks, *, suggestion: bool) -> Any:
    """The listing's envelope and Book-shaped items, plus the extras the request asked for:
    ``highlights`` per item, ``facets``, and ``suggestion`` (null when there is none)."""
    items = []
    for hit in result.page.items:
        item = unstructure(hit.book)
        if command.highlight:
            item["highlights"] = unstructure(list(hit.highlights))
        items.append(item)
    page = result.page
    body: dict[str, Any] = {
        "items": items,
        "total": page.total,
        "page": page.page,
        "size": page.size,
    }
    if command.facets and result.facets is not None:
        body["facets"] = _facets_body(result.facets)
    if suggestion:
        body["suggestion"] = result.suggestion
    return body


def _facets_body(facets: Facets) -> dict[str, Any]:
    return {
        "genres": unstructure(list(facets.genres)),
        "in_stock": facets.in_stock,
        "prices": unstructure(list(facets.prices)),
    }


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
