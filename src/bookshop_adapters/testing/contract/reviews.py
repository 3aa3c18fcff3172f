"""Contract: reviews and ratings, on every backend.

Only a buyer reviews (an order in a sale status, confirmed, shipped or delivered, containing
the book); one live review per user and book (a deleted one does not block a new one, and two
concurrent first reviews leave one); PATCH semantics; soft delete by the author or an admin.
Each book's ``avg_rating`` (one decimal, half-up) and ``review_count`` count its live reviews
after every write. Purchases are made through the real use cases (cart, checkout, order
status); only the rating table, which needs 1000 reviews, writes them through the repository.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.testing.builders import ADMIN, add_book
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.catalog.commands import ListBooks
from bookshop_core.catalog.entities import Book, BookSort, SortDirection
from bookshop_core.commerce.commands import AddToCart, Checkout, SetOrderStatus
from bookshop_core.commerce.entities import Order, OrderStatus
from bookshop_core.errors import DomainError
from bookshop_core.identity.commands import ChangeDisplayName, Register
from bookshop_core.identity.entities import NewUser
from bookshop_core.identity.settings import IdentitySettings
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.pagination import PageRequest
from bookshop_core.kernel.principal import Principal, Role
from bookshop_core.reviews import CreateReview, NewReview, Review, UpdateReview

__all__ = [
    "MODERATOR",
    "ReviewContract",
    "add_reviewers",
    "buy",
    "expected_ratings",
    "live_reviews",
    "order_in",
    "write_reviews",
]

_EMAILS = itertools.count(1)
#: An admin who writes no reviews (``ADMIN`` is user 1, often a reviewer's id here too).
MODERATOR = Principal(user_id=999_998, role=Role.ADMIN)


async def add_reviewers(
    shop: Shop, clock: ManualClock, count: int, *, display_names: Sequence[str | None] = ()
) -> list[Principal]:
    """``count`` customers (unique ``reviewer<n>@example.com`` addresses) in one transaction,
    straight through the unit of work; ``display_names`` gives the first ones a name."""
    names = list(display_names) + [None] * count
    async with shop.unit_of_work() as uow:
        users = [
            await uow.users.add(
                NewUser(
                    email=f"reviewer{next(_EMAILS)}@example.com",
                    password_hash=None,
                    role=Role.USER,
                    created_at=clock.now(),
                    display_name=names[n],
                )
            )
            for n in range(count)
        ]
        await uow.commit()
    return [Principal(user_id=user.id) for user in users]


async def buy(shop: Shop, buyer: Principal, *books: Book) -> Order:
    """One copy of each book through the buyer's cart and a checkout (confirmed)."""
    for book in books:
        await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=1))
    return await shop.orders.checkout(buyer)


async def order_in(shop: Shop, buyer: Principal, book: Book, status: OrderStatus) -> None:
    """Give the buyer an order of the book in ``status``, through the real use cases: a
    declined checkout for ``payment_failed``, then the cart emptied again."""
    if status is OrderStatus.PAYMENT_FAILED:
        line = await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=1))
        with pytest.raises(DomainError):
            await shop.orders.checkout(buyer, Checkout(force_payment_failure=True))
        await shop.cart.remove(buyer, line.id)
        return
    order = await buy(shop, buyer, book)
    path = {
        OrderStatus.CONFIRMED: (),
        OrderStatus.SHIPPED: (OrderStatus.SHIPPED,),
        OrderStatus.DELIVERED: (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
        OrderStatus.CANCELLED: (OrderStatus.CANCELLED,),
    }[status]
    for step in path:
        await shop.orders.set_status(ADMIN, order.id, SetOrderStatus(status=step))


async def write_reviews(
    shop: Shop, clock: ManualClock, book: Book, ratings: Sequence[int]
) -> list[Principal]:
    """One review per rating of ``book``, each by a new user, written in one transaction
    straight through the repository (no purchases: for tables of many ratings)."""
    authors = await add_reviewers(shop, clock, len(ratings))
    async with shop.unit_of_work() as uow:
        for author, rating in zip(authors, ratings, strict=True):
            new = NewReview(author.user_id, book.id, rating, None, clock.now())
            assert await uow.reviews.add(new) is not None
        await uow.commit()
    return authors


async def live_reviews(shop: Shop, book: Book) -> list[Review]:
    """Every live review of the book, newest first (read page by page)."""
    found: list[Review] = []
    number = 1
    while True:
        page = await shop.reviews.list_for_book(book.id, PageRequest(number, 100))
        found.extend(page.items)
        if number * 100 >= page.total:
            return found
        number += 1


def expected_ratings(ratings: Sequence[int]) -> tuple[Decimal | None, int]:
    """``(avg_rating, review_count)`` computed in plain Python: the mean to one decimal,
    half-up, by integer arithmetic (``None`` without ratings)."""
    if not ratings:
        return None, 0
    tenths, remainder = divmod(sum(ratings) * 10, len(ratings))
    if 2 * remainder >= len(ratings):
        tenths += 1
    return Decimal(tenths) / 10, len(ratings)


async def _error_of(awaitable: Awaitable[object]) -> DomainError:
    """The domain error the awaitable fails with (it must fail with one)."""
    with pytest.raises(DomainError) as caught:
        await awaitable
    return caught.value


async def _rating_of(shop: Shop, book: Book) -> tuple[Decimal | None, int]:
    current = await shop.catalog.get_book(book.id)
    return current.avg_rating, current.review_count


@pytest.mark.asyncio
class ReviewContract:
    """Buyers review once per book; PATCH, soft delete, reads; ratings follow every write."""

    # -- the purchase gate ------------------------------------------------------------------

    async def test_a_buyer_reviews_a_book(self, shop: Shop, clock: ManualClock) -> None:
        """A confirmed order lets its buyer review: the review shows the rating, the trimmed
        text, a verified purchase, the author's neutral name and the book."""
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, "Dune", stock=3, cover_image_url="https://x.test/d.jpg")
        await buy(shop, reader, book)
        review = await shop.reviews.create(reader, book.id, CreateReview(rating=4, text=" Vast "))
        assert (review.book_id, review.user_id, review.rating, review.text) == (
            book.id,
            reader.user_id,
            4,
            "Vast",
        )
        assert review.verified_purchase
        assert (review.created_at, review.updated_at) == (clock.now(), clock.now())
        assert (review.author.user_id, review.author.display_name) == (
            reader.user_id,
            f"Reader #{reader.user_id}",
        )
        assert (review.book.book_id, review.book.title, review.book.cover_image_url) == (
            book.id,
            "Dune",
            "https://x.test/d.jpg",
        )
        assert await shop.reviews.get(review.id) == review
        assert await _rating_of(shop, book) == (Decimal("4.0"), 1)

    @pytest.mark.parametrize(
        "status", [OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED]
    )
    async def test_a_sale_status_opens_the_gate(
        self, shop: Shop, clock: ManualClock, status: OrderStatus
    ) -> None:
        """Confirmed, shipped and delivered orders let their buyer review."""
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, stock=3)
        await order_in(shop, reader, book, status)
        review = await shop.reviews.create(reader, book.id, CreateReview(rating=5))
        assert review.verified_purchase

    @pytest.mark.parametrize("status", [None, OrderStatus.CANCELLED, OrderStatus.PAYMENT_FAILED])
    async def test_no_sale_is_not_purchased(
        self, shop: Shop, clock: ManualClock, status: OrderStatus | None
    ) -> None:
        """No order, a cancelled order or a failed payment: NOT_PURCHASED on field book_id,
        and nothing is stored."""
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, stock=3)
        if status is not None:
            await order_in(shop, reader, book, status)
        error = await _error_of(shop.reviews.create(reader, book.id, CreateReview(rating=5)))
        assert (error.code, error.field) == ("NOT_PURCHASED", "book_id")
        assert await live_reviews(shop, book) == []
        assert await _rating_of(shop, book) == (None, 0)

    async def test_another_users_order_does_not_count(self, shop: Shop, clock: ManualClock) -> None:
        """The gate reads the caller's own orders only."""
        buyer, other = await add_reviewers(shop, clock, 2)
        book = await add_book(shop, stock=3)
        await buy(shop, buyer, book)
        error = await _error_of(shop.reviews.create(other, book.id, CreateReview(rating=5)))
        assert error.code == "NOT_PURCHASED"

    async def test_an_order_still_counts_after_another_of_its_books_is_deleted(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """An order keeps opening the gate for its remaining books when one of its books
        is deleted from the catalog; the deleted book itself is BOOK_NOT_FOUND."""
        [reader] = await add_reviewers(shop, clock, 1)
        kept = await add_book(shop, "Kept", stock=3)
        gone = await add_book(shop, "Gone", stock=3)
        await buy(shop, reader, kept, gone)
        await shop.catalog.delete_book(ADMIN, gone.id)
        review = await shop.reviews.create(reader, kept.id, CreateReview(rating=3))
        assert review.verified_purchase
        error = await _error_of(shop.reviews.create(reader, gone.id, CreateReview(rating=3)))
        assert error.code == "BOOK_NOT_FOUND"

    async def test_reviewing_an_unknown_book_is_book_not_found(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """An id no book has: BOOK_NOT_FOUND."""
        [reader] = await add_reviewers(shop, clock, 1)
        error = await _error_of(shop.reviews.create(reader, 999_999, CreateReview(rating=5)))
        assert error.code == "BOOK_NOT_FOUND"

    # -- one live review per user and book --------------------------------------------------

    async def test_a_second_review_is_a_duplicate_naming_the_first(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """DUPLICATE_REVIEW with ``existing_review_id``; the rating is unchanged."""
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, stock=3)
        await buy(shop, reader, book)
        first = await shop.reviews.create(reader, book.id, CreateReview(rating=2))
        error = await _error_of(shop.reviews.create(reader, book.id, CreateReview(rating=5)))
        assert (error.code, error.details) == ("DUPLICATE_REVIEW", {"existing_review_id": first.id})
        assert await _rating_of(shop, book) == (Decimal("2.0"), 1)

    async def test_after_deleting_a_user_can_review_the_book_again(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A soft-deleted review does not block a new one."""
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, stock=3)
        await buy(shop, reader, book)
        first = await shop.reviews.create(reader, book.id, CreateReview(rating=1))
        await shop.reviews.delete(reader, first.id)
        second = await shop.reviews.create(reader, book.id, CreateReview(rating=5))
        assert second.id != first.id
        assert [r.id for r in await live_reviews(shop, book)] == [second.id]
        assert await _rating_of(shop, book) == (Decimal("5.0"), 1)

    async def test_two_concurrent_first_reviews_by_one_user_leave_one(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Racing first reviews of one book by one user: one is stored, the other is
        DUPLICATE_REVIEW naming it, and the book counts one review."""
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, stock=3)
        await buy(shop, reader, book)
        outcomes = await asyncio.gather(
            shop.reviews.create(reader, book.id, CreateReview(rating=4)),
            shop.reviews.create(reader, book.id, CreateReview(rating=2)),
            return_exceptions=True,
        )
        made = [o for o in outcomes if isinstance(o, Review)]
        refused = [o for o in outcomes if isinstance(o, DomainError)]
        assert (len(made), [e.code for e in refused]) == (1, ["DUPLICATE_REVIEW"]), outcomes
        assert refused[0].details == {"existing_review_id": made[0].id}
        assert await live_reviews(shop, book) == made
        assert await _rating_of(shop, book) == (Decimal(made[0].rating), 1)

    async def test_concurrent_reviews_of_one_book_by_many_users_all_count(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Racing first reviews of one book by different users are all stored and all
        counted in the book's rating (no lost update of its counters)."""
        readers = await add_reviewers(shop, clock, 5)
        book = await add_book(shop, stock=5)
        for reader in readers:
            await buy(shop, reader, book)
        ratings = [5, 4, 4, 2, 1]
        made = await asyncio.gather(
            *(
                shop.reviews.create(reader, book.id, CreateReview(rating=rating))
                for reader, rating in zip(readers, ratings, strict=True)
            )
        )
        assert len({review.id for review in made}) == len(ratings)
        assert await _rating_of(shop, book) == expected_ratings(ratings)

    async def test_a_review_re_rated_and_deleted_concurrently_is_uncounted(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The author re-rates while an admin deletes: whichever wins, the book counts only
        the other live review."""
        reader, other = await add_reviewers(shop, clock, 2)
        book = await add_book(shop, stock=3)
        for user in (reader, other):
            await buy(shop, user, book)
        review = await shop.reviews.create(reader, book.id, CreateReview(rating=1))
        await shop.reviews.create(other, book.id, CreateReview(rating=4))
        outcomes = await asyncio.gather(
            shop.reviews.update(reader, review.id, UpdateReview(rating=5)),
            shop.reviews.delete(MODERATOR, review.id),
            return_exceptions=True,
        )
        failed = [getattr(o, "code", o) for o in outcomes if isinstance(o, BaseException)]
        assert failed in ([], ["REVIEW_NOT_FOUND"]), outcomes
        assert await _rating_of(shop, book) == expected_ratings([4])

    # -- PATCH --------------------------------------------------------------------------------

    async def test_patch_changes_only_the_given_fields(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A rating alone keeps the text; text alone keeps the rating; ``text=None`` clears
        it; nothing given changes nothing; the book's rating follows."""
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, stock=3)
        await buy(shop, reader, book)
        review = await shop.reviews.create(reader, book.id, CreateReview(rating=2, text="Meh"))
        clock.advance(timedelta(minutes=5))
        rated = await shop.reviews.update(reader, review.id, UpdateReview(rating=5))
        assert (rated.rating, rated.text, rated.updated_at) == (5, "Meh", clock.now())
        assert rated.created_at == review.created_at
        assert await _rating_of(shop, book) == (Decimal("5.0"), 1)
        retold = await shop.reviews.update(reader, review.id, UpdateReview(text="Great"))
        assert (retold.rating, retold.text) == (5, "Great")
        cleared = await shop.reviews.update(reader, review.id, UpdateReview(text=None))
        assert (cleared.rating, cleared.text) == (5, None)
        assert await shop.reviews.update(reader, review.id, UpdateReview()) == cleared
        assert await shop.reviews.get(review.id) == cleared

    async def test_only_the_author_patches_a_review(self, shop: Shop, clock: ManualClock) -> None:
        """Another user, and an admin too, get NOT_REVIEW_OWNER; the review is unchanged."""
        reader, other = await add_reviewers(shop, clock, 2)
        book = await add_book(shop, stock=3)
        await buy(shop, reader, book)
        review = await shop.reviews.create(reader, book.id, CreateReview(rating=2))
        for caller in (other, MODERATOR):
            error = await _error_of(shop.reviews.update(caller, review.id, UpdateReview(rating=5)))
            assert error.code == "NOT_REVIEW_OWNER"
        assert await shop.reviews.get(review.id) == review

    async def test_a_deleted_or_unknown_review_is_not_found(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Get, PATCH and delete of a deleted review, or of an unknown id: REVIEW_NOT_FOUND."""
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, stock=3)
        await buy(shop, reader, book)
        review = await shop.reviews.create(reader, book.id, CreateReview(rating=2))
        await shop.reviews.delete(reader, review.id)
        for review_id in (review.id, 999_999):
            for call in (
                shop.reviews.get(review_id),
                shop.reviews.update(reader, review_id, UpdateReview(rating=1)),
                shop.reviews.delete(reader, review_id),
            ):
                assert (await _error_of(call)).code == "REVIEW_NOT_FOUND"

    # -- delete ---------------------------------------------------------------------------------

    async def test_the_author_or_an_admin_deletes_a_review(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The author deletes their own; an admin deletes anyone's; another user gets
        NOT_REVIEW_OWNER; deleted reviews leave the lists and the rating."""
        reader, other, third = await add_reviewers(shop, clock, 3)
        book = await add_book(shop, stock=5)
        for user in (reader, other):
            await buy(shop, user, book)
        mine = await shop.reviews.create(reader, book.id, CreateReview(rating=5))
        theirs = await shop.reviews.create(other, book.id, CreateReview(rating=2))
        assert (await _error_of(shop.reviews.delete(third, mine.id))).code == "NOT_REVIEW_OWNER"
        assert await _rating_of(shop, book) == (Decimal("3.5"), 2)
        await shop.reviews.delete(reader, mine.id)
        assert await _rating_of(shop, book) == (Decimal("2.0"), 1)
        await shop.reviews.delete(MODERATOR, theirs.id)
        assert await live_reviews(shop, book) == []
        assert await _rating_of(shop, book) == (None, 0)

    # -- reading --------------------------------------------------------------------------------

    async def test_a_books_reviews_are_listed_newest_first_with_a_total(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Only that book's live reviews, newest first (ties by id), paged, exact total; an
        unknown book has none."""
        readers = await add_reviewers(shop, clock, 3)
        book, other_book = await add_book(shop, "A", stock=5), await add_book(shop, "B", stock=5)
        made = []
        for reader in readers:
            await buy(shop, reader, book, other_book)
            made.append(await shop.reviews.create(reader, book.id, CreateReview(rating=3)))
            await shop.reviews.create(reader, other_book.id, CreateReview(rating=4))
            clock.advance(timedelta(minutes=1))
        page = await shop.reviews.list_for_book(book.id, PageRequest(1, 2))
        assert ([r.id for r in page.items], page.total) == ([made[2].id, made[1].id], 3)
        page = await shop.reviews.list_for_book(book.id, PageRequest(2, 2))
        assert [r.id for r in page.items] == [made[0].id]
        assert (await shop.reviews.list_for_book(999_999)).total == 0

    async def test_verified_purchase_follows_the_order(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Cancelling the only order keeps the review but it is no longer a verified
        purchase."""
        [reader] = await add_reviewers(shop, clock, 1)
        book = await add_book(shop, stock=3)
        order = await buy(shop, reader, book)
        review = await shop.reviews.create(reader, book.id, CreateReview(rating=4))
        await shop.orders.set_status(ADMIN, order.id, SetOrderStatus(status=OrderStatus.CANCELLED))
        [listed] = await live_reviews(shop, book)
        assert (listed.id, listed.verified_purchase) == (review.id, False)
        assert not (await shop.reviews.get(review.id)).verified_purchase

    async def test_authors_show_their_display_name_never_their_email(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A name chosen at registration shows; a name set later shows; without one the
        author is ``Reader #<id>``; the email never shows."""
        pair = await shop.identity.register(
            Register(email="ann@example.com", password="correct horse 42", display_name=" Ann ")
        )
        ann = await shop.identity.authenticate(pair.access_token)
        pair = await shop.identity.register(
            Register(email="bob@example.com", password="correct horse 42")
        )
        bob = await shop.identity.authenticate(pair.access_token)
        book = await add_book(shop, stock=5)
        for user in (ann, bob):
            await buy(shop, user, book)
            await shop.reviews.create(user, book.id, CreateReview(rating=4))
        names = {r.user_id: r.author.display_name for r in await live_reviews(shop, book)}
        assert names == {ann.user_id: "Ann", bob.user_id: f"Reader #{bob.user_id}"}
        await shop.identity.set_display_name(bob, ChangeDisplayName(display_name="Bob B."))
        names = {r.user_id: r.author.display_name for r in await live_reviews(shop, book)}
        assert names[bob.user_id] == "Bob B."
        assert (await shop.identity.me(bob)).display_name == "Bob B."

    async def test_a_shop_may_choose_names_from_emails(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """With ``display_name_from_email``, an account registered without a name shows its
        email's local part."""
        settings = ShopSettings(identity=IdentitySettings(display_name_from_email=True))
        async with make_shop(settings=settings) as shop:
            pair = await shop.identity.register(
                Register(email="carol@example.com", password="correct horse 42")
            )
            carol = await shop.identity.authenticate(pair.access_token)
            book = await add_book(shop, stock=5)
            await buy(shop, carol, book)
            review = await shop.reviews.create(carol, book.id, CreateReview(rating=4))
            assert review.author.display_name == "carol"

    # -- ratings --------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("ratings", "shown"),
        [
            ([5, 4, 4, 4], "4.3"),  # 4.25
            ([5] * 7 + [4] * 13, "4.4"),  # 4.35
            ([5] * 249 + [4] * 751, "4.2"),  # 4.249
            ([3], "3.0"),  # one review
            ([], None),  # none
        ],
        ids=["4.25", "4.35", "4.249", "one", "none"],
    )
    async def test_avg_rating_rounds_half_up_to_one_decimal(
        self, shop: Shop, clock: ManualClock, ratings: list[int], shown: str | None
    ) -> None:
        """The book's detail and list item show the live reviews' mean to one decimal,
        half-up (4.25 -> 4.3, 4.35 -> 4.4, 4.249 -> 4.2), and their count."""
        book = await add_book(shop, stock=1)
        await write_reviews(shop, clock, book, ratings)
        expected = (None if shown is None else Decimal(shown), len(ratings))
        assert expected == expected_ratings(ratings)
        assert await _rating_of(shop, book) == expected
        [listed] = (await shop.catalog.list_books()).items
        assert (listed.avg_rating, listed.review_count) == expected

    async def test_books_sort_by_average_rating_without_ratings_last(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """``sort=avg_rating``: best first by default, worst first ascending; books without
        reviews last either way, by id."""
        unrated = await add_book(shop, "Unrated")
        good = await add_book(shop, "Good")
        best = await add_book(shop, "Best")
        poor = await add_book(shop, "Poor")
        also_unrated = await add_book(shop, "Also unrated")
        await write_reviews(shop, clock, good, [5, 4])
        await write_reviews(shop, clock, best, [5])
        await write_reviews(shop, clock, poor, [1, 2])
        last = [unrated.id, also_unrated.id]
        down = await shop.catalog.list_books(ListBooks(sort=BookSort.AVG_RATING))
        assert [b.id for b in down.items] == [best.id, good.id, poor.id, *last]
        ascending = ListBooks(sort=BookSort.AVG_RATING, sort_dir=SortDirection.ASC)
        up = await shop.catalog.list_books(ascending)
        assert [b.id for b in up.items] == [poor.id, good.id, best.id, *last]

    async def test_ratings_count_live_reviews_after_every_kind_of_write(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Create, re-rate, delete, bulk delete: the book's rating equals the plain-Python
        mean and count of its live reviews each time."""
        from bookshop_core.reviews import BulkDeleteReviews

        readers = await add_reviewers(shop, clock, 4)
        book = await add_book(shop, stock=10)
        reviews = []
        for reader, rating in zip(readers, [5, 3, 4, 1], strict=True):
            await buy(shop, reader, book)
            reviews.append(await shop.reviews.create(reader, book.id, CreateReview(rating=rating)))
        assert await _rating_of(shop, book) == expected_ratings([5, 3, 4, 1])
        await shop.reviews.update(readers[1], reviews[1].id, UpdateReview(rating=4))
        assert await _rating_of(shop, book) == expected_ratings([5, 4, 4, 1])
        await shop.reviews.delete(readers[0], reviews[0].id)
        assert await _rating_of(shop, book) == expected_ratings([4, 4, 1])
        deleted = await shop.reviews.delete_many(
            ADMIN, BulkDeleteReviews(review_ids=(reviews[0].id, reviews[3].id, 999_999))
        )
        assert deleted == 1
        assert await _rating_of(shop, book) == expected_ratings([4, 4])
