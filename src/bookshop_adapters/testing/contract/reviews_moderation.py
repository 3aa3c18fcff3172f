"""Contract: review moderation, on every backend.

Admins list live reviews with AND-combined filters (book, user, rating range) sorted by date
or rating (then id, in the same direction), one page at a time with the exact total, and
soft-delete up to 50 reviews at once (missing and already deleted ids skipped, the count
returned). A property checks random stores and random queries against a plain-Python
expectation computed from what was written.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from attrs import frozen
from hypothesis import given, settings
from hypothesis import strategies as st

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import CUSTOMER, add_book
from bookshop_adapters.testing.contract.properties import (
    EXAMPLES,
    SQL_EXAMPLES,
    _dialect_of,
    property_settings,
)
from bookshop_adapters.testing.contract.reviews import (
    MODERATOR,
    add_reviewers,
    expected_ratings,
)
from bookshop_adapters.testing.pytest_plugin import ShopFactory
from bookshop_core.catalog.entities import Book, SortDirection
from bookshop_core.errors import DomainError, ValidationError
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal
from bookshop_core.reviews import (
    BULK_DELETE_MAX,
    BulkDeleteReviews,
    ModerateReviews,
    NewReview,
    Review,
    ReviewSort,
)

__all__ = ["ReviewModerationContract", "WrittenReview", "expected_page", "write_store"]


@frozen
class WrittenReview:
    """A review as a test wrote it, the reference for what moderation must list."""

    id: int
    user_id: int
    book_id: int
    rating: int
    created_at_order: int  # ticks of the clock before it was written
    deleted: bool


async def write_store(
    shop: Shop,
    clock: ManualClock,
    books: list[Book],
    users: list[Principal],
    plan: list[tuple[int, int, int, bool, bool]],
) -> list[WrittenReview]:
    """Write ``plan`` in one transaction through the repository: each entry is ``(user
    index, book index, rating, tick, deleted)``; ``tick`` advances the clock a second first
    (so several reviews share a timestamp otherwise). (User, book) pairs must be unique."""
    written = []
    ticks = 0
    async with shop.unit_of_work() as uow:
        for user, book, rating, tick, deleted in plan:
            if tick:
                clock.advance(timedelta(seconds=1))
                ticks += 1
            new = NewReview(users[user].user_id, books[book].id, rating, None, clock.now())
            review = await uow.reviews.add(new)
            assert review is not None
            if deleted:
                assert await uow.reviews.delete(review.id, now=clock.now())
            written.append(
                WrittenReview(review.id, new.user_id, new.book_id, rating, ticks, deleted)
            )
        await uow.commit()
    return written


def expected_page(written: list[WrittenReview], command: ModerateReviews) -> tuple[list[int], int]:
    """The ids of the page and the total that ``command`` must list, in plain Python."""
    found = [
        w
        for w in written
        if not w.deleted
        and (command.book_id is None or w.book_id == command.book_id)
        and (command.user_id is None or w.user_id == command.user_id)
        and (command.rating_min is None or w.rating >= command.rating_min)
        and (command.rating_max is None or w.rating <= command.rating_max)
    ]
    if command.sort_by is ReviewSort.RATING:
        found.sort(key=lambda w: (w.rating, w.id))
    else:
        found.sort(key=lambda w: (w.created_at_order, w.id))
    if command.sort_dir is SortDirection.DESC:
        found.reverse()
    start = (command.page - 1) * command.per_page
    return [w.id for w in found[start : start + command.per_page]], len(found)


async def _seeded(shop: Shop, clock: ManualClock) -> tuple[list[Review], list[Book], list[int]]:
    """Three users, two books; user 0 rates both, the others one each: five reviews."""
    users = await add_reviewers(shop, clock, 3)
    books = [await add_book(shop, "One"), await add_book(shop, "Two")]
    plan = [(0, 0, 5, True, False), (0, 1, 2, True, False), (1, 0, 3, True, False)]
    plan += [(2, 1, 5, True, False), (1, 1, 4, False, False)]
    written = await write_store(shop, clock, books, users, plan)
    async with shop.unit_of_work(read_only=True) as uow:
        reviews = [await uow.reviews.get(w.id) for w in written]
    return [r for r in reviews if r is not None], books, [u.user_id for u in users]


async def _ids(shop: Shop, command: ModerateReviews) -> list[int]:
    return [r.id for r in (await shop.reviews.moderate(MODERATOR, command)).items]


@pytest.mark.asyncio
class ReviewModerationContract:
    """Admins list reviews by AND-combined filters in date or rating order and bulk
    soft-delete them."""

    async def test_the_default_list_is_newest_first_with_authors_and_books(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Every live review, newest first, with its author's name and its book's title;
        the page says the exact total."""
        reviews, _, users = await _seeded(shop, clock)
        page = await shop.reviews.moderate(MODERATOR, ModerateReviews(per_page=2))
        assert [r.id for r in page.items] == [reviews[4].id, reviews[3].id]
        assert (page.total, page.page, page.size, page.total_pages) == (5, 1, 2, 3)
        assert page.items[0].author.display_name == f"Reader #{users[1]}"
        assert page.items[0].book.title == "Two"

    async def test_filters_and_combine(self, shop: Shop, clock: ManualClock) -> None:
        """Book, user and rating range filters each narrow the list, together too."""
        reviews, books, users = await _seeded(shop, clock)
        by_book = await _ids(shop, ModerateReviews(book_id=books[1].id))
        assert sorted(by_book) == sorted(r.id for r in reviews if r.book_id == books[1].id)
        by_user = await _ids(shop, ModerateReviews(user_id=users[0]))
        assert sorted(by_user) == [reviews[0].id, reviews[1].id]
        high = await _ids(shop, ModerateReviews(rating_min=4, rating_max=5))
        assert sorted(high) == [reviews[0].id, reviews[3].id, reviews[4].id]
        both = ModerateReviews(book_id=books[1].id, user_id=users[1], rating_min=4)
        assert await _ids(shop, both) == [reviews[4].id]
        assert await _ids(shop, ModerateReviews(book_id=books[0].id, rating_max=1)) == []

    async def test_sorts_by_rating_then_id_in_both_directions(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """``sort_by=rating``: the rating, then the id, in the direction asked."""
        reviews, _, _ = await _seeded(shop, clock)
        by = {r.rating: r for r in reviews}
        five = sorted(r.id for r in reviews if r.rating == 5)
        up = ModerateReviews(sort_by=ReviewSort.RATING, sort_dir=SortDirection.ASC)
        assert await _ids(shop, up) == [by[2].id, by[3].id, by[4].id, *five]
        down = ModerateReviews(sort_by=ReviewSort.RATING)
        assert await _ids(shop, down) == [*reversed(five), by[4].id, by[3].id, by[2].id]

    async def test_a_rating_range_upside_down_is_refused(self) -> None:
        """``rating_min`` above ``rating_max`` is a VALIDATION_ERROR on ``rating_max``."""
        with pytest.raises(ValidationError) as caught:
            ModerateReviews(rating_min=4, rating_max=3)
        assert [e.loc for e in caught.value.errors] == [("rating_max",)]

    async def test_only_admins_moderate(self, shop: Shop, clock: ManualClock) -> None:
        """A customer listing or bulk deleting gets AUTH_FORBIDDEN, and nothing changes."""
        reviews, _, _ = await _seeded(shop, clock)
        for call in (
            shop.reviews.moderate(CUSTOMER, ModerateReviews()),
            shop.reviews.delete_many(CUSTOMER, BulkDeleteReviews(review_ids=(reviews[0].id,))),
        ):
            with pytest.raises(DomainError) as caught:
                await call
            assert caught.value.code == "AUTH_FORBIDDEN"
        assert (await shop.reviews.moderate(MODERATOR, ModerateReviews())).total == 5

    async def test_bulk_delete_skips_missing_and_deleted_ids_and_counts(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Missing, already deleted and repeated ids are skipped; the count says how many
        were deleted; the books' ratings drop them."""
        reviews, books, _ = await _seeded(shop, clock)
        await shop.reviews.delete(MODERATOR, reviews[1].id)
        ids = (reviews[0].id, reviews[1].id, 999_999, reviews[3].id, reviews[0].id)
        assert await shop.reviews.delete_many(MODERATOR, BulkDeleteReviews(review_ids=ids)) == 2
        left = await _ids(shop, ModerateReviews())
        assert left == [reviews[4].id, reviews[2].id]
        for book in books:
            live = [r.rating for r in reviews if r.book_id == book.id and r.id in left]
            current = await shop.catalog.get_book(book.id)
            assert (current.avg_rating, current.review_count) == expected_ratings(live)
        again = BulkDeleteReviews(review_ids=ids)
        assert await shop.reviews.delete_many(MODERATOR, again) == 0

    async def test_concurrent_bulk_deletes_count_each_review_once(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Two admins bulk-delete overlapping ids of two books at once, one meeting the
        books in the other's reverse order: each review is deleted and uncounted once, and
        neither call fails."""
        users = await add_reviewers(shop, clock, 24)
        books = [await add_book(shop, "One"), await add_book(shop, "Two")]
        # By id: five of book 0, ten of book 1, five of book 0, then four kept.
        plan = [(n, 0 if n < 5 or n >= 15 else 1, 1 + n % 5, False, False) for n in range(20)]
        plan += [(20 + n, n % 2, 1 + n, False, False) for n in range(4)]
        written = await write_store(shop, clock, books, users, plan)
        first = BulkDeleteReviews(review_ids=tuple(w.id for w in written[:10]))
        second = BulkDeleteReviews(review_ids=tuple(w.id for w in written[5:20]))
        counts = await asyncio.gather(
            shop.reviews.delete_many(MODERATOR, first),
            shop.reviews.delete_many(MODERATOR, second),
        )
        assert sum(counts) == 20, counts
        for book in books:
            live = [w.rating for w in written[20:] if w.book_id == book.id]
            current = await shop.catalog.get_book(book.id)
            assert (current.avg_rating, current.review_count) == expected_ratings(live)

    async def test_bulk_delete_takes_up_to_fifty_ids(self, shop: Shop, clock: ManualClock) -> None:
        """Fifty reviews go in one call; fifty-one ids, or none, are refused."""
        users = await add_reviewers(shop, clock, BULK_DELETE_MAX)
        book = await add_book(shop)
        plan = [(n, 0, 1 + n % 5, False, False) for n in range(BULK_DELETE_MAX)]
        written = await write_store(shop, clock, [book], users, plan)
        ids = tuple(w.id for w in written)
        assert await shop.reviews.delete_many(MODERATOR, BulkDeleteReviews(review_ids=ids)) == 50
        current = await shop.catalog.get_book(book.id)
        assert (current.avg_rating, current.review_count) == (None, 0)
        for bad in ((), (*ids, 999_999)):
            with pytest.raises(ValidationError):
                BulkDeleteReviews(review_ids=bad)


# -- the property --------------------------------------------------------------------------

_USERS = 4
_BOOKS = 3

_plans = st.lists(
    st.tuples(
        st.integers(0, _USERS - 1),
        st.integers(0, _BOOKS - 1),
        st.integers(1, 5),
        st.booleans(),
        st.booleans(),
    ),
    max_size=_USERS * _BOOKS,
    unique_by=lambda entry: (entry[0], entry[1]),
)
_queries = st.fixed_dictionaries(
    {
        "page": st.integers(1, 3),
        "per_page": st.integers(1, 5),
        "book": st.none() | st.integers(0, _BOOKS),  # _BOOKS: an id no book has
        "user": st.none() | st.integers(0, _USERS - 1),
        "rating_min": st.none() | st.integers(1, 5),
        "rating_max": st.none() | st.integers(1, 5),
        "sort_by": st.sampled_from(ReviewSort),
        "sort_dir": st.sampled_from(SortDirection),
    }
)


def _property_settings(dialect: str) -> settings:
    return property_settings(dialect, EXAMPLES, SQL_EXAMPLES)


def _command(
    query: dict[str, Any], books: list[Book], users: list[Principal]
) -> ModerateReviews | None:
    book = query["book"]
    try:
        return ModerateReviews(
            page=query["page"],
            per_page=query["per_page"],
            book_id=None if book is None else (books[book].id if book < len(books) else 999_999),
            user_id=None if query["user"] is None else users[query["user"]].user_id,
            rating_min=query["rating_min"],
            rating_max=query["rating_max"],
            sort_by=query["sort_by"],
            sort_dir=query["sort_dir"],
        )
    except ValidationError:
        return None  # an upside-down range: refused before any store is asked


class ReviewModerationProperties:
    """Random stores of reviews, random moderation queries."""

    def test_moderation_lists_what_plain_python_expects(self, shop_factory: ShopFactory) -> None:
        """For any reviews written and deleted and any filters, sort and page, moderation
        lists the same ids in the same order with the same total as a plain-Python filter
        and sort of what was written; every book's rating counts its live reviews."""
        dialect = _dialect_of(shop_factory)

        async def check(
            plan: list[tuple[int, int, int, bool, bool]], queries: list[dict[str, Any]]
        ) -> None:
            clock = ManualClock()
            async with shop_factory.open(clock=clock) as shop:
                users = await add_reviewers(shop, clock, _USERS)
                books = [await add_book(shop, f"Book {n}") for n in range(_BOOKS)]
                written = await write_store(shop, clock, books, users, plan)
                for query in queries:
                    command = _command(query, books, users)
                    if command is None:
                        continue
                    page = await shop.reviews.moderate(MODERATOR, command)
                    assert ([r.id for r in page.items], page.total) == expected_page(
                        written, command
                    ), command
                for book in books:
                    live = [w.rating for w in written if w.book_id == book.id and not w.deleted]
                    current = await shop.catalog.get_book(book.id)
                    assert (current.avg_rating, current.review_count) == expected_ratings(live)

        @_property_settings(dialect)
        @given(plan=_plans, queries=st.lists(_queries, min_size=1, max_size=6))
        def property_holds(
            plan: list[tuple[int, int, int, bool, bool]], queries: list[dict[str, Any]]
        ) -> None:
            asyncio.run(check(plan, queries))

        property_holds()
