"""The SQL search index's own mechanics, on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

What a search finds and in which order is pinned once for every backend by the contract suite;
these tests pin what only the SQL index has: the rendered documents and queries (hostile
lexemes included), the stored index content, put/remove round trips, and that PostgreSQL
answers a text query from the GIN index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from bookshop_adapters.sqlalchemy import SqlBackend
from bookshop_adapters.sqlalchemy.search import (
    _search_statements,
    _shape_and_parameters,
    fts5_phrase,
    fts5_row,
    tsquery_phrase,
    tsvector_literal,
)
from bookshop_adapters.stemming import SnowballStemmer
from bookshop_core import NewBook
from bookshop_core.catalog.entities import BookQuery, SortDirection
from bookshop_core.kernel.pagination import PageRequest
from bookshop_core.search.analysis import Analyzer, Field, SearchDocument, Token
from bookshop_core.search.entities import (
    FIELD_WEIGHTS,
    SearchFilters,
    SearchOrder,
    SearchSort,
    VocabularyWord,
)
from bookshop_core.search.query import Phrase, Prefix, Term, TextQuery, parse

ANALYZER = Analyzer(SnowballStemmer())
NOW = datetime(2024, 1, 1, tzinfo=UTC)

#: Lexemes the analyzer never produces, each with every character the two query languages
#: give a meaning to (quotes, backslash, colon, operators, braces, NUL, keywords).
HOSTILE = (
    "o'brien",
    "back\\slash",
    "end\\",
    "a:b",
    'say"hi"',
    "star*",
    "and&or|not!",
    "(paren)",
    "{title}",
    "near(x)",
    "caret^",
    "minus-",
    "nul\x00byte",
    "AND",
    "NEAR",
    "'",
    '"',
    "\\",
    ":*",
    "''",
)


def _doc(book_id: int, **fields: Sequence[tuple[str, str]]) -> SearchDocument:
    """A document whose fields hold the given (word, lexeme) tokens."""
    return SearchDocument(
        book_id,
        tuple(
            Field(
                name,
                tuple(Token(w, lex, i) for i, (w, lex) in enumerate(fields.get(name, ()))),
            )
            for name in ("title", "author", "description")
        ),
    )


def _analysed(book_id: int, title: str, author: str, description: str | None) -> SearchDocument:
    """The analyzer's document of a book with these texts."""
    texts = {"title": title, "author": author, "description": description}
    return SearchDocument(
        book_id, tuple(Field(name, tuple(ANALYZER.terms(t))) for name, t in texts.items())
    )


def _query(*must: Any, must_not: Sequence[Any] = ()) -> TextQuery:
    return TextQuery(tuple(must), tuple(must_not))


# -- rendering (no database) --------------------------------------------------------------


def test_tsvector_literal_weights_fields_and_keeps_them_apart() -> None:
    """Stems only (phrases are all it serves); title A from 1, author B from 1001, description
    C from 2001."""
    document = _doc(
        1,
        title=[("running", "run")],
        author=[("king", "king")],
        description=[("a", "a"), ("run", "run")],
    )
    assert tsvector_literal(document) == "'run':1A,2002C 'king':1001B 'a':2001C"


def test_tsvector_literal_quotes_and_drops_nul() -> None:
    """Quotes and backslashes are doubled inside the quoted lexeme; NUL is dropped."""
    document = _doc(1, title=[("o'b\\c\x00", "o'b\\c\x00")])
    assert tsvector_literal(document) == "'o''b\\\\c':1A"


def test_tsquery_phrase_renders_adjacent_stems_in_any_or_one_field() -> None:
    """A phrase is its stems joined by ``<->``, each with the field's weight letter if any."""
    phrase = Phrase(("dark", "tower"))
    assert tsquery_phrase(phrase) == "('dark' <-> 'tower')"
    assert tsquery_phrase(phrase, "author") == "('dark':B <-> 'tower':B)"


def test_fts5_phrase_renders_quoted_stems_under_a_column_filter() -> None:
    """A phrase is its stems double-quoted and joined by ``+``, in the fields' stem columns."""
    phrase = Phrase(("dark", "tower"))
    assert fts5_phrase(phrase) == '({title author description} : "dark" + "tower")'
    assert fts5_phrase(phrase, ("title",)) == '({title} : "dark" + "tower")'


def test_fts5_row_holds_stems_and_words_in_position_order() -> None:
    """One column per field for stems and one for surface words, space-joined."""
    document = _doc(7, title=[("running", "run"), ("men", "men")])
    assert fts5_row(document) == {
        "rowid": 7,
        "title": "run men",
        "title_words": "running men",
        "author": "",
        "author_words": "",
        "description": "",
        "description_words": "",
    }


def test_renderers_never_pass_an_unquoted_character() -> None:
    """Whatever a lexeme holds, it stays inside one quoted token of each renderer."""
    for lexeme in HOSTILE:
        pg = tsquery_phrase(Phrase((lexeme,)))
        quoted = pg.removeprefix("(").removesuffix(")")
        assert quoted[0] + quoted[-1] == "''", pg
        assert "'" not in quoted[1:-1].replace("''", ""), pg
        fts = fts5_phrase(Phrase((lexeme,)))
        quoted = fts.removeprefix("({title author description} : ").removesuffix(")")
        assert quoted[0] + quoted[-1] == '""', fts
        assert '"' not in quoted[1:-1].replace('""', ""), fts
        assert "\x00" not in pg + fts


# -- on the database ----------------------------------------------------------------------


async def _add_books(backend: SqlBackend, count: int) -> list[int]:
    books = [
        NewBook(
            title=f"Book {n}",
            author="Someone",
            price=Decimal(n % 60 + 1),
            isbn=None,
            genre_id=None,
            description=None,
            cover_image_url=None,
            publish_date=None,
            stock_quantity=n % 2,
            created_at=NOW,
        )
        for n in range(count)
    ]
    async with backend.unit_of_work() as uow:
        added = await uow.books.add_many(books)
        await uow.commit()
    return [book.id for book in added]


async def _put(backend: SqlBackend, documents: Sequence[SearchDocument]) -> None:
    async with backend.unit_of_work() as uow:
        await uow.search_index.put(documents)
        await uow.commit()


async def _found(backend: SqlBackend, query: TextQuery) -> list[tuple[int, int]]:
    async with backend.unit_of_work(read_only=True) as uow:
        page = await uow.search_index.search(
            query, SearchFilters(), SearchOrder(), PageRequest(1, 100)
        )
    return [(hit.book_id, hit.score) for hit in page.items]


async def test_hostile_lexemes_are_stored_and_found_as_plain_text(backend: SqlBackend) -> None:
    """Lexemes full of both query languages' operators, quotes, backslashes and NUL are
    indexed and searched (as terms, prefixes and phrases) without a database error; those
    with a letter are found again."""
    ids = await _add_books(backend, len(HOSTILE))
    pairs = list(zip(ids, HOSTILE, strict=True))
    await _put(backend, [_doc(i, title=[(lex, lex), ("x", "x")]) for i, lex in pairs])
    for book_id, lexeme in pairs:
        queries = [
            _query(Term(lexeme)),
            _query(Prefix(lexeme, lexeme)),
            _query(Phrase((lexeme, "x"))),
            _query(Term("x"), must_not=[Term(lexeme)]),
        ]
        results = [await _found(backend, query) for query in queries]
        if any(c.isalnum() for c in lexeme):
            for result in results[:3]:
                assert (book_id, 4) in result, (lexeme, result)
            assert book_id not in [found for found, _ in results[3]], lexeme


async def test_hostile_typed_queries_find_or_refuse_never_fail(backend: SqlBackend) -> None:
    """What a user types goes through the parser, whose model both renderers take."""
    ids = await _add_books(backend, 1)
    await _put(backend, [_analysed(ids[0], "Dark tower", "King", None)])
    for typed in [
        '"dark',
        "dark AND NOT",
        "king:* & !x",
        "dark') OR 1=1 --",
        "NEAR(dark tower)",
        "dark\x00tower",
        "tow",
        "{title}: dark",
        "dark \\",
        "d*",
    ]:
        found = await _found(backend, parse(typed, ANALYZER) or _query(Term("dark")))
        assert [book for book, _ in found] in ([], ids), typed


async def test_put_replaces_and_remove_forgets(backend: SqlBackend) -> None:
    """put twice keeps only the second text; remove forgets (unknown ids ignored); clear
    empties the index."""
    first, second = await _add_books(backend, 2)
    await _put(backend, [_analysed(first, "Running man", "King", "A dark story")])
    await _put(backend, [_analysed(second, "Dark", "Nobody", None)])
    assert await _found(backend, parse("dark", ANALYZER)) == [(second, 4), (first, 1)]
    await _put(backend, [_analysed(first, "Quiet man", "King", None)])
    assert await _found(backend, parse("dark", ANALYZER)) == [(second, 4)]
    assert await _found(backend, parse("quiet", ANALYZER)) == [(first, 4)]
    async with backend.unit_of_work() as uow:
        await uow.search_index.remove([second, 10_000])
        await uow.commit()
    assert await _found(backend, parse("dark", ANALYZER)) == []
    async with backend.unit_of_work() as uow:
        await uow.search_index.clear()
        await uow.commit()
    assert await _found(backend, parse("quiet", ANALYZER)) == []


async def test_index_content_is_the_analyzers_output(backend: SqlBackend) -> None:
    """FTS5 holds stems and folded surface words per field; the tsvector holds weighted
    stems at offset positions."""
    (book_id,) = await _add_books(backend, 1)
    await _put(backend, [_analysed(book_id, "Running Men", "García Márquez", "Ran 42 miles")])
    async with backend.unit_of_work(read_only=True) as uow:
        if backend.engine.dialect.name == "postgresql":
            statement = "SELECT document::text FROM book_search WHERE book_id = :id"
            stored = (await uow.connection.execute(text(statement), {"id": book_id})).scalar()
            entries = set(stored.split(" "))
            assert entries == {
                "'run':1A",
                "'men':2A",
                "'garcia':1001B",
                "'marquez':1002B",
                "'ran':2001C",
                "'42':2002C",
                "'mile':2003C",
            }
        else:
            statement = "SELECT * FROM book_search_fts WHERE rowid = :id"
            row = (await uow.connection.execute(text(statement), {"id": book_id})).one()
            assert tuple(row) == (
                "run men",
                "garcia marquez",
                "ran 42 mile",
                "running men",
                "garcia marquez",
                "ran 42 miles",
            )


async def test_non_latin_words_and_digits_are_indexed_whole(backend: SqlBackend) -> None:
    """Words of any script and digits are one token each in both indexes."""
    (book_id,) = await _add_books(backend, 1)
    await _put(backend, [_analysed(book_id, "東京 物語 1984 Ελληνικά москва", "A", None)])
    for typed in ["東京", "1984", "ελληνικα", "москва", '"東京 物語"', "моск"]:
        assert await _found(backend, parse(typed, ANALYZER)) == [(book_id, 4)], typed


async def test_vocabulary_lists_close_surface_words_with_exact_book_counts(
    backend: SqlBackend,
) -> None:
    """Every surface word within the distance is a candidate, with the number of books holding
    it (a word in two fields of one book counts once); a stem alone is not a word."""
    ids = await _add_books(backend, 3)
    await _put(
        backend,
        [
            _analysed(ids[0], "Running", "Runner", "running"),
            _analysed(ids[1], "running", "x", None),
            _analysed(ids[2], "Zebra", "x", None),
        ],
    )
    async with backend.unit_of_work(read_only=True) as uow:
        near = await uow.search_index.vocabulary("runnin", 2)
    close = {w for w in near if w.word.startswith("run")}
    assert VocabularyWord("running", 2) in close
    assert VocabularyWord("runner", 1) in close
    assert "run" not in {w.word for w in near}  # only a stem here
    assert all(w.word[0] == "r" for w in near)


async def test_facets_count_every_match_in_one_statement(backend: SqlBackend) -> None:
    """Genre counts per top-level genre, in-stock count and price buckets, in one statement."""
    from bookshop_adapters.sqlalchemy import count_statements

    ids = await _add_books(backend, 12)  # prices 1..12, stock n % 2
    async with backend.unit_of_work() as uow:
        root = await uow.genres.add("Fiction", None)
        child = await uow.genres.add("Fantasy", root.id)
        await uow.connection.execute(
            text("UPDATE books SET genre_id = :g WHERE id IN (:a, :b)"),
            {"g": child.id, "a": ids[0], "b": ids[1]},
        )
        await uow.search_index.put([_analysed(i, "Dark", "x", None) for i in ids])
        await uow.commit()
    async with backend.unit_of_work(read_only=True) as uow:
        with count_statements(backend) as counted:
            facets = await uow.search_index.facets(parse("dark", ANALYZER), SearchFilters())
    assert counted.count == 1, counted.statements
    assert [(g.genre_id, g.name, g.count) for g in facets.genres] == [(root.id, "Fiction", 2)]
    assert facets.in_stock == 6
    assert [b.count for b in facets.prices] == [9, 3, 0, 0]


async def _plan(backend: SqlBackend, typed: str) -> list[str]:
    """PostgreSQL's plan for the relevance page of ``typed``, with sequential scans priced out
    (``SET LOCAL enable_seqscan = off``: on a small table a scan is rightly cheaper)."""
    shape, parameters = _shape_and_parameters(
        "postgresql", parse(typed, ANALYZER), SearchFilters(), None
    )
    page, _ = _search_statements(shape)
    async with backend.unit_of_work(read_only=True) as uow:
        await uow.connection.execute(text("SET LOCAL enable_seqscan = off"))
        compiled = page.params(**parameters, limit=20, offset=0).compile(
            dialect=uow.connection.dialect, compile_kwargs={"literal_binds": True}
        )
        result = await uow.connection.exec_driver_sql(f"EXPLAIN {compiled}")
        return [str(line) for line in result.scalars()]


async def _whale_books(backend: SqlBackend) -> list[int]:
    """1,200 indexed books, every 600th with "whale" in its title; returns their ids."""
    ids = await _add_books(backend, 1200)
    await _put(
        backend,
        [
            _analysed(i, f"Book {n} {'white whale' if n % 600 == 0 else 'plain'}", "X", "Text")
            for n, i in enumerate(ids)
        ],
    )
    return ids


async def test_postgres_word_and_prefix_queries_read_only_the_postings_index(
    backend: SqlBackend,
) -> None:
    """A word's and a prefix's relevance page (matches, scores, total) is answered from the
    postings' primary key (which holds every column: on a vacuumed table, index-only scans),
    without reading a document."""
    if backend.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL plan")
    ids = await _whale_books(backend)
    for typed in ("whale ", "whal"):  # a term, and a prefix being typed
        plan = "\n".join(await _plan(backend, typed))
        assert "on pk_search_postings" in plan or "using pk_search_postings" in plan, plan
        assert "book_search" not in plan, plan
        assert await _found(backend, parse(typed, ANALYZER)) == [(i, 4) for i in ids[::600]]


async def test_postgres_phrase_query_uses_the_gin_index(backend: SqlBackend) -> None:
    """A phrase is matched through the GIN index ``ix_book_search_document`` of the documents
    (a tsquery the index could not serve would plan a sequential scan)."""
    if backend.engine.dialect.name != "postgresql":
        pytest.skip("the GIN index is PostgreSQL's")
    ids = await _whale_books(backend)
    plan = await _plan(backend, '"white whale"')
    assert any("ix_book_search_document" in line for line in plan), "\n".join(plan)
    assert await _found(backend, parse('"white whale"', ANALYZER)) == [(i, 4) for i in ids[::600]]


_LISTING_SORTS = [sort for sort in SearchSort if sort.listing_sort is not None]


@pytest.mark.parametrize("sort", _LISTING_SORTS, ids=[sort.value for sort in _LISTING_SORTS])
async def test_listing_sorts_order_search_as_the_listing_with_ratings(
    backend: SqlBackend, sort: SearchSort
) -> None:
    """Every listing sort (avg_rating with equal, missing and different ratings included;
    date with missing publish dates) orders a search as ``books.list`` orders the listing,
    both ways; written directly, as no use case sets review counters yet."""
    listing_sort = sort.listing_sort
    assert listing_sort is not None
    ids = await _add_books(backend, 9)
    reviews = [(0, 0), (2, 4), (1, 2), (3, 14), (4, 20), (0, 0), (6, 7), (2, 9), (1, 5)]
    async with backend.unit_of_work() as uow:
        for n, book_id in enumerate(ids):
            count, total = reviews[n]
            published = date(2000 + n % 3, 1, 1) if n % 4 else None
            await uow.connection.execute(
                text(
                    "UPDATE books SET review_count = :c, rating_sum = :s, publish_date = :d "
                    "WHERE id = :id"
                ),
                {"c": count, "s": total, "d": published, "id": book_id},
            )
        await uow.search_index.put([_analysed(i, "Same words", "x", None) for i in ids])
        await uow.commit()
    query = parse("same", ANALYZER)
    for direction in SortDirection:
        async with backend.unit_of_work(read_only=True) as uow:
            found = await uow.search_index.search(
                query, SearchFilters(), SearchOrder(sort, direction), PageRequest(1, 100)
            )
            listed = await uow.books.list(
                BookQuery(sort=listing_sort, direction=direction), PageRequest(1, 100)
            )
        assert [hit.book_id for hit in found.items] == [book.id for book in listed.items]


#: (title, author, description) of books for the tiered relevance page: "whale" in the title
#: (4), the author (2), the description (1), in several of them, or nowhere.
_TIERS = [
    ("Sea", "Ann", "a whale"),
    ("Whale", "Ann", None),
    ("Sea", "Whale Jones", "whales"),
    ("Whale song", "Whale Jones", "the whale"),
    ("Sea", "Bob", "whale and whale"),
    ("Whale", "Bob", "whale"),
    ("Dry", "Whale Jones", None),
    ("Sea", "Ann", "whales sing"),
    ("Whales", "Whale Jones", None),
    ("Sea", "Ann", "nothing here"),
    ("Sea", "Ann", "whale"),
]


def _scored_by_hand(documents: Sequence[SearchDocument], query: TextQuery) -> list[tuple[int, int]]:
    """Every match of ``query`` (terms and prefixes) with its score, best first: the formula
    applied to each document in plain Python."""

    def holds(clause: Any, field: Field) -> bool:
        if isinstance(clause, Prefix):
            return clause.lexeme in field.lexemes or any(
                w.startswith(clause.word) for w in field.words
            )
        return bool(clause.lexeme in field.lexemes)

    scored = []
    for document in documents:
        fields = document.fields
        if all(any(holds(c, f) for f in fields) for c in query.must) and not any(
            holds(c, f) for c in query.must_not for f in fields
        ):
            score = sum(
                FIELD_WEIGHTS[f.name] for f in fields if any(holds(c, f) for c in query.must)
            )
            scored.append((-score, document.book_id))
    return [(book_id, -negated) for negated, book_id in sorted(scored)]


async def test_relevance_pages_cut_by_tiers_equal_scoring_every_match(
    backend: SqlBackend,
) -> None:
    """Every page of a relevance search, at every size and offset (across the boundary
    between title/author matches and description-only ones, and past the end), is the slice
    of the order that scoring every match gives, with the exact total: for a term, a prefix,
    two terms and an exclusion."""
    ids = await _add_books(backend, len(_TIERS))
    documents = [_analysed(i, *texts) for i, texts in zip(ids, _TIERS, strict=True)]
    await _put(backend, documents)
    for typed in ("whale ", "wha", "whale sea ", "whale -sing ", "sea whal"):
        query = parse(typed, ANALYZER)
        assert query is not None
        order = _scored_by_hand(documents, query)
        if typed == "whale ":  # every score, from both sides of the tiers' boundary
            assert {score for _, score in order} == set(range(1, 8))
        assert await _found(backend, query) == order, typed
        for size in (1, 2, 3, 5):
            for number in range(1, len(order) // size + 3):
                async with backend.unit_of_work(read_only=True) as uow:
                    page = await uow.search_index.search(
                        query, SearchFilters(), SearchOrder(), PageRequest(number, size)
                    )
                start = (number - 1) * size
                got = [(hit.book_id, hit.score) for hit in page.items]
                assert got == order[start : start + size], (typed, size, number)
                assert page.total == len(order), (typed, size, number)
