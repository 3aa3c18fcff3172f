"""Contract: what a search finds, in which order, on a fixed corpus of 387 real books.

The corpus is the bundled demo catalog (``bookshop_adapters/demo/books.csv``: classics,
fantasy with sub-genres, computing, poetry..., with accented authors), imported in file
order, so the books get the same ids on every backend. Each case is a query a shopper could
type, with the books it must find *in this order* (or the first ones of a longer result) and
the exact total; the expectations follow the ranking formula of ``docs/search.md``
(title 4, author 2, description 1 per matching field, ties by id) and were checked by hand.

A case that fails names itself: its ``name`` is the test id, its ``why`` the rule it pins.
If the demo catalog changes, :meth:`SearchRelevanceContract.test_the_corpus_is_the_pinned_one`
fails first: re-derive the expectations rather than editing them to whatever comes out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from attrs import field, frozen

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.demo import demo_rows
from bookshop_core.kernel.principal import Principal
from bookshop_core.search.commands import SearchBooks
from bookshop_core.search.entities import SearchResult

__all__ = [
    "CASES",
    "CORPUS_SIZE",
    "FACET_CASES",
    "SUGGESTION_CASES",
    "FacetCase",
    "RelevanceCase",
    "SearchRelevanceContract",
    "SuggestionCase",
    "seed_corpus",
]

#: Books in the corpus.
CORPUS_SIZE = 387
#: SHA-256 of the corpus rows as JSON: the expectations below hold for exactly these books.
CORPUS_SHA256 = "b8c57173c7c4f50d4d42b968f38851b7cbe52474fee6217b223bd8f92a9162b3"


@frozen
class RelevanceCase:
    """A query and what it must find.

    Args:
        name: The test id.
        why: The rule the case pins.
        q: What the shopper typed.
        titles: The titles expected, in order: the whole page, or its first ones when
            ``top`` is true.
        total: The exact number of matches across pages.
        genre: The name of a genre to filter by (resolved to its id on the seeded shop).
        options: Any other ``SearchBooks`` argument (filters, sort, page, size).
        top: ``titles`` are only the first results of the page.
    """

    name: str
    why: str
    q: str
    titles: tuple[str, ...]
    total: int
    genre: str | None = None
    options: Mapping[str, Any] = field(factory=dict)
    top: bool = False


@frozen
class FacetCase:
    """A query and its facets: (top-level genre, count) pairs in order, the in-stock count,
    and the counts of the four price buckets (under 10, 10-20, 20-50, 50 and over)."""

    name: str
    why: str
    q: str
    genres: tuple[tuple[str, int], ...]
    in_stock: int
    prices: tuple[int, int, int, int]
    genre: str | None = None


@frozen
class SuggestionCase:
    """A query and the "did you mean" it must get (``None``: no suggestion)."""

    name: str
    why: str
    q: str
    total: int
    suggestion: str | None


TOLKIEN = (
    "The Hobbit",
    "The Fellowship of the Ring",
    "The Two Towers",
    "The Return of the King",
)
DRAGON_WORD = (
    "The Girl with the Dragon Tattoo",
    "The Hobbit",
    "Fourth Wing",
    "Compilers: Principles, Techniques, and Tools",
    "Beowulf",
)
WAR_TOP = ("War and Peace", "The Forever War", "World War Z")

CASES: tuple[RelevanceCase, ...] = (
    # -- ranking ---------------------------------------------------------------------------
    RelevanceCase(
        "title-beats-description",
        "a word in the title (4) ranks above the same word in a description (1); "
        "the prefix 'dragon' also finds 'dragonrider'",
        "dragon",
        (
            "The Girl with the Dragon Tattoo",
            "The Hobbit",
            "The Priory of the Orange Tree",
            "Fourth Wing",
            "Compilers: Principles, Techniques, and Tools",
            "Beowulf",
        ),
        6,
    ),
    RelevanceCase(
        "title-then-author-then-description",
        "title (4) > author (2: Kingsolver, Stephen King) > description (1), ties by id",
        "king",
        (
            "The Return of the King",
            "The Way of Kings",
            "Demon Copperhead",
            "The Shining",
            "It",
            "Carrie",
            "Pet Sematary",
            "Misery",
            "Assassin's Apprentice",
            "Where the Wild Things Are",
            "The Phantom Tollbooth",
            "Bridge to Terabithia",
        ),
        12,
    ),
    RelevanceCase(
        "title-and-description-beat-title-alone",
        "title + description (5) ranks above title alone (4), then description only (1)",
        "war",
        (
            *WAR_TOP,
            "The Lion, the Witch and the Wardrobe",
            "The Warmth of Other Suns",
            "Mrs Dalloway",
        ),
        19,
        top=True,
    ),
    RelevanceCase(
        "equal-scores-by-id",
        "books with the same score keep the catalog's order (id ascending)",
        "tolkien",
        TOLKIEN,
        4,
    ),
    # -- all terms -------------------------------------------------------------------------
    RelevanceCase(
        "all-words-must-match",
        "every word of the query must occur",
        "dragon tattoo",
        ("The Girl with the Dragon Tattoo",),
        1,
    ),
    RelevanceCase(
        "words-may-match-in-different-fields",
        "each word may be in any field: 'world' and 'war' scattered in descriptions count",
        "world war",
        (
            "World War Z",
            "Catch-22",
            "The Way of Kings",
            "Outlander",
            "The Guns of August",
            "The Histories",
        ),
        6,
    ),
    RelevanceCase(
        "operators-are-plain-words",
        "AND is an ordinary word ('and'), not an operator",
        "war AND peace",
        ("War and Peace",),
        1,
    ),
    # -- phrases ---------------------------------------------------------------------------
    RelevanceCase(
        "phrase-needs-adjacent-words",
        "a quoted phrase drops the books where the words are only scattered",
        '"world war"',
        ("World War Z", "Catch-22", "Outlander", "The Guns of August"),
        4,
    ),
    RelevanceCase(
        "phrase-keeps-the-order",
        "the words of a phrase must come in the order typed",
        '"peace and war"',
        (),
        0,
    ),
    RelevanceCase(
        "phrase-vs-scattered-words",
        "'old man' matches American Gods by scattered words; the phrase does not",
        '"old man"',
        ("The Old Man and the Sea",),
        1,
    ),
    RelevanceCase(
        "unclosed-quote-runs-to-the-end",
        "an open quote is a phrase up to the end of the query",
        '"one hundred years',
        ("One Hundred Years of Solitude",),
        1,
    ),
    # -- exclusion -------------------------------------------------------------------------
    RelevanceCase(
        "exclude-a-word",
        "-tattoo leaves out the book with the word; 'dragon' is then a complete word",
        "dragon -tattoo",
        DRAGON_WORD[1:],
        4,
    ),
    RelevanceCase(
        "exclude-a-word-found-in-descriptions",
        "an excluded word counts in any field (the ring is in two descriptions)",
        "tolkien -ring",
        ("The Hobbit", "The Two Towers"),
        2,
    ),
    RelevanceCase(
        "exclude-a-phrase",
        '-"world war" leaves out the books with the phrase, not those with the words apart',
        'war -"world war"',
        ("War and Peace", "The Forever War", "Mrs Dalloway", "Beloved"),
        13,
        top=True,
    ),
    # -- prefix ----------------------------------------------------------------------------
    RelevanceCase(
        "prefix-of-the-last-word",
        "the word being typed matches as a prefix: 'tolk' finds Tolkien",
        "tolk",
        TOLKIEN,
        4,
    ),
    RelevanceCase(
        "a-trailing-space-ends-the-prefix",
        "after a space the last word is complete: 'tolk ' is not a word of the catalog",
        "tolk ",
        (),
        0,
    ),
    RelevanceCase(
        "complete-word-does-not-match-longer-words",
        "'dragon ' (complete) does not find the 'dragonrider' of The Priory of the Orange Tree",
        "dragon ",
        DRAGON_WORD,
        5,
    ),
    RelevanceCase(
        "prefix-only-on-the-last-word",
        "an earlier word is complete: 'tolk' followed by another word finds nothing",
        "tolk hobbit",
        (),
        0,
    ),
    RelevanceCase(
        "prefix-finds-longer-words",
        "'run' being typed finds The Kite Runner by its title",
        "run",
        ("The Kite Runner", "Do Androids Dream of Electric Sheep?"),
        8,
        top=True,
    ),
    # -- stemming --------------------------------------------------------------------------
    RelevanceCase(
        "stemming-running-finds-run",
        "'running' finds run, runs and running, but not 'runner'",
        "running ",
        (
            "The Name of the Wind",
            "Book Lovers",
            "The Hard Thing About Hard Things",
            "Saga, Volume 1",
            "Bone: Out from Boneville",
        ),
        5,
    ),
    RelevanceCase(
        "stemming-plural-finds-singular",
        "'dragons' finds 'dragon'",
        "dragons ",
        DRAGON_WORD,
        5,
    ),
    RelevanceCase(
        "stemming-adjective-finds-noun",
        "'magical' finds 'magic' (and 'Magical' in a title ranks first)",
        "magical ",
        (
            "The Year of Magical Thinking",
            "One Hundred Years of Solitude",
            "Jonathan Strange & Mr Norrell",
            "Children of Blood and Bone",
            "The Polar Express",
            "The Phantom Tollbooth",
        ),
        6,
    ),
    # -- accents and case ------------------------------------------------------------------
    RelevanceCase(
        "accents-are-folded",
        "'garcia marquez' finds Gabriel García Márquez",
        "garcia marquez",
        ("One Hundred Years of Solitude",),
        1,
    ),
    RelevanceCase(
        "accents-and-capitals-in-the-query-are-folded",
        "'GARCÍA MÁRQUEZ' finds the same book",
        "GARCÍA MÁRQUEZ",
        ("One Hundred Years of Solitude",),
        1,
    ),
    RelevanceCase(
        "diaeresis-is-folded",
        "'bronte' finds Charlotte and Emily Brontë",
        "bronte",
        ("Jane Eyre", "Wuthering Heights"),
        2,
    ),
    # -- filters with a query --------------------------------------------------------------
    RelevanceCase(
        "query-and-genre",
        "the genre filter AND-combines with the query (Fiction and all its sub-genres)",
        "war",
        (*WAR_TOP, "Mrs Dalloway"),
        13,
        genre="Fiction",
        top=True,
    ),
    RelevanceCase(
        "query-and-in-stock",
        "in_stock leaves out The Warmth of Other Suns and Jonathan Strange (out of stock)",
        "war",
        (*WAR_TOP, "The Lion, the Witch and the Wardrobe", "Mrs Dalloway"),
        17,
        options={"in_stock": True},
        top=True,
    ),
    RelevanceCase(
        "query-and-price",
        "max_price keeps the books at or under 10.00",
        "war",
        ("The Forever War", "The Return of the King", "The Song of Achilles"),
        3,
        options={"max_price": Decimal("10")},
    ),
    RelevanceCase(
        "query-and-author",
        "the author filter is a substring of the author, whatever the query",
        "war",
        ("War and Peace",),
        1,
        options={"author": "TOLSTOY"},
    ),
    # -- filters without a query -----------------------------------------------------------
    RelevanceCase(
        "no-query-is-a-filtered-listing-by-title",
        "a blank query with a filter lists by title",
        "",
        ("The Fellowship of the Ring", "The Hobbit", "The Return of the King", "The Two Towers"),
        4,
        options={"author": "tolkien"},
    ),
    RelevanceCase(
        "no-query-several-filters",
        "in stock and priced 10.00 to 20.00, inclusive",
        "  ",
        ("2001: A Space Odyssey", "A Court of Thorns and Roses", "A Game of Thrones"),
        200,
        options={"in_stock": True, "min_price": Decimal("10"), "max_price": Decimal("20")},
        top=True,
    ),
    # -- sub-genres ------------------------------------------------------------------------
    RelevanceCase(
        "sub-genres-are-included",
        "Fantasy includes its sub-genre Epic Fantasy (three of the four Tolkien books)",
        "tolkien",
        TOLKIEN,
        4,
        genre="Fantasy",
    ),
    RelevanceCase(
        "a-sub-genre-alone",
        "Epic Fantasy alone leaves out The Hobbit (Fantasy)",
        "tolkien",
        TOLKIEN[1:],
        3,
        genre="Epic Fantasy",
    ),
    RelevanceCase(
        "a-genre-listing-counts-every-depth",
        "Science Fiction without a query: its 18 books and those of Space Opera and Cyberpunk",
        "",
        ("1984", "2001: A Space Odyssey", "A Memory Called Empire"),
        28,
        genre="Science Fiction",
        top=True,
    ),
    # -- empty results ---------------------------------------------------------------------
    RelevanceCase("unknown-word-finds-nothing", "a word no book has", "xylophonist", (), 0),
    RelevanceCase(
        "filters-can-empty-a-result",
        "a word found elsewhere, but not in this genre",
        "tattoo",
        (),
        0,
        genre="Poetry",
    ),
    RelevanceCase(
        "genre-names-are-not-searched",
        "the search looks at titles, authors and descriptions, not at genre names",
        '"space opera"',
        (),
        0,
    ),
    # -- sorts -----------------------------------------------------------------------------
    RelevanceCase(
        "sort-by-price",
        "sort=price orders matches by price, cheapest first",
        "tolkien",
        ("The Return of the King", "The Fellowship of the Ring", "The Two Towers", "The Hobbit"),
        4,
        options={"sort": "price"},
    ),
    RelevanceCase(
        "sort-by-title",
        "sort=title orders matches by title whatever their score",
        "dragon",
        (
            "Beowulf",
            "Compilers: Principles, Techniques, and Tools",
            "Fourth Wing",
            "The Girl with the Dragon Tattoo",
            "The Hobbit",
            "The Priory of the Orange Tree",
        ),
        6,
        options={"sort": "title"},
    ),
    # -- pages -----------------------------------------------------------------------------
    RelevanceCase(
        "exact-total-on-a-deep-page",
        "page 16 of a 313-book result holds the last 13, with the exact total",
        "the",
        (
            "Leaves of Grass",
            "Ariel",
            "Paradise Lost",
            "Beowulf",
            "Howl and Other Poems",
            "Maus I: My Father Bleeds History",
            "Watchmen",
            "Persepolis",
            "Saga, Volume 1",
            "Smile",
            "March: Book One",
            "Understanding Comics",
            "Nimona",
        ),
        313,
        options={"page": 16, "size": 20},
    ),
    RelevanceCase(
        "past-the-last-page",
        "a page after the last is empty and keeps the exact total",
        "the",
        (),
        313,
        options={"page": 17, "size": 20},
    ),
    RelevanceCase(
        "first-page-of-a-large-result",
        "the best of 313: Paul Theroux's travel book matches 'the' in all three fields (7)",
        "the",
        ("The Great Railway Bazaar",),
        313,
        options={"size": 1},
    ),
)

FACET_CASES: tuple[FacetCase, ...] = (
    FacetCase(
        "facets-of-a-query",
        "per top-level genre (Fantasy, Epic Fantasy and Mystery count for Fiction), "
        "in stock, price buckets",
        "dragon",
        (("Fiction", 4), ("Computing", 1), ("Poetry", 1)),
        6,
        (0, 5, 1, 0),
    ),
    FacetCase(
        "facets-of-a-broad-query",
        "genres by count, then name; out-of-stock books are counted in genres and prices",
        "war",
        (("Fiction", 13), ("Non-fiction", 4), ("Children's", 1), ("Graphic Novels", 1)),
        17,
        (3, 12, 4, 0),
    ),
    FacetCase(
        "facets-of-a-filtered-listing",
        "without a query, the facets of the filtered books (a genre and its sub-genre)",
        "",
        (("Fiction", 25),),
        21,
        (6, 19, 0, 0),
        genre="Fantasy",
    ),
    FacetCase(
        "facets-of-nothing",
        "no match: no genre, zeros everywhere (the four buckets are still there)",
        "xylophonist",
        (),
        0,
        (0, 0, 0, 0),
    ),
)

SUGGESTION_CASES: tuple[SuggestionCase, ...] = (
    SuggestionCase(
        "suggest-a-close-word",
        "a word one edit away from a catalog word; 'dragon' (5 books) beats 'drawn' (2)",
        "dragn",
        0,
        "dragon",
    ),
    SuggestionCase(
        "suggest-a-transposition",
        "swapped letters are two edits",
        "tolkein",
        0,
        "tolkien",
    ),
    SuggestionCase(
        "suggest-only-the-misspelt-word",
        "a word that matches on its own is kept",
        "pride prejudise",
        0,
        "pride prejudice",
    ),
    SuggestionCase(
        "no-suggestion-when-nothing-is-close",
        "no catalog word within two edits",
        "xylophonist",
        0,
        None,
    ),
    SuggestionCase(
        "no-suggestion-when-found",
        "a query that finds books gets no suggestion",
        "dragon",
        6,
        None,
    ),
)


def _fingerprint(rows: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode("utf-8")).hexdigest()


@frozen
class Corpus:
    """The seeded shop's genre ids by name."""

    genres: Mapping[str, int]


async def seed_corpus(shop: Shop) -> Corpus:
    """Import the corpus into an empty shop, in file order, as the system operator.

    Returns:
        The genre ids by name, to resolve the cases' ``genre``.
    """
    report = await shop.catalog.import_books(Principal.system(), demo_rows())
    assert report.committed, report.errors
    assert report.imported == CORPUS_SIZE
    return Corpus({genre.name: genre.id for genre in await shop.catalog.list_genres()})


async def _search(shop: Shop, corpus: Corpus, q: str, genre: str | None, **options: Any) -> Any:
    genre_id = None if genre is None else corpus.genres[genre]
    result: SearchResult = await shop.search.search(SearchBooks(q=q, genre_id=genre_id, **options))
    return result


class SearchRelevanceContract:
    """Relevance expectations on the demo catalog: ranking, syntax, filters, facets,
    suggestions. (The plugin marks the async tests for pytest-asyncio.)"""

    def test_the_corpus_is_the_pinned_one(self) -> None:
        """The expectations were derived from exactly these 387 books."""
        rows = demo_rows()
        assert len(rows) == CORPUS_SIZE
        assert _fingerprint(rows) == CORPUS_SHA256, "the demo catalog changed"

    @pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
    async def test_query_finds_these_books_in_this_order(
        self, shop: Shop, case: RelevanceCase
    ) -> None:
        """The query finds exactly the expected books, in the expected order, with the exact
        total (``case.why`` says which rule the case pins)."""
        corpus = await seed_corpus(shop)
        result = await _search(shop, corpus, case.q, case.genre, **case.options)
        found = tuple(hit.book.title for hit in result.page.items)
        if case.top:
            found = found[: len(case.titles)]
        assert (found, result.page.total) == (case.titles, case.total), case.why

    @pytest.mark.parametrize("case", FACET_CASES, ids=[case.name for case in FACET_CASES])
    async def test_facets_count_the_whole_result(self, shop: Shop, case: FacetCase) -> None:
        """Facets count every match of the query and filters, not only the page."""
        corpus = await seed_corpus(shop)
        result = await _search(shop, corpus, case.q, case.genre, facets=True, size=1)
        facets = result.facets
        assert facets is not None
        genres = tuple((count.name, count.count) for count in facets.genres)
        prices = tuple(bucket.count for bucket in facets.prices)
        assert (genres, facets.in_stock, prices) == (case.genres, case.in_stock, case.prices), (
            case.why
        )
        assert all(count.genre_id == corpus.genres[count.name] for count in facets.genres)

    @pytest.mark.parametrize("case", SUGGESTION_CASES, ids=[case.name for case in SUGGESTION_CASES])
    async def test_did_you_mean(self, shop: Shop, case: SuggestionCase) -> None:
        """A query that finds nothing gets one close query from the catalog's own words."""
        corpus = await seed_corpus(shop)
        result = await _search(shop, corpus, case.q, None)
        assert (result.page.total, result.suggestion) == (case.total, case.suggestion), case.why

    async def test_title_highlight_marks_the_matched_words(self, shop: Shop) -> None:
        """highlight=True marks the matched words of the title, HTML-escaped around them."""
        corpus = await seed_corpus(shop)
        result = await _search(shop, corpus, "dragon tattoo", None, highlight=True)
        (hit,) = result.page.items
        title = next(h for h in hit.highlights if h.field == "title")
        assert title.fragment == "The Girl with the <mark>Dragon</mark> <mark>Tattoo</mark>"
