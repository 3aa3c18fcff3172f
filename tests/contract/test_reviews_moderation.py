"""Review moderation on every backend: the shared contract in
``bookshop_adapters.testing.contract.reviews_moderation``, and the bulk delete's statement
budget on the SQL backends."""

from __future__ import annotations

import pytest

from bookshop_adapters.testing.builders import add_book
from bookshop_adapters.testing.contract.reviews import MODERATOR, add_reviewers
from bookshop_adapters.testing.contract.reviews_moderation import (
    ReviewModerationContract,
    ReviewModerationProperties,
    write_store,
)
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.reviews import BulkDeleteReviews


class TestReviewModeration(ReviewModerationContract):
    """Filters, sorts, pages; admin only; bulk soft-delete."""


class TestReviewModerationProperties(ReviewModerationProperties):
    """Moderation agrees with a plain-Python expectation for random stores and queries."""


@pytest.mark.bookshop_backends("sqlite", "postgres")
async def test_a_bulk_delete_is_one_statement_for_1_and_50_reviews(
    make_shop: MakeShop, clock: ManualClock
) -> None:
    """One soft-delete statement, whether one review goes or fifty reviews of ten books (the
    database's triggers move the books' counters within it)."""
    from bookshop_adapters.sqlalchemy import count_statements

    async with make_shop() as shop:
        users = await add_reviewers(shop, clock, 50)
        books = [await add_book(shop, f"Book {n}") for n in range(11)]
        plan = [(n, 1 + n % 10, 1 + n % 5, False, False) for n in range(50)]
        plan.append((0, 0, 3, False, False))
        written = await write_store(shop, clock, books, users, plan)
        counts = []
        for chosen in (written[-1:], written[:50]):
            ids = tuple(w.id for w in chosen)
            with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
                deleted = await shop.reviews.delete_many(
                    MODERATOR, BulkDeleteReviews(review_ids=ids)
                )
            assert deleted == len(ids)
            counts.append(counted.count)
        for book in books:
            assert (await shop.catalog.get_book(book.id)).review_count == 0
    assert counts == [1, 1], counts
