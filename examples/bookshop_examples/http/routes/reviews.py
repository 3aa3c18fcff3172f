"""Reviews: anyone reads a book's reviews; buyers write one per book and change or delete it;
admins moderate (``/admin/reviews``: filtered lists, bulk soft-delete).

Writing needs a confirmed, shipped or delivered order containing the book (``NOT_PURCHASED``
otherwise); a second live review of a book is ``DUPLICATE_REVIEW`` with
``existing_review_id``. A review shows its author's display name, never their email.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from bookshop_core import unstructure
from bookshop_core.catalog.entities import SortDirection
from bookshop_core.errors import ValidationError
from bookshop_core.kernel.ids import MAX_ID
from bookshop_core.kernel.pagination import PageRequest
from bookshop_core.reviews import (
    BULK_DELETE_MAX,
    MAX_RATING,
    MIN_RATING,
    REVIEW_TEXT_MAX,
    BulkDeleteReviews,
    CreateReview,
    ModerateReviews,
    Review,
    ReviewSort,
    UpdateReview,
)
from bookshop_examples.http.deps import (
    ADMIN_AUTH_CODES,
    USER_AUTH_CODES,
    AdminDep,
    AdminPage,
    AdminPerPage,
    JsonObject,
    PageNumber,
    PageSize,
    ShopDep,
    UserDep,
    admin_page,
    json_body,
    structure_input,
    structure_query,
)
from bookshop_examples.http.errors import error_responses
from bookshop_examples.http.wire import Timestamp

__all__ = [
    "BulkDeleteIn",
    "BulkDeleteOut",
    "ModeratedReviewOut",
    "ModeratedReviewPageOut",
    "ReviewIn",
    "ReviewOut",
    "ReviewPageOut",
    "ReviewPatchIn",
    "router",
]

router = APIRouter(tags=["reviews"])

# -- wire models ------------------------------------------------------------------------------
Rating = Annotated[int, Field(ge=MIN_RATING, le=MAX_RATING)]
Text = Annotated[str | None, Field(max_length=REVIEW_TEXT_MAX)]


class ReviewIn(BaseModel):
    """A rating from 1 to 5 and optional text (blank text is none)."""

    model_config = ConfigDict(extra="allow")

    rating: Rating
    text: Text = None


class ReviewPatchIn(BaseModel):
    """Only the given fields change; ``text: null`` clears the text."""

    model_config = ConfigDict(extra="allow")

    rating: Rating | None = Field(default=None, description="Absent: unchanged.")
    text: Text = Field(default=None, description="Absent: unchanged; null: cleared.")


class AuthorOut(BaseModel):
    """A review's author as readers see them: never an email."""

    user_id: int
    display_name: str = Field(description='The account\'s display name, else "Reader #<id>".')
    avatar_url: str | None


class ReviewedBookOut(BaseModel):
    """The book reviewed, as it is now."""

    book_id: int
    title: str
    cover_image_url: str | None


class ReviewOut(BaseModel):
    """A review."""

    id: int
    book_id: int
    user_id: int
    rating: int
    text: str | None
    verified_purchase: bool = Field(
        description="The author has a confirmed, shipped or delivered order of the book."
    )
    created_at: Timestamp
    updated_at: Timestamp
    author: AuthorOut
    book: ReviewedBookOut


class ReviewPageOut(BaseModel):
    """One page of a book's reviews, newest first."""

    items: list[ReviewOut]
    total: int
    page: int
    size: int


class ModeratedAuthorOut(BaseModel):
    """The author, for moderators."""

    user_id: int
    display_name: str


class ModeratedBookOut(BaseModel):
    """The book, for moderators."""

    book_id: int
    title: str


class ModeratedReviewOut(BaseModel):
    """A review as the moderation list shows it."""

    id: int
    rating: int
    text: str | None
    created_at: Timestamp
    updated_at: Timestamp
    author: ModeratedAuthorOut
    book: ModeratedBookOut


class ModeratedReviewPageOut(BaseModel):
    """One page of reviews (``total_pages`` is 0 when there are none)."""

    items: list[ModeratedReviewOut]
    total_count: int
    page: int
    per_page: int
    total_pages: int


class BulkDeleteIn(BaseModel):
    """The reviews to soft-delete: 1 to 50 ids (missing and deleted ones are skipped)."""

    model_config = ConfigDict(extra="allow")

    review_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=BULK_DELETE_MAX
    )


class BulkDeleteOut(BaseModel):
    """How many reviews were deleted."""

    deleted_count: int


BookId = Annotated[int, Path(ge=1, le=MAX_ID, description="The book's id.")]
ReviewId = Annotated[int, Path(ge=1, le=MAX_ID, description="The review's id.")]


def _wire(review: Review) -> dict[str, Any]:
    return unstructure(review)  # type: ignore[no-any-return]


# -- public and author routes -----------------------------------------------------------------


@router.post(
    "/books/{book_id}/reviews",
    status_code=HTTPStatus.CREATED,
    response_model=ReviewOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*USER_AUTH_CODES, "BOOK_NOT_FOUND", "NOT_PURCHASED", "DUPLICATE_REVIEW"],
    ),
    summary="Review a book",
)
async def create_review(
    shop: ShopDep,
    principal: UserDep,
    book_id: BookId,
    body: Annotated[JsonObject, json_body(ReviewIn)],
) -> Any:
    """Review a book the caller bought (one live review per book)."""
    command = structure_input(body, CreateReview, source="body")
    return _wire(await shop.reviews.create(principal, book_id, command))


@router.get(
    "/books/{book_id}/reviews",
    response_model=ReviewPageOut,
    responses=error_responses(422),
    summary="A book's reviews",
)
async def list_book_reviews(
    shop: ShopDep,
    book_id: BookId,
    page: PageNumber = None,
    size: PageSize = None,
) -> Any:
    """The book's reviews, newest first, with the exact total (none for an unknown book)."""
    request = structure_query(PageRequest, page=page, size=size)
    return unstructure(await shop.reviews.list_for_book(book_id, request))


@router.get(
    "/reviews/{review_id}",
    response_model=ReviewOut,
    responses=error_responses(404, 422, codes=["REVIEW_NOT_FOUND"]),
    summary="Get a review",
)
async def get_review(shop: ShopDep, review_id: ReviewId) -> Any:
    """One review (a deleted one is not found)."""
    return _wire(await shop.reviews.get(review_id))


@router.patch(
    "/reviews/{review_id}",
    response_model=ReviewOut,
    responses=error_responses(
        401, 403, 404, 422, codes=[*USER_AUTH_CODES, "REVIEW_NOT_FOUND", "NOT_REVIEW_OWNER"]
    ),
    summary="Change my review",
)
async def update_review(
    shop: ShopDep,
    principal: UserDep,
    review_id: ReviewId,
    body: Annotated[JsonObject, json_body(ReviewPatchIn)],
) -> Any:
    """Change the caller's own review: absent fields stay, ``text: null`` clears the text."""
    command = structure_input(body, UpdateReview, source="body")
    return _wire(await shop.reviews.update(principal, review_id, command))


@router.delete(
    "/reviews/{review_id}",
    status_code=HTTPStatus.NO_CONTENT,
    responses=error_responses(
        401, 403, 404, 422, codes=[*USER_AUTH_CODES, "REVIEW_NOT_FOUND", "NOT_REVIEW_OWNER"]
    ),
    summary="Delete a review",
)
async def delete_review(shop: ShopDep, principal: UserDep, review_id: ReviewId) -> None:
    """Soft-delete a review: its author, or an admin. Its author may then review again."""
    await shop.reviews.delete(principal, review_id)


# -- moderation -------------------------------------------------------------------------------


@router.get(
    "/admin/reviews",
    response_model=ModeratedReviewPageOut,
    responses=error_responses(401, 403, 422, codes=ADMIN_AUTH_CODES),
    summary="Moderate reviews",
)
async def moderate_reviews(
    shop: ShopDep,
    principal: AdminDep,
    page: AdminPage = None,
    per_page: AdminPerPage = None,
    book_id: Annotated[
        int | None,
        Query(description="Only reviews of this book.", json_schema_extra={"minimum": 1}),
    ] = None,
    user_id: Annotated[
        int | None,
        Query(description="Only reviews by this user.", json_schema_extra={"minimum": 1}),
    ] = None,
    rating_min: Annotated[
        int | None,
        Query(
            description="Only ratings at or above.",
            json_schema_extra={"minimum": MIN_RATING, "maximum": MAX_RATING},
        ),
    ] = None,
    rating_max: Annotated[
        int | None,
        Query(
            description="Only ratings at or below; not below rating_min.",
            json_schema_extra={"minimum": MIN_RATING, "maximum": MAX_RATING},
        ),
    ] = None,
    sort_by: Annotated[
        str | None,
        Query(
            description="date (when written, default) or rating; ties by id.",
            json_schema_extra={"enum": [s.value for s in ReviewSort]},
        ),
    ] = None,
    sort_dir: Annotated[
        str | None,
        Query(
            description="desc (default) or asc.",
            json_schema_extra={"enum": [d.value for d in SortDirection]},
        ),
    ] = None,
) -> Any:
    """Live reviews matching every given filter, sorted, one page with the exact total."""
    command = structure_query(
        ModerateReviews,
        page=page,
        per_page=per_page,
        book_id=book_id,
        user_id=user_id,
        rating_min=rating_min,
        rating_max=rating_max,
        sort_by=sort_by,
        sort_dir=sort_dir,
    )
    return admin_page(await shop.reviews.moderate(principal, command))


@router.delete(
    "/admin/reviews/bulk",
    response_model=BulkDeleteOut,
    responses=error_responses(401, 403, 422, codes=ADMIN_AUTH_CODES),
    summary="Delete reviews in bulk",
)
async def bulk_delete_reviews(
    shop: ShopDep, principal: AdminDep, body: Annotated[JsonObject, json_body(BulkDeleteIn)]
) -> Any:
    """Soft-delete up to 50 reviews at once; missing and already deleted ids are skipped."""
    if not isinstance(body.get("review_ids"), list):
        # Checked here: the lenient structuring would read a string as a list of its digits.
        error = ValidationError.single("review_ids", "must be a list of review ids", "type_error")
        raise error.located("body")
    command = structure_input(body, BulkDeleteReviews, source="body")
    return {"deleted_count": await shop.reviews.delete_many(principal, command)}
