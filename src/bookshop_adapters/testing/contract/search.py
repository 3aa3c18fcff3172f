"""Contract: searching the catalog finds exactly the books the query and filters describe, in
the prescribed order, with the exact total, on every backend; the index follows every catalog
change in the change's own transaction.

Every answer is also compared with the plain-Python reference
(:mod:`bookshop_adapters.testing.search_reference`): a backend whose ids, order and totals equal
the reference's for every query equals every other such backend.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import ADMIN, add_book, add_genre
from bookshop_adapters.testing.contract.properties import _dialect_of, property_settings
from bookshop_adapters.testing.pytest_plugin import ShopFactory
from bookshop_adapters.testing.search_reference import (
    read_catalogue,
    reference_facets,
    reference_search,
)
from bookshop_core.catalog.commands import ListBooks, SetStock, UpdateBook
from bookshop_core.catalog.entities import BooksChanged, BookSort, SortDirection
from bookshop_core.errors import ValidationError
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.pagination import MAX_PAGE_SIZE
from bookshop_core.search.commands import SearchBooks
from bookshop_core.search.entities import SearchResult, SearchSort
from bookshop_core.search.query import parse

__all__ = ["SearchContract", "SearchProperties", "search_ids"]

#: Strings a shopper may type that mean something to some backend's own query language.
HOSTILE_QUERIES = (
    '"',
    '"unclosed phrase',
    'dune"',
    "-",
    "--",
    '-"',
    "dune AND emma",
    "dune OR emma",
    "NOT dune",
    "dune NEAR emma",
    "du*",
    "title:dune",
    "dune & emma | !x",
    "(dune) )(",
    "'; DROP TABLE books; --",
    "' OR 1=1 --",
    "\\",
    "\\'",
    "dune\x00emma",
    "\x00",
    "🙂",
    "dune 🙂",
    "{title}: dune",
    "^dune",
    "dune:*",
    "'dune':A",
    "dune <-> emma",
    "d" * 500,
    "dune " * 100,
    "ÄÖÜ ß ﬁ",
    "東京",
)


async def search_ids(shop: Shop, q: str = "", **options: Any) -> list[int]:
    """The ids of the first page of a search, in order."""
    found = await shop.search.search(SearchBooks(q=q, **options))
    return [hit.book.id for hit in found.page.items]


async def _check_with_reference(shop: Shop, command: SearchBooks) -> SearchResult | None:
    """Run ``command``; assert that its page, scores, total and facets are the reference's.
    ``None`` when the query is refused (as the reference's parser refuses it too)."""
    try:
        query = parse(command.q, shop.search.analyzer)
    except ValidationError:
        with pytest.raises(ValidationError) as refused:
            await shop.search.search(command)
        assert refused.value.field == "q"
        return None
    result = await shop.search.search(command)
    catalogue = await read_catalogue(shop)
    expected = reference_search(
        shop.search.analyzer, catalogue, query, command.filters, command.order
    )
    start = (command.page - 1) * command.size
    got = [(hit.book.id, hit.score) for hit in result.page.items]
    assert got == expected[start : start + command.size], command
    assert result.page.total == len(expected), command
    if command.facets:
        assert result.facets == reference_facets(
            shop.search.analyzer, catalogue, query, command.filters
        )
    return result


@pytest.mark.asyncio
class SearchContract:
    """Matching, ranking, filters, sorts, pagination, hostile input and index upkeep."""

    # -- matching -------------------------------------------------------------------------

    async def test_every_word_must_occur_in_some_field(self, shop: Shop) -> None:
        """Words AND-combine, each found in the title, the author or the description."""
        both = await add_book(shop, "Dune", author="Frank Herbert", description="Desert planet")
        await add_book(shop, "Dune Messiah", author="Someone Else")
        assert await search_ids(shop, "dune herbert ") == [both.id]
        assert await search_ids(shop, "herbert desert ") == [both.id]

    async def test_matching_ignores_case_and_accents(self, shop: Shop) -> None:
        """``garcia MARQUEZ`` finds "García Márquez", and the accented query finds it too."""
        book = await add_book(shop, "Cien años de soledad", author="Gabriel García Márquez")
        assert await search_ids(shop, "garcia MARQUEZ") == [book.id]
        assert await search_ids(shop, "GARCÍA Márquez") == [book.id]
        assert await search_ids(shop, "anos") == [book.id]

    async def test_words_are_stemmed(self, shop: Shop) -> None:
        """ "running" finds "run" and "runs", and the other way around."""
        runs = await add_book(shop, "He runs")
        running = await add_book(shop, "Running Man")
        assert await search_ids(shop, "run ") == [runs.id, running.id]
        assert await search_ids(shop, "running ") == [runs.id, running.id]

    async def test_a_phrase_needs_its_words_adjacent_and_in_order(self, shop: Shop) -> None:
        """``"game show"`` finds "a game show", not "show a game" nor "game of the show"."""
        hit = await add_book(shop, "A game show")
        await add_book(shop, "Show a game")
        await add_book(shop, "Game of the show")
        assert await search_ids(shop, '"game show"') == [hit.id]
        assert await search_ids(shop, '"show game"') == []

    async def test_a_phrase_never_spans_two_fields(self, shop: Shop) -> None:
        """The title's last word and the author's first are not adjacent."""
        await add_book(shop, "Ocean", author="Blue Whale")
        assert await search_ids(shop, '"ocean blue"') == []

    async def test_an_unclosed_quote_runs_to_the_end(self, shop: Shop) -> None:
        """``"lord of the`` is the phrase "lord of the"."""
        hit = await add_book(shop, "The Lord of the Rings")
        await add_book(shop, "Lord Jim of the sea")
        assert await search_ids(shop, '"lord of the') == [hit.id]

    async def test_excluded_words_and_phrases_remove_books(self, shop: Shop) -> None:
        """``-word`` and ``-"a phrase"`` leave out the books containing them, in any field."""
        keep = await add_book(shop, "Dune", description="sand")
        await add_book(shop, "Dune Messiah", description="sand worms")
        await add_book(shop, "Dune Children", author="sand worm rider")
        assert await search_ids(shop, "dune -worm") == [keep.id]
        assert sorted(await search_ids(shop, 'dune -"sand worm" -messiah')) == [keep.id]

    async def test_only_exclusions_is_refused(self, shop: Shop) -> None:
        """A query that says only what to leave out is a VALIDATION_ERROR on ``q``."""
        with pytest.raises(ValidationError) as refused:
            await shop.search.search(SearchBooks(q="-dune"))
        assert refused.value.field == "q"

    async def test_the_last_word_is_a_prefix_while_typing(self, shop: Shop) -> None:
        """``tolk`` finds "Tolkien"; with a space after it the word is complete."""
        book = await add_book(shop, "The Hobbit", author="J. R. R. Tolkien")
        assert await search_ids(shop, "hobbit tolk") == [book.id]
        assert await search_ids(shop, "tolk hobbit") == []
        assert await search_ids(shop, "hobbit tolk ") == []

    async def test_a_lone_prefix_scores_each_book_by_every_word_it_finds(self, shop: Shop) -> None:
        """``happi`` finds the words starting with it ("happiest") and those stemmed to its
        stem ("happy", which does not start with it), each book scored by every field holding
        one of them; so does a prefix longer than 21 characters."""
        both = await add_book(shop, "Happy days", description="the happiest")
        stem_only = await add_book(shop, "Happy")
        words_only = await add_book(shop, "Days", author="Happiest Happiness")
        found = await shop.search.search(SearchBooks(q="happi"))
        assert [(h.book.id, h.score) for h in found.page.items] == [
            (both.id, 5),
            (stem_only.id, 4),
            (words_only.id, 2),
        ]
        long_word = "counterrevolutionaries"
        await add_book(shop, f"{long_word} {long_word}x", description=f"{long_word}y")
        for q in ("happi", "happ", "h", "d", long_word[:21], long_word, f"{long_word}x"):
            await _check_with_reference(shop, SearchBooks(q=q))

    # -- ranking --------------------------------------------------------------------------

    async def test_title_beats_author_beats_description_then_id(self, shop: Shop) -> None:
        """Score 4 for the title, 2 for the author, 1 for the description; ties by id."""
        in_description = await add_book(shop, "One", description="dragon")
        in_author = await add_book(shop, "Two", author="Dragon Lady")
        in_title = await add_book(shop, "Dragon")
        in_title_too = await add_book(shop, "Dragon Again")
        everywhere = await add_book(shop, "Dragons", author="Dragon", description="dragon")
        found = await shop.search.search(SearchBooks(q="dragon "))
        assert [(h.book.id, h.score) for h in found.page.items] == [
            (everywhere.id, 7),
            (in_title.id, 4),
            (in_title_too.id, 4),
            (in_author.id, 2),
            (in_description.id, 1),
        ]

    # -- filters, sorts, pages ------------------------------------------------------------

    async def test_filters_and_combine_with_the_query(self, shop: Shop) -> None:
        """Genre (with sub-genres), author, price range and stock all narrow the results."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy", parent=fiction)
        a = await add_book(shop, "Magic A", genre=fantasy, price="5", stock=1, author="Ann")
        b = await add_book(shop, "Magic B", genre=fiction, price="25", author="Bob")
        await add_book(shop, "Magic C", price="15", stock=2, author="Ann")
        assert await search_ids(shop, "magic ", genre_id=fiction.id) == [a.id, b.id]
        assert await search_ids(shop, "magic ", genre_id=fantasy.id) == [a.id]
        assert len(await search_ids(shop, "magic ", author="ann")) == 2
        assert await search_ids(shop, "magic ", min_price=Decimal("20")) == [b.id]
        assert len(await search_ids(shop, "magic ", in_stock=True)) == 2
        for command in (
            SearchBooks(q="magic", genre_id=fiction.id, in_stock=True),
            SearchBooks(q="", author="%", max_price=Decimal("20")),
            SearchBooks(q="", genre_id=fantasy.id, facets=True),
        ):
            await _check_with_reference(shop, command)

    async def test_an_empty_query_lists_the_filtered_books_by_title(self, shop: Shop) -> None:
        """Without words, the filters alone decide, ordered by title."""
        await add_book(shop, "b", price="3")
        first = await add_book(shop, "A", price="4")
        assert await search_ids(shop, "", min_price=Decimal("4")) == [first.id]
        assert len(await search_ids(shop, "  ")) == 2

    async def _sortable_books(self, shop: Shop, clock: ManualClock) -> None:
        """Books that tie and differ on every sort key: equal and different prices, titles
        differing in case only, publish dates missing and equal, creation instants equal."""
        rows = (
            ("Sea b", "3", date(2001, 5, 1)),
            ("sea A", "3", None),
            ("Sea c", "1", date(1999, 1, 1)),
            ("Ocean sea", "9", date(2001, 5, 1)),
            ("SEA B", "1", None),
        )
        for index, (title, price, published) in enumerate(rows):
            if index != 2:  # the third book is created at the same instant as the second
                clock.advance(timedelta(seconds=1))
            await add_book(shop, title, price=price, publish_date=published)
        await add_book(shop, "Not found", price="2")

    async def test_every_sort_orders_as_the_reference(self, shop: Shop, clock: ManualClock) -> None:
        """Relevance and every listing sort, both ways, end with the id ascending."""
        await self._sortable_books(shop, clock)
        for sort in SearchSort:
            for direction in (*SortDirection, None):
                command = SearchBooks(q="sea", sort=sort, sort_dir=direction)
                await _check_with_reference(shop, command)

    @pytest.mark.parametrize("sort", list(BookSort), ids=[sort.value for sort in BookSort])
    async def test_a_listing_sort_orders_results_as_the_listing(
        self, shop: Shop, clock: ManualClock, sort: BookSort
    ) -> None:
        """``title``, ``price``, ``date`` (publish date), ``created_at`` and ``avg_rating``
        order a search exactly as the catalog listing (same default direction, missing values
        last either way, then id)."""
        await self._sortable_books(shop, clock)
        for direction in (*SortDirection, None):
            listed = await shop.catalog.list_books(ListBooks(sort=sort, sort_dir=direction))
            wanted = [book.id for book in listed.items if "sea" in book.title.casefold()]
            found = await search_ids(shop, "sea", sort=sort.value, sort_dir=direction)
            assert found == wanted, (sort, direction)

    async def test_newest_is_the_created_at_order(self, shop: Shop, clock: ManualClock) -> None:
        """``newest`` sorts by the time a book was added, newest first by default."""
        await self._sortable_books(shop, clock)
        newest = await search_ids(shop, "sea", sort="newest")
        assert newest == await search_ids(shop, "sea", sort=SearchSort.CREATED_AT)
        assert newest == await search_ids(
            shop, "sea", sort=SearchSort.NEWEST, sort_dir=SortDirection.DESC
        )
        assert newest[0] == max(newest)

    async def test_pages_have_exact_totals(self, shop: Shop) -> None:
        """Every page of a query reports the same exact total; past the end is empty."""
        for number in range(7):
            await add_book(shop, f"Common {number}", description="common" if number % 2 else None)
        for page in (1, 2, 3, 4):
            result = await _check_with_reference(shop, SearchBooks(q="common", page=page, size=2))
            assert result is not None
            assert result.page.total == 7

    # -- hostile input ----------------------------------------------------------------------

    @pytest.mark.parametrize("q", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
    async def test_anything_typed_gets_results_or_a_validation_error(
        self, shop: Shop, q: str
    ) -> None:
        """Backends' operators, SQL, quotes, NUL, emoji: results as the reference, or
        VALIDATION_ERROR on ``q``; never another error."""
        await add_book(shop, "Dune", author="O'Brien", description="dune and emma: near")
        await add_book(shop, "Emma", description="not a dune")
        await _check_with_reference(shop, SearchBooks(q=q, facets=True))

    async def test_a_query_too_long_is_refused(self) -> None:
        """More than 500 characters is a VALIDATION_ERROR on ``q`` (10,000 included)."""
        with pytest.raises(ValidationError) as refused:
            SearchBooks(q="dune " * 2000)
        assert refused.value.field == "q"

    # -- upkeep -----------------------------------------------------------------------------

    async def test_the_index_follows_updates_and_deletes(self, shop: Shop) -> None:
        """A changed title is found by its new words only; a deleted book is found no more."""
        book = await add_book(shop, "Old Words")
        await shop.catalog.update_book(ADMIN, book.id, UpdateBook(title="New Title"))
        assert await search_ids(shop, "old ") == []
        assert await search_ids(shop, "title ") == [book.id]
        await shop.catalog.update_book(ADMIN, book.id, UpdateBook(description="secret"))
        assert await search_ids(shop, "secret") == [book.id]
        await shop.catalog.delete_book(ADMIN, book.id)
        assert await search_ids(shop, "title") == []

    async def test_imported_books_are_found(self, shop: Shop) -> None:
        """Books added by a CSV import are searchable at once."""
        rows = [
            {"title": "Imported One", "author": "A", "price": "1"},
            {"title": "Imported Two", "author": "B", "price": "2"},
        ]
        report = await shop.catalog.import_books(ADMIN, rows)
        assert report.imported == 2
        assert len(await search_ids(shop, "imported")) == 2

    async def test_a_rolled_back_change_leaves_the_index_as_it_was(self, shop: Shop) -> None:
        """When a later step of the transaction fails, the index change rolls back too."""
        book = await add_book(shop, "Kept Title")

        async def refuse(event: BooksChanged, uow: object) -> None:
            raise RuntimeError("refused after indexing")

        shop.events.subscribe_in_transaction(BooksChanged, refuse)
        with pytest.raises(RuntimeError):
            await shop.catalog.update_book(ADMIN, book.id, UpdateBook(title="Lost Title"))
        with pytest.raises(RuntimeError):
            await add_book(shop, "Never Stored")
        assert await search_ids(shop, "kept") == [book.id]
        assert await search_ids(shop, "lost") == []
        assert await search_ids(shop, "never") == []

    async def test_reindex_rebuilds_the_same_index(self, shop: Shop) -> None:
        """A rebuild indexes every book and answers as before."""
        for title in ("Alpha", "Beta", "Alpha Beta"):
            await add_book(shop, title)
        before = await search_ids(shop, "alpha")
        assert await shop.search.reindex(ADMIN) == 3
        assert await search_ids(shop, "alpha") == before

    async def test_reindex_in_batches_after_changes_outside_the_text_answers_as_before(
        self, shop: Shop
    ) -> None:
        """After price, genre, stock changes and a deletion (nothing the analyzer reads), a
        rebuild in batches smaller than the catalog gives identical results: ids, order,
        scores, totals and facets."""
        fiction = await add_genre(shop, "Fiction")
        poetry = await add_genre(shop, "Poetry")
        texts = [
            ("Dark star", "Ann Star", "a star falls"),
            ("Star light", "Bo Lee", None),
            ("Dark matter", "Cy Dark", "no stars here"),
            ("Starling", "Di Fox", "a bird, not a star"),
            ("Evening", "Ed Star", "dark star rising"),
            ("Gone", "Fay Star", "star"),
            ("Bright", "Gus Moon", "star dark"),
        ]
        books = [
            await add_book(shop, title, author=author, description=description, genre=fiction)
            for title, author, description in texts
        ]
        await shop.catalog.update_book(ADMIN, books[1].id, UpdateBook(price=Decimal("55")))
        await shop.catalog.update_book(ADMIN, books[3].id, UpdateBook(genre_id=poetry.id))
        await shop.catalog.set_stock(ADMIN, books[4].id, SetStock(quantity=2))
        await shop.catalog.delete_book(ADMIN, books[5].id)
        commands = [
            SearchBooks(q="star", facets=True),
            SearchBooks(q="star", page=2, size=2),
            SearchBooks(q='"dark star"'),
            SearchBooks(q="dark sta"),
            SearchBooks(q="star -dark", genre_id=fiction.id),
            SearchBooks(sort=SearchSort.PRICE, facets=True),
        ]
        before = [await shop.search.search(command) for command in commands]
        assert await shop.search.reindex(ADMIN, batch=2) == 6
        assert [await shop.search.search(command) for command in commands] == before

    # -- extras -----------------------------------------------------------------------------

    async def test_facets_count_every_result(self, shop: Shop) -> None:
        """Per top-level genre (sub-genres included), in stock, and per price bucket."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy", parent=fiction)
        poetry = await add_genre(shop, "Poetry")
        await add_book(shop, "Star 1", genre=fantasy, price="5", stock=1)
        await add_book(shop, "Star 2", genre=fiction, price="12")
        await add_book(shop, "Star 3", genre=poetry, price="60", stock=3)
        await add_book(shop, "Star 4", price="20")
        result = await _check_with_reference(shop, SearchBooks(q="star", facets=True, size=1))
        assert result is not None
        assert result.facets is not None
        assert [(g.name, g.count) for g in result.facets.genres] == [
            ("Fiction", 2),
            ("Poetry", 1),
        ]
        assert result.facets.in_stock == 2
        assert [b.count for b in result.facets.prices] == [1, 1, 1, 1]

    async def test_genres_with_equal_counts_are_ordered_by_case_folded_name(
        self, shop: Shop
    ) -> None:
        """Ties in the genre facet follow the genre list's order ("apple" before "Banana")."""
        banana = await add_genre(shop, "Banana")
        apple = await add_genre(shop, "apple")
        await add_book(shop, "Fruit one", genre=banana)
        await add_book(shop, "Fruit two", genre=apple)
        result = await _check_with_reference(shop, SearchBooks(q="fruit", facets=True))
        assert result is not None
        assert result.facets is not None
        assert [g.name for g in result.facets.genres] == ["apple", "Banana"]

    async def test_a_query_finding_nothing_suggests_close_words(self, shop: Shop) -> None:
        """ "Did you mean": each word finding nothing becomes the closest indexed word."""
        await add_book(shop, "Pride and Prejudice", author="Jane Austen")
        result = await shop.search.search(SearchBooks(q="prejudise austen -zombies"))
        assert result.page.total == 0
        assert result.suggestion == "prejudice austen -zombies"
        found = await shop.search.search(SearchBooks(q="xqzv"))
        assert found.suggestion is None

    async def test_highlights_mark_the_matched_words(self, shop: Shop) -> None:
        """Each matching field comes back escaped, its matched words in ``<mark>``."""
        await add_book(shop, "Running <Fast>", author="Ann", description="He ran; running on.")
        result = await shop.search.search(SearchBooks(q="running", highlight=True))
        (hit,) = result.page.items
        assert [(h.field, h.fragment) for h in hit.highlights] == [
            ("title", "<mark>Running</mark> &lt;Fast&gt;"),
            ("description", "He ran; <mark>running</mark> on."),
        ]


# -- the equality property ----------------------------------------------------------------

#: Random catalogs per backend (a fresh store each).
EXAMPLES = {"memory": 150}
SQL_EXAMPLES = 15

_WORDS = (
    "run", "running", "Runs", "runner", "García", "garcia", "Márquez", "marquez", "the",
    "King", "kingdom", "kings", "dune", "Dunes", "emma", "sand", "worm", "AND", "or", "NOT",
    "near", "naïve", "naive", "東京", "x1", "42", "o'brien", "e-mail", "ﬁsh",
)  # fmt: skip
_NOISE = (
    " ", " ", " ", "-", '"', "*", ":", "&", "|", "!", "(", ")", "'", ";", "\\", "\x00", "🙂",
    "--", " -", ' "', "^", "<->", "{title}", "%", "_",
)  # fmt: skip


def _text(min_words: int, max_words: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(_WORDS), min_size=min_words, max_size=max_words).map(" ".join)


_books = st.lists(
    st.fixed_dictionaries(
        {
            "title": _text(1, 4),
            "author": _text(1, 3),
            "description": st.none() | _text(0, 8),
            "price": st.sampled_from(["1", "9.99", "10", "19.99", "20", "55"]),
            "stock": st.sampled_from([0, 0, 2]),
            "genre": st.sampled_from([None, 0, 1, 2]),
            "published": st.sampled_from([None, date(1999, 1, 1), date(2010, 6, 1)]),
        }
    ),
    min_size=0,
    max_size=8,
)
_queries = (
    st.lists(st.sampled_from(_WORDS) | st.sampled_from(_NOISE), max_size=7).map("".join)
    | st.lists(st.sampled_from(_WORDS) | st.sampled_from(_NOISE), max_size=7).map(" ".join)
    | st.text(max_size=20)
)
_commands = st.builds(
    lambda q, sort, direction, page, size, genre, in_stock, facets: (
        q,
        {
            "sort": sort,
            "sort_dir": direction,
            "page": page,
            "size": size,
            "genre": genre,
            "in_stock": in_stock,
            "facets": facets,
        },
    ),
    _queries,
    st.none() | st.sampled_from(list(SearchSort)),
    st.none() | st.sampled_from(list(SortDirection)),
    st.integers(1, 3),
    st.integers(1, 4),
    st.sampled_from([None, 0, 1, 2]),
    st.booleans(),
    st.booleans(),
)


def _settings(dialect: str) -> settings:
    return property_settings(dialect, EXAMPLES, SQL_EXAMPLES)


class SearchProperties:
    """Random small catalogs and random queries (hostile strings included)."""

    def test_search_answers_as_the_reference_for_random_catalogs_and_queries(
        self, shop_factory: ShopFactory
    ) -> None:
        """The same ids in the same order with the same total (and facets) as the reference
        matcher, so memory, SQLite and PostgreSQL all answer the same."""
        dialect = _dialect_of(shop_factory)

        async def check(books: list[dict[str, Any]], commands: list[tuple[str, Any]]) -> None:
            clock = ManualClock()
            async with shop_factory.open(clock=clock) as shop:
                fiction = await add_genre(shop, "Fiction")
                genres = [fiction, await add_genre(shop, "Fantasy", parent=fiction)]
                genres.append(await add_genre(shop, "Poetry"))
                for book in books:
                    clock.advance(timedelta(seconds=1))
                    genre = None if book["genre"] is None else genres[book["genre"]]
                    await add_book(
                        shop,
                        book["title"],
                        author=book["author"],
                        description=book["description"],
                        price=book["price"],
                        stock=book["stock"],
                        genre=genre,
                        publish_date=book["published"],
                    )
                for q, options in commands:
                    genre = options.pop("genre")
                    try:
                        command = SearchBooks(
                            q=q, genre_id=None if genre is None else genres[genre].id, **options
                        )
                    except ValidationError:
                        continue  # refused before any store is asked (e.g. too long)
                    await _check_with_reference(shop, command)

        @_settings(dialect)
        @given(books=_books, commands=st.lists(_commands, min_size=1, max_size=4))
        def property_holds(books: list[dict[str, Any]], commands: list[tuple[str, Any]]) -> None:
            asyncio.run(check(books, commands))

        property_holds()


assert MAX_PAGE_SIZE >= 4  # the property's page sizes
