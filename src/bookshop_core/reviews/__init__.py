"""The reviews context: buyers rate and review books (one live review per user and book),
books show their average rating, admins moderate."""

from bookshop_core.reviews.commands import (
    BULK_DELETE_MAX,
    MAX_RATING,
    MIN_RATING,
    REVIEW_TEXT_MAX,
    BulkDeleteReviews,
    CreateReview,
    ModerateReviews,
    UpdateReview,
)
from bookshop_core.reviews.entities import (
    NewReview,
    Review,
    ReviewAuthor,
    ReviewedBook,
    ReviewQuery,
    ReviewSort,
    default_display_name,
)
from bookshop_core.reviews.errors import (
    DuplicateReview,
    NotPurchased,
    NotReviewOwner,
    ReviewNotFound,
)
from bookshop_core.reviews.ports import ReviewRepository, ReviewUnitOfWork
from bookshop_core.reviews.use_cases import Reviews, ReviewShopUnitOfWork

__all__ = [
    "BULK_DELETE_MAX",
    "MAX_RATING",
    "MIN_RATING",
    "REVIEW_TEXT_MAX",
    "BulkDeleteReviews",
    "CreateReview",
    "DuplicateReview",
    "ModerateReviews",
    "NewReview",
    "NotPurchased",
    "NotReviewOwner",
    "Review",
    "ReviewAuthor",
    "ReviewNotFound",
    "ReviewQuery",
    "ReviewRepository",
    "ReviewShopUnitOfWork",
    "ReviewSort",
    "ReviewUnitOfWork",
    "ReviewedBook",
    "Reviews",
    "UpdateReview",
    "default_display_name",
]
