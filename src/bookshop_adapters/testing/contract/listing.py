"""Contract: listing books filters (AND-combined), sorts, and pages with an exact total.

The ordering rule is the same on every backend: by the sort key in the requested direction,
books missing the key (no publish date, no reviews) last, then by id ascending; titles compare
by their case-folded form, code point by code point.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import ADMIN, add_book, add_genre
from bookshop_core.catalog.commands import ListBooks, UpdateGenre
from bookshop_core.catalog.entities import Book, BookSort, SortDirection
from bookshop_core.kernel.clock import ManualClock

__all__ = ["ListingContract"]


async def titles(shop: Shop, query: ListBooks | None = None) -> list[str]:
    """The titles of the first page of ``query``'s results, in order."""
    return [book.title for book in (await shop.catalog.list_books(query)).items]


async def ids(shop: Shop, query: ListBooks) -> list[int]:
    """The ids of the first page of ``query``'s results, in order."""
    return [book.id for book in (await shop.catalog.list_books(query)).items]


@pytest.mark.asyncio
class ListingContract:
    """Listing books: each filter alone and combined, each sort both ways, pagination."""

    async def test_empty_store_lists_nothing(self, shop: Shop) -> None:
        """A new store has no books and a total of 0."""
        page = await shop.catalog.list_books()
        assert (page.items, page.total, page.page, page.size) == ((), 0, 1, 20)

    async def test_default_listing_is_by_title_ascending(self, shop: Shop) -> None:
        """Without arguments, books list by title A to Z, first page of 20."""
        for title in ("Emma", "Dune", "Ulysses", "Beloved"):
            await add_book(shop, title)
        assert await titles(shop) == ["Beloved", "Dune", "Emma", "Ulysses"]

    async def test_listed_books_are_complete(self, shop: Shop) -> None:
        """A listed book equals the same book read on its own."""
        genre = await add_genre(shop, "Fiction")
        book = await add_book(
            shop, isbn="0-306-40615-2", genre=genre, publish_date=date(2001, 2, 3), stock=4
        )
        assert (await shop.catalog.list_books()).items == (await shop.catalog.get_book(book.id),)

    # -- filters --------------------------------------------------------------------------

    async def test_genre_filter_includes_sub_genres_at_every_depth(self, shop: Shop) -> None:
        """Filtering by a genre lists its books and those of its sub-genres, recursively."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy", parent=fiction)
        epic = await add_genre(shop, "Epic", parent=fantasy)
        science = await add_genre(shop, "Science")
        await add_book(shop, "A Fiction", genre=fiction)
        await add_book(shop, "B Fantasy", genre=fantasy)
        await add_book(shop, "C Epic", genre=epic)
        await add_book(shop, "D Science", genre=science)
        await add_book(shop, "E No genre")
        assert await titles(shop, ListBooks(genre_id=fiction.id)) == [
            "A Fiction",
            "B Fantasy",
            "C Epic",
        ]
        assert await titles(shop, ListBooks(genre_id=fantasy.id)) == ["B Fantasy", "C Epic"]
        assert await titles(shop, ListBooks(genre_id=epic.id)) == ["C Epic"]
        assert await titles(shop, ListBooks(genre_id=science.id)) == ["D Science"]

    async def test_genre_filter_follows_a_moved_genre(self, shop: Shop) -> None:
        """After a genre moves under another, the new ancestor's listing includes its books."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy")
        await add_book(shop, "The Hobbit", genre=fantasy)
        assert await titles(shop, ListBooks(genre_id=fiction.id)) == []
        await shop.catalog.update_genre(ADMIN, fantasy.id, UpdateGenre(parent_id=fiction.id))
        assert await titles(shop, ListBooks(genre_id=fiction.id)) == ["The Hobbit"]

    async def test_filter_by_unknown_genre_lists_nothing(self, shop: Shop) -> None:
        """A genre id that names no genre matches no book."""
        await add_book(shop)
        page = await shop.catalog.list_books(ListBooks(genre_id=424242))
        assert (page.items, page.total) == ((), 0)

    async def test_author_filter_is_a_case_insensitive_substring(self, shop: Shop) -> None:
        """``author`` matches any part of the author's name, ignoring case."""
        await add_book(shop, "A", author="Ursula K. Le Guin")
        await add_book(shop, "B", author="LE CARRÉ")
        await add_book(shop, "C", author="Tolkien")
        assert await titles(shop, ListBooks(author="le")) == ["A", "B"]
        assert await titles(shop, ListBooks(author="K. LE GUIN")) == ["A"]
        assert await titles(shop, ListBooks(author="tolkien")) == ["C"]
        assert await titles(shop, ListBooks(author="Pratchett")) == []

    async def test_author_filter_is_case_insensitive_beyond_ascii(self, shop: Shop) -> None:
        """Case-insensitivity covers non-ASCII letters too."""
        await add_book(shop, "A", author="Émile Zola")
        await add_book(shop, "B", author="Ivan Bunin")
        assert await titles(shop, ListBooks(author="éMILE")) == ["A"]
        assert await titles(shop, ListBooks(author="ÉMILE")) == ["A"]

    @pytest.mark.parametrize(
        ("needle", "expected"),
        [("%", ["percent"]), ("_", ["underscore"]), ("\\", ["backslash"]), ("a_b", ["underscore"])],
    )
    async def test_author_filter_treats_wildcards_literally(
        self, shop: Shop, needle: str, expected: list[str]
    ) -> None:
        """``%``, ``_`` and ``\\`` in the author filter match only themselves."""
        await add_book(shop, "percent", author="100% Real")
        await add_book(shop, "underscore", author="a_b")
        await add_book(shop, "backslash", author="back\\slash")
        await add_book(shop, "plain", author="axb, Paul")
        assert await titles(shop, ListBooks(author=needle)) == expected

    async def test_price_range_is_inclusive(self, shop: Shop) -> None:
        """``min_price`` and ``max_price`` include books priced exactly at the bounds."""
        for price in ("4.99", "5.00", "10.00", "15.00", "15.01"):
            await add_book(shop, f"at {price}", price=price)
        query = ListBooks(min_price=Decimal("5.00"), max_price=Decimal("15.00"))
        assert await titles(shop, query) == ["at 10.00", "at 15.00", "at 5.00"]

    async def test_min_price_alone(self, shop: Shop) -> None:
        """``min_price`` alone drops only the cheaper books."""
        for price in ("1.00", "2.00", "3.00"):
            await add_book(shop, f"at {price}", price=price)
        assert await titles(shop, ListBooks(min_price=Decimal("2"))) == ["at 2.00", "at 3.00"]

    async def test_max_price_alone(self, shop: Shop) -> None:
        """``max_price`` alone drops only the dearer books."""
        for price in ("1.00", "2.00", "3.00"):
            await add_book(shop, f"at {price}", price=price)
        assert await titles(shop, ListBooks(max_price=Decimal("2"))) == ["at 1.00", "at 2.00"]

    async def test_equal_min_and_max_price_lists_that_exact_price(self, shop: Shop) -> None:
        """A range of one price lists exactly the books at that price."""
        await add_book(shop, "cheap", price="1.99")
        await add_book(shop, "exact", price="2.00")
        await add_book(shop, "dear", price="2.01")
        query = ListBooks(min_price=Decimal("2.00"), max_price=Decimal("2.00"))
        assert await titles(shop, query) == ["exact"]

    async def test_in_stock_filter_lists_only_books_with_stock(self, shop: Shop) -> None:
        """``in_stock=True`` drops books whose stock is 0; ``False`` keeps every book."""
        await add_book(shop, "none")
        await add_book(shop, "one", stock=1)
        await add_book(shop, "many", stock=50)
        assert await titles(shop, ListBooks(in_stock=True)) == ["many", "one"]
        assert await titles(shop, ListBooks(in_stock=False)) == ["many", "none", "one"]

    async def test_filters_combine_with_and(self, shop: Shop) -> None:
        """All given filters must hold at once; each one alone would admit more books."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy", parent=fiction)
        other = await add_genre(shop, "Other")
        pratchett = "Terry Pratchett"
        await add_book(shop, "match", genre=fantasy, author=pratchett, price="10.00", stock=3)
        await add_book(shop, "other genre", genre=other, author=pratchett, price="10", stock=3)
        await add_book(shop, "no genre", author=pratchett, price="10.00", stock=3)
        await add_book(shop, "other author", genre=fantasy, author="Tolkien", price="10", stock=3)
        await add_book(shop, "too dear", genre=fantasy, author=pratchett, price="30.00", stock=3)
        await add_book(shop, "too cheap", genre=fantasy, author=pratchett, price="1.00", stock=3)
        await add_book(shop, "sold out", genre=fantasy, author=pratchett, price="10.00")
        query = ListBooks(
            genre_id=fiction.id,
            author="pratchett",
            min_price=Decimal("5"),
            max_price=Decimal("20"),
            in_stock=True,
        )
        page = await shop.catalog.list_books(query)
        assert [book.title for book in page.items] == ["match"]
        assert page.total == 1

    # -- sorting --------------------------------------------------------------------------

    async def test_title_sort_compares_case_folded_code_points(self, shop: Shop) -> None:
        """Titles order by case-folded text, code point by code point (not by locale)."""
        for title in ("Zorro", "éclair", "apple", "Édith", "Banana", "a tale", "_under", "10 x"):
            await add_book(shop, title)
        expected = ["10 x", "_under", "a tale", "apple", "Banana", "Zorro", "éclair", "Édith"]
        assert await titles(shop, ListBooks(sort=BookSort.TITLE)) == expected
        descending = ListBooks(sort=BookSort.TITLE, sort_dir=SortDirection.DESC)
        assert await titles(shop, descending) == expected[::-1]

    async def test_titles_equal_but_for_case_tie_and_order_by_id(self, shop: Shop) -> None:
        """Titles that differ only in case are a tie, broken by id ascending both ways."""
        first = await add_book(shop, "dune")
        second = await add_book(shop, "DUNE")
        third = await add_book(shop, "Dune")
        expected = [first.id, second.id, third.id]
        assert await ids(shop, ListBooks(sort=BookSort.TITLE)) == expected
        desc = ListBooks(sort=BookSort.TITLE, sort_dir=SortDirection.DESC)
        assert await ids(shop, desc) == expected

    async def test_price_sort_defaults_to_ascending(self, shop: Shop) -> None:
        """Sorting by price lists the cheapest first unless told otherwise."""
        for title, price in (("mid", "10.00"), ("low", "9.99"), ("high", "100.00")):
            await add_book(shop, title, price=price)
        assert await titles(shop, ListBooks(sort=BookSort.PRICE)) == ["low", "mid", "high"]

    async def test_price_sort_descending(self, shop: Shop) -> None:
        """``sort_dir=desc`` lists the dearest first (numerically, not as text)."""
        for title, price in (("mid", "10.00"), ("low", "9.99"), ("high", "100.00")):
            await add_book(shop, title, price=price)
        query = ListBooks(sort=BookSort.PRICE, sort_dir=SortDirection.DESC)
        assert await titles(shop, query) == ["high", "mid", "low"]

    async def test_ties_are_broken_by_id_ascending_in_both_directions(self, shop: Shop) -> None:
        """Books with the same sort key keep id order, ascending or descending."""
        a = await add_book(shop, "a", price="5.00")
        b = await add_book(shop, "b", price="7.00")
        c = await add_book(shop, "c", price="5.00")
        d = await add_book(shop, "d", price="7.00")
        asc = ListBooks(sort=BookSort.PRICE, sort_dir=SortDirection.ASC)
        desc = ListBooks(sort=BookSort.PRICE, sort_dir=SortDirection.DESC)
        assert await ids(shop, asc) == [a.id, c.id, b.id, d.id]
        assert await ids(shop, desc) == [b.id, d.id, a.id, c.id]

    async def test_date_sort_defaults_to_oldest_first_with_undated_books_last(
        self, shop: Shop
    ) -> None:
        """Sorting by publish date lists oldest first; books without a date come last."""
        undated_first = await add_book(shop, "undated 1")
        await add_book(shop, "2001", publish_date=date(2001, 1, 1))
        await add_book(shop, "1999", publish_date=date(1999, 12, 31))
        undated_second = await add_book(shop, "undated 2")
        await add_book(shop, "2020", publish_date=date(2020, 6, 1))
        page = await shop.catalog.list_books(ListBooks(sort=BookSort.DATE))
        assert [book.title for book in page.items][:3] == ["1999", "2001", "2020"]
        assert [book.id for book in page.items][3:] == [undated_first.id, undated_second.id]

    async def test_date_sort_descending_still_puts_undated_books_last(self, shop: Shop) -> None:
        """Newest publish date first, and books without a date are still last (by id)."""
        undated_first = await add_book(shop, "undated 1")
        await add_book(shop, "2001", publish_date=date(2001, 1, 1))
        await add_book(shop, "1999", publish_date=date(1999, 12, 31))
        undated_second = await add_book(shop, "undated 2")
        await add_book(shop, "2020", publish_date=date(2020, 6, 1))
        query = ListBooks(sort=BookSort.DATE, sort_dir=SortDirection.DESC)
        page = await shop.catalog.list_books(query)
        assert [book.title for book in page.items][:3] == ["2020", "2001", "1999"]
        assert [book.id for book in page.items][3:] == [undated_first.id, undated_second.id]

    async def test_created_at_sort_defaults_to_newest_first(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Sorting by ``created_at`` without a direction lists the newest book first."""
        for title in ("first", "second", "third"):
            await add_book(shop, title)
            clock.advance(minutes=1)
        assert await titles(shop, ListBooks(sort=BookSort.CREATED_AT)) == [
            "third",
            "second",
            "first",
        ]

    async def test_created_at_sort_ascending(self, shop: Shop, clock: ManualClock) -> None:
        """``sort_dir=asc`` lists the oldest book first."""
        for title in ("first", "second", "third"):
            await add_book(shop, title)
            clock.advance(seconds=1)
        query = ListBooks(sort=BookSort.CREATED_AT, sort_dir=SortDirection.ASC)
        assert await titles(shop, query) == ["first", "second", "third"]

    async def test_created_at_keeps_sub_second_order(self, shop: Shop, clock: ManualClock) -> None:
        """Creation instants a millisecond apart still sort apart."""
        for title in ("first", "second", "third"):
            await add_book(shop, title)
            clock.advance(milliseconds=1)
        assert await titles(shop, ListBooks(sort=BookSort.CREATED_AT)) == [
            "third",
            "second",
            "first",
        ]

    async def test_avg_rating_sort_without_reviews_lists_by_id_both_ways(self, shop: Shop) -> None:
        """Books without reviews have no rating: they come last, by id, in either direction."""
        made = [await add_book(shop, title) for title in ("b", "a", "c")]
        expected = [book.id for book in made]
        assert await ids(shop, ListBooks(sort=BookSort.AVG_RATING)) == expected
        ascending = ListBooks(sort=BookSort.AVG_RATING, sort_dir=SortDirection.ASC)
        assert await ids(shop, ascending) == expected

    @pytest.mark.parametrize(
        ("sort", "direction"),
        [
            (BookSort.TITLE, SortDirection.ASC),
            (BookSort.PRICE, SortDirection.ASC),
            (BookSort.DATE, SortDirection.ASC),
            (BookSort.CREATED_AT, SortDirection.DESC),
            (BookSort.AVG_RATING, SortDirection.DESC),
        ],
    )
    async def test_each_sort_has_its_documented_default_direction(
        self, shop: Shop, clock: ManualClock, sort: BookSort, direction: SortDirection
    ) -> None:
        """Leaving ``sort_dir`` out equals giving the sort's default direction explicitly."""
        for n, (price, year) in enumerate([("3.00", 2003), ("1.00", 2001), ("2.00", 2002)]):
            await add_book(shop, f"book {n}", price=price, publish_date=date(year, 1, 1))
            clock.advance(minutes=1)
        implicit = await ids(shop, ListBooks(sort=sort))
        assert implicit == await ids(shop, ListBooks(sort=sort, sort_dir=direction))
        if sort is not BookSort.AVG_RATING:  # without reviews every rating is missing
            opposite = SortDirection.ASC if direction is SortDirection.DESC else SortDirection.DESC
            assert implicit == (await ids(shop, ListBooks(sort=sort, sort_dir=opposite)))[::-1]

    # -- pagination -----------------------------------------------------------------------

    async def test_pages_slice_the_ordered_results_with_the_exact_total(self, shop: Shop) -> None:
        """Consecutive pages partition the full ordered listing; each reports the same total."""
        made = [await add_book(shop, f"book {n:02}") for n in range(7)]
        seen: list[Book] = []
        for number, expected_len in ((1, 3), (2, 3), (3, 1)):
            page = await shop.catalog.list_books(ListBooks(page=number, size=3))
            assert (len(page.items), page.total, page.page, page.size) == (
                expected_len,
                7,
                number,
                3,
            )
            seen.extend(page.items)
        assert [book.id for book in seen] == [book.id for book in made]

    async def test_page_past_the_end_is_empty_with_the_exact_total(self, shop: Shop) -> None:
        """Asking beyond the last page gives no items but still the total."""
        for n in range(3):
            await add_book(shop, f"book {n}")
        page = await shop.catalog.list_books(ListBooks(page=5, size=2))
        assert (page.items, page.total) == ((), 3)

    async def test_total_counts_every_match_not_the_page(self, shop: Shop) -> None:
        """The total of a filtered listing counts all matching books, not those on the page."""
        for n in range(5):
            await add_book(shop, f"in {n}", stock=1)
        await add_book(shop, "out")
        page = await shop.catalog.list_books(ListBooks(in_stock=True, size=2))
        assert (len(page.items), page.total, page.total_pages) == (2, 5, 3)

    async def test_largest_page_size_lists_a_hundred(self, shop: Shop) -> None:
        """A page may hold up to 100 books."""
        for n in range(101):
            await add_book(shop, f"book {n:03}")
        page = await shop.catalog.list_books(ListBooks(size=100))
        assert (len(page.items), page.total) == (100, 101)
        assert page.items[-1].title == "book 099"
