"""Reviews on every backend: the shared contract in
``bookshop_adapters.testing.contract.reviews``, and the statement budgets of the review lists
and of rated book listings on the SQL backends."""

from __future__ import annotations

import pytest

from bookshop_adapters.testing.builders import ADMIN, add_book
from bookshop_adapters.testing.contract.reviews import (
    ReviewContract,
    add_reviewers,
    buy,
    write_reviews,
)
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.catalog.commands import ListBooks
from bookshop_core.catalog.entities import BookSort
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.pagination import PageRequest
from bookshop_core.reviews import CreateReview, ModerateReviews, ReviewSort, UpdateReview


class TestReviews(ReviewContract):
    """Purchase gate, one live review per user and book, PATCH, soft delete, ratings."""


@pytest.mark.bookshop_backends("sqlite", "postgres")
async def test_listing_1_or_100_reviews_costs_the_same_statements(
    make_shop: MakeShop, clock: ManualClock
) -> None:
    """A book's review page and a moderation page: the same number of statements for 1 and
    for 100 reviews (authors, books and verified purchases are read with the page)."""
    from bookshop_adapters.sqlalchemy import count_statements

    async with make_shop() as shop:
        counts = []
        for size in (1, 100):
            book = await add_book(shop, f"Book {size}")
            await write_reviews(shop, clock, book, [4] * size)
            with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
                page = await shop.reviews.list_for_book(book.id, PageRequest(1, 100))
                moderated = await shop.reviews.moderate(
                    ADMIN, ModerateReviews(book_id=book.id, per_page=100, sort_by=ReviewSort.RATING)
                )
            assert len(page.items) == len(moderated.items) == size
            counts.append(counted.count)
    assert counts[0] == counts[1], counts


@pytest.mark.bookshop_backends("sqlite", "postgres")
async def test_listing_1_or_100_rated_books_costs_the_same_statements(
    make_shop: MakeShop, clock: ManualClock
) -> None:
    """A page of books with their ratings, sorted by rating: the same number of statements
    for 1 and for 100 rated books (the ratings are columns of the book rows)."""
    from bookshop_adapters.sqlalchemy import count_statements

    async with make_shop() as shop:
        counts = []
        for size in (1, 100):
            for n in range(size):
                book = await add_book(shop, f"Rated {size}-{n}")
                await write_reviews(shop, clock, book, [1 + n % 5])
            with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
                page = await shop.catalog.list_books(
                    ListBooks(author="Frank", sort=BookSort.AVG_RATING, size=100)
                )
            assert all(b.avg_rating is not None for b in page.items)
            counts.append(counted.count)
    assert counts[0] == counts[1], counts


@pytest.mark.bookshop_backends("sqlite", "postgres")
async def test_review_writes_cost_a_fixed_number_of_statements(
    make_shop: MakeShop, clock: ManualClock
) -> None:
    """Create, re-rate and delete each cost a few statements, none of them for the book's
    counters (the database's triggers move those within the review's own statement)."""
    from bookshop_adapters.sqlalchemy import count_statements

    async with make_shop() as shop:
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, stock=3)
        await buy(shop, reader, book)
        counts = {}
        with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
            review = await shop.reviews.create(reader, book.id, CreateReview(rating=2))
        counts["create"] = counted.count
        with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
            await shop.reviews.update(reader, review.id, UpdateReview(rating=5))
        counts["patch"] = counted.count
        with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
            await shop.reviews.delete(reader, review.id)
        counts["delete"] = counted.count
    # create: the book, the purchase gate, the insert, the read-back; patch: the review,
    # the update, the read-back; delete: the review, the soft delete.
    assert counts == {"create": 4, "patch": 3, "delete": 2}, counts
