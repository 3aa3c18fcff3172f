"""Reviews commands: what a caller asks for, checked on construction (every bad field in one
``ValidationError``). Build them directly, or from untrusted JSON or query strings with
``bookshop_core.structure``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import field, frozen

from bookshop_core.catalog.entities import SortDirection
from bookshop_core.errors import FieldError, ValidationError
from bookshop_core.kernel.ids import MAX_ID
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, PageRequest
from bookshop_core.kernel.validation import (
    UNSET,
    Problems,
    Unset,
    check_fields,
    check_optional_id,
    check_page,
    check_page_size,
    install_normalisers,
    integer,
    rule,
    text,
)
from bookshop_core.reviews.entities import ReviewQuery, ReviewSort

__all__ = [
    "BULK_DELETE_MAX",
    "MAX_RATING",
    "MIN_RATING",
    "REVIEW_TEXT_MAX",
    "BulkDeleteReviews",
    "CreateReview",
    "ModerateReviews",
    "UpdateReview",
]

MIN_RATING = 1
MAX_RATING = 5
#: The longest review text, in characters (after trimming).
REVIEW_TEXT_MAX = 2000
#: The most reviews one bulk delete takes.
BULK_DELETE_MAX = 50

_TEXT = text(max_length=REVIEW_TEXT_MAX, nullable=True)
_RATING = integer(MIN_RATING, MAX_RATING)
_OPTIONAL_RATING = integer(MIN_RATING, MAX_RATING, nullable=True)


def _enum(kind: type[ReviewSort] | type[SortDirection]) -> Any:
    def normalise(value: Any) -> Any:
        try:
            return kind(value.strip().lower()) if isinstance(value, str) else value
        except ValueError:
            return value

    def check(problems: Problems, name: str, value: Any) -> None:
        if not isinstance(value, kind):
            allowed = ", ".join(member.value for member in kind)
            problems.add(name, f"must be one of: {allowed}", "enum")

    return rule(check, normalise)


def _ids(value: Any) -> Any:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        return value
    return tuple(value)


def _check_ids(problems: Problems, name: str, value: Any) -> None:
    if not isinstance(value, tuple):
        problems.add(name, "must be a list of review ids", "type_error")
        return
    if not 1 <= len(value) <= BULK_DELETE_MAX:
        problems.add(name, f"must hold 1 to {BULK_DELETE_MAX} ids")
        return
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int):
            problems.errors.append(FieldError((name, index), "must be an integer id", "type_error"))
        elif not 1 <= item <= MAX_ID:
            problems.errors.append(FieldError((name, index), "must be a positive integer id"))


@frozen(field_transformer=install_normalisers)
class CreateReview:
    """Review a book: a rating from 1 to 5 and optional text (up to 2000 characters; blank
    text is none)."""

    rating: int = field(metadata=_RATING)
    text: str | None = field(default=None, metadata=_TEXT)

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen(field_transformer=install_normalisers)
class UpdateReview:
    """Change a review (PATCH): fields left ``UNSET`` keep their value; ``text=None`` (or
    blank text) clears the text. ``rating`` may not be ``None``.

    Raises:
        ValidationError: every bad field at once.
    """

    rating: int | Unset = field(default=UNSET, metadata=_RATING)
    text: str | Unset | None = field(default=UNSET, metadata=_TEXT)

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()

    @property
    def is_empty(self) -> bool:
        """Whether nothing is to change."""
        return self.rating is UNSET and self.text is UNSET


@frozen(field_transformer=install_normalisers)
class ModerateReviews:
    """Which live reviews an admin lists: filters AND-combined, a sort, a page.

    Args:
        page: From 1.
        per_page: From 1 to 100.
        book_id: Only reviews of this book.
        user_id: Only reviews by this user.
        rating_min: Only ratings at or above (1..5).
        rating_max: Only ratings at or below (1..5, not below ``rating_min``).
        sort_by: ``date`` (when written) or ``rating``; ties by id.
        sort_dir: ``desc`` (default) or ``asc``.

    Raises:
        ValidationError: every bad field at once, ``rating_max`` below ``rating_min``
            included.
    """

    page: int = field(default=1, metadata=rule(check_page))
    per_page: int = field(default=DEFAULT_PAGE_SIZE, metadata=rule(check_page_size))
    book_id: int | None = field(default=None, metadata=rule(check_optional_id))
    user_id: int | None = field(default=None, metadata=rule(check_optional_id))
    rating_min: int | None = field(default=None, metadata=_OPTIONAL_RATING)
    rating_max: int | None = field(default=None, metadata=_OPTIONAL_RATING)
    sort_by: ReviewSort = field(default=ReviewSort.DATE, metadata=_enum(ReviewSort))
    sort_dir: SortDirection = field(default=SortDirection.DESC, metadata=_enum(SortDirection))

    def __attrs_post_init__(self) -> None:
        problems = check_fields(self)
        if (
            self.rating_min is not None
            and self.rating_max is not None
            and not problems.failed("rating_min")
            and not problems.failed("rating_max")
            and self.rating_min > self.rating_max
        ):
            problems.add("rating_max", "must not be below rating_min")
        if not problems.failed("page") and not problems.failed("per_page"):
            try:
                PageRequest(self.page, self.per_page)  # how deep a page may go
            except ValidationError as exc:
                for error in exc.errors:
                    name = "per_page" if error.loc == ("size",) else str(error.loc[0])
                    problems.add(name, error.msg, error.type)
        problems.raise_if_any()

    @property
    def query(self) -> ReviewQuery:
        """The filters and order, as repositories receive them."""
        return ReviewQuery(
            book_id=self.book_id,
            user_id=self.user_id,
            rating_min=self.rating_min,
            rating_max=self.rating_max,
            sort=self.sort_by,
            direction=self.sort_dir,
        )

    @property
    def page_request(self) -> PageRequest:
        return PageRequest(self.page, self.per_page)


@frozen(field_transformer=install_normalisers)
class BulkDeleteReviews:
    """Soft-delete up to 50 reviews at once (admins). Missing and already deleted ids are
    skipped; repeated ids count once."""

    review_ids: tuple[int, ...] = field(metadata=rule(_check_ids, _ids))

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()
