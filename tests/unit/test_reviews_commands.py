"""The reviews commands: what they accept and refuse, before any store is asked; and the
testing kit's strategies for them yield commands the core accepts."""

from __future__ import annotations

import pytest
from hypothesis import given

from bookshop_adapters.testing import strategies as bs
from bookshop_core import ValidationError, structure
from bookshop_core.identity.commands import ChangeDisplayName, Register
from bookshop_core.kernel.validation import UNSET
from bookshop_core.reviews import (
    BulkDeleteReviews,
    CreateReview,
    ModerateReviews,
    ReviewSort,
    UpdateReview,
)


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str | int, ...]]:
    return [e.loc for e in exc.value.errors]


def test_a_review_has_a_rating_from_1_to_5_and_optional_trimmed_text() -> None:
    """Rating 1..5 (never a bool), text up to 2000 characters once trimmed, blank is none."""
    assert CreateReview(rating=1, text="  Fine  ") == CreateReview(rating=1, text="Fine")
    assert CreateReview(rating=5, text="   ").text is None
    for bad in (
        {"rating": 0},
        {"rating": 6},
        {"rating": True},
        {"rating": 3, "text": "x" * 2001},
        {"rating": 3, "text": "nul\x00"},
    ):
        with pytest.raises(ValidationError):
            structure(bad, CreateReview, strict=True)


def test_a_patch_tells_absent_from_null() -> None:
    """Absent fields are UNSET; ``text: null`` clears; ``rating: null`` is refused."""
    assert structure({}, UpdateReview) == UpdateReview(rating=UNSET, text=UNSET)
    assert structure({}, UpdateReview).is_empty
    assert structure({"text": None}, UpdateReview).text is None
    with pytest.raises(ValidationError) as caught:
        structure({"rating": None}, UpdateReview)
    assert _fields(caught) == [("rating",)]


def test_moderation_refuses_an_upside_down_rating_range_and_reads_query_strings() -> None:
    """``rating_min`` above ``rating_max`` is refused on ``rating_max``; query-string values
    are read (sort names in any case)."""
    with pytest.raises(ValidationError) as caught:
        ModerateReviews(rating_min=4, rating_max=2)
    assert _fields(caught) == [("rating_max",)]
    command = structure({"rating_min": "2", "sort_by": "Rating", "per_page": "5"}, ModerateReviews)
    assert (command.rating_min, command.sort_by, command.per_page) == (2, ReviewSort.RATING, 5)
    with pytest.raises(ValidationError) as caught:
        structure({"sort_by": "stars", "per_page": "0"}, ModerateReviews)
    assert sorted(_fields(caught)) == [("per_page",), ("sort_by",)]


def test_a_bulk_delete_takes_1_to_50_positive_ids() -> None:
    """No ids, 51 ids or a non-positive id are refused (the bad id located by its index)."""
    assert BulkDeleteReviews(review_ids=(3, 3)).review_ids == (3, 3)
    for ids in ((), tuple(range(1, 52))):
        with pytest.raises(ValidationError):
            BulkDeleteReviews(review_ids=ids)
    with pytest.raises(ValidationError) as caught:
        BulkDeleteReviews(review_ids=(1, 0))
    assert _fields(caught) == [("review_ids", 1)]


def test_display_names_are_optional_trimmed_and_at_most_100_characters() -> None:
    """At registration or later: trimmed, blank is none, longer than 100 is refused."""
    register = Register(email="a@example.com", password="a long passphrase", display_name=" Ann ")
    assert register.display_name == "Ann"
    assert ChangeDisplayName(display_name=" ").display_name is None
    with pytest.raises(ValidationError) as caught:
        ChangeDisplayName(display_name="x" * 101)
    assert _fields(caught) == [("display_name",)]


@given(
    bs.create_review_commands(),
    bs.update_review_commands(),
    bs.moderate_reviews_commands(),
    bs.bulk_delete_reviews_commands(),
)
def test_the_testing_kit_yields_accepted_review_commands(
    create: CreateReview, update: UpdateReview, moderate: ModerateReviews, bulk: BulkDeleteReviews
) -> None:
    """Every strategy's command is valid: rebuilding it from its own fields gives it back."""
    assert CreateReview(rating=create.rating, text=create.text) == create
    assert UpdateReview(rating=update.rating, text=update.text) == update
    low, high = moderate.query.rating_min, moderate.query.rating_max
    assert low is None or high is None or low <= high
    assert BulkDeleteReviews(review_ids=bulk.review_ids) == bulk
