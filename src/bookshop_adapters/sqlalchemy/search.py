"""The search index on SQL: PostgreSQL ``tsvector`` under a GIN index, SQLite FTS5.

Both store what the core's analyzer produced in Python and render the parsed query model
(never the typed string), so they match exactly the lexemes the memory index matches:

* PostgreSQL, table ``book_search(book_id, document tsvector)``: the stems of a book at their
  positions, weighted by field (title ``A``, author ``B``, description ``C``), plus its folded
  surface words prefixed with ``=`` at the same positions (``'=running':3A``). The fields'
  positions are kept apart (title from 1, author from 1001, description from 2001) so that a
  phrase never spans two fields. A clause renders as tsquery text: ``Term`` ``'lex'``,
  ``Prefix`` ``('=word':* | 'lex')``, ``Phrase`` ``'a' <-> 'b'``, with ``:A``/``:B``/``:C`` for
  the per-field score checks; the text is a bound parameter cast to ``tsquery`` (the cast
  parses it as tsquery input, normalising nothing).
* SQLite, FTS5 table ``book_search_fts`` with ``rowid`` = book id: stems in ``title``,
  ``author``, ``description``, surface words in ``title_words``... as space-joined tokens. A
  clause renders as an FTS5 expression with every token double-quoted and a column filter
  (``{title author description} : "lex"``, ``{title_words ...} : "word"*``, phrases ``"a" +
  "b"``), and a field's score check is a second MATCH restricted to its two columns.

Score (the core's formula, integers): 4 if some must clause occurs in the title, + 2 for the
author, + 1 for the description; ties by id ascending.

Statements: ``search`` with a text query is one statement (the page, with the total: a
window count over all matches, or on SQLite without filters a sub-select counting them) plus
a count only when the page is past the end; without a text query, the page and the count.
``facets`` is one statement, ``put`` and ``remove`` one per batch of :data:`BATCH_SIZE`
books.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Select,
    String,
    TypeDecorator,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Dialect

from bookshop_adapters.sqlalchemy._postings import (
    CLEAR_POSTINGS,
    REMOVE_POSTINGS,
    put_postings_statements,
)
from bookshop_adapters.sqlalchemy.catalog import (
    BOOK_COLUMNS,
    book_from_row,
    genre_subtree_ids,
    listing_ordering,
    listing_sort_key,
)
from bookshop_adapters.sqlalchemy.filters import (
    LIKE_ESCAPE,
    cents_at_least,
    cents_at_most,
    like_literal,
)
from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import BookRow, GenreRow, book_search, table_of
from bookshop_core.catalog.entities import MAX_GENRE_DEPTH, SortDirection
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.search.analysis import FIELD_NAMES, FieldName, SearchDocument
from bookshop_core.search.entities import (
    FIELD_WEIGHTS,
    PRICE_BUCKETS,
    Facets,
    GenreCount,
    PriceBucket,
    ScoredId,
    SearchFilters,
    SearchOrder,
    SearchSort,
    VocabularyWord,
)
from bookshop_core.search.query import Clause, Phrase, Prefix, Term, TextQuery
from bookshop_core.search.use_cases import levenshtein

__all__ = [
    "FIELD_OFFSETS",
    "MAX_POSITION",
    "SqlSearchIndex",
    "fts5_match",
    "fts5_row",
    "put_statement",
    "tsquery_text",
    "tsvector_literal",
]

#: Documents per statement when writing the index.
BATCH_SIZE: Final = 500

#: The fields whose matches make the upper tiers of a relevance page (see :func:`_score`).
_TITLE_AUTHOR: Final[tuple[FieldName, ...]] = ("title", "author")
#: The score of a match whose must clauses are all in its description alone. The tiers rely
#: on it being below every other field's weight.
_DESCRIPTION_ONLY: Final = literal_column(str(FIELD_WEIGHTS["description"]), Integer())
assert FIELD_WEIGHTS["description"] < min(FIELD_WEIGHTS["title"], FIELD_WEIGHTS["author"])

_books: Final = table_of(BookRow)
_genres: Final = table_of(GenreRow)

# -- PostgreSQL: tsvector documents and tsquery text ----------------------------------------

#: Where each field's positions start in a PostgreSQL document (1-based), and its weight.
#: Fields are 1000 positions apart and each is clamped short of the next one's start, so no
#: phrase can run from one field into the next.
FIELD_OFFSETS: Final[dict[FieldName, int]] = {"title": 1, "author": 1001, "description": 2001}
_FIELD_WEIGHT_LETTER: Final[dict[FieldName, str]] = {
    "title": "A",
    "author": "B",
    "description": "C",
}
#: PostgreSQL's largest tsvector position (larger ones would be silently clamped to it).
MAX_POSITION: Final = 16383
_FIELD_LAST_POSITION: Final[dict[FieldName, int]] = {
    "title": FIELD_OFFSETS["author"] - 2,
    "author": FIELD_OFFSETS["description"] - 2,
    "description": MAX_POSITION,
}
#: Surface words are indexed as ``=word``, apart from the stems (which never start with ``=``).
_WORD_MARK: Final = "="
#: A lexeme no document holds (every indexed word is non-empty): what an empty token renders
#: as, so that it matches nothing, like an absent word.
_NOTHING: Final = "'='"


def _clean(token: str) -> str:
    """``token`` without NUL (no PostgreSQL text can hold it; the analyzer never emits it, and
    documents and queries drop it alike)."""
    return token.replace("\x00", "")


def _quoted_lexeme(lexeme: str) -> str:
    """A lexeme quoted for tsvector/tsquery input: ``'...'`` with ``'`` and ``\\`` doubled
    (tsvector input also treats a backslash as an escape)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(document: SearchDocument) -> str:
    """The PostgreSQL tsvector text of ``document`` (cast to ``tsvector`` when stored).

    Each stem and each ``=``-marked surface word lists its positions with the field's
    weight letter: ``'=run':1A 'run':1A,2003C``.
    """
    positions: dict[str, list[str]] = {}
    for field in document.fields:
        first, last = FIELD_OFFSETS[field.name], _FIELD_LAST_POSITION[field.name]
        weight = _FIELD_WEIGHT_LETTER[field.name]
        for index, (lexeme, word) in enumerate(zip(field.lexemes, field.words, strict=True)):
            position = f"{min(first + index, last)}{weight}"
            for entry in (_clean(lexeme), _WORD_MARK + _clean(word)):
                if entry and entry != _WORD_MARK:
                    positions.setdefault(entry, []).append(position)
    return " ".join(
        f"{_quoted_lexeme(entry)}:{','.join(places)}" for entry, places in positions.items()
    )


def _tsquery_lexeme(lexeme: str, weight: str, *, prefix: bool = False) -> str:
    cleaned = _clean(lexeme)
    if not cleaned or cleaned == _WORD_MARK:
        return _NOTHING
    star = "*" if prefix else ""
    suffix = f":{star}{weight}" if star or weight else ""
    return _quoted_lexeme(cleaned) + suffix


def _tsquery_clause(clause: Clause, weight: str = "") -> str:
    """One clause as tsquery text, restricted to the fields of ``weight`` (letters) if any."""
    if isinstance(clause, Term):
        return _tsquery_lexeme(clause.lexeme, weight)
    if isinstance(clause, Prefix):
        word = _clean(clause.word)
        surface = _tsquery_lexeme(_WORD_MARK + word, weight, prefix=True) if word else _NOTHING
        return f"({surface} | {_tsquery_lexeme(clause.lexeme, weight)})"
    lexemes = [_tsquery_lexeme(lexeme, weight) for lexeme in clause.lexemes]
    return "(" + " <-> ".join(lexemes) + ")"


def tsquery_text(query: TextQuery, field: FieldName | Sequence[FieldName] | None = None) -> str:
    """The tsquery text of ``query`` (cast to ``tsquery`` in the statement).

    Args:
        query: The parsed query.
        field: ``None``: the whole query (every must clause, no must_not clause, in any
            field); a field name, or several: whether SOME must clause occurs in that field
            (in one of those fields), for the score.
    """
    if field is not None:
        fields = (field,) if isinstance(field, str) else field
        weight = "".join(_FIELD_WEIGHT_LETTER[name] for name in fields)
        return " | ".join(f"({_tsquery_clause(c, weight)})" for c in query.must)
    parts = [f"({_tsquery_clause(c)})" for c in query.must]
    parts += [f"!({_tsquery_clause(c)})" for c in query.must_not]
    return " & ".join(parts)


# -- SQLite: FTS5 rows and MATCH expressions -----------------------------------------------

_FTS: Final = "book_search_fts"
_WORDS_SUFFIX: Final = "_words"
_fts: Final = table(
    _FTS,
    column("rowid", Integer()),
    *(column(name, String()) for name in FIELD_NAMES),
    *(column(name + _WORDS_SUFFIX, String()) for name in FIELD_NAMES),
)


def fts5_row(document: SearchDocument) -> dict[str, Any]:
    """The ``book_search_fts`` row of ``document``: ``rowid``, each field's stems and each
    field's surface words, as space-joined tokens in position order.

    The analyzer's tokens are runs of letters and digits, which the ``unicode61`` tokeniser
    keeps whole, so FTS5 positions are the analyzer's positions.
    """
    row: dict[str, Any] = {"rowid": document.book_id}
    for name in FIELD_NAMES:
        field = document.field(name)  # words and lexemes in position order
        row[name] = " ".join(map(_clean, field.lexemes))
        row[name + _WORDS_SUFFIX] = " ".join(map(_clean, field.words))
    return row


def _fts5_string(token: str) -> str:
    """``token`` as an FTS5 string: double-quoted, ``"`` doubled. Inside quotes nothing is
    an operator (``AND``, ``*``, ``:``, ``NEAR``... are text), and an empty string matches
    nothing."""
    return '"' + _clean(token).replace('"', '""') + '"'


def _columns(fields: Sequence[FieldName], *, words: bool) -> str:
    return "{" + " ".join(f + _WORDS_SUFFIX if words else f for f in fields) + "}"


def _fts5_clause(clause: Clause, fields: Sequence[FieldName]) -> str:
    """One clause as an FTS5 expression over the columns of ``fields``."""
    stems = _columns(fields, words=False)
    if isinstance(clause, Term):
        return f"({stems} : {_fts5_string(clause.lexeme)})"
    if isinstance(clause, Prefix):
        exact = f"{stems} : {_fts5_string(clause.lexeme)}"
        if not _clean(clause.word):
            return f"({exact})"  # an empty prefix would match every word
        surface = f"{_columns(fields, words=True)} : {_fts5_string(clause.word)}*"
        return f"({surface} OR {exact})"
    return f"({stems} : " + " + ".join(_fts5_string(lex) for lex in clause.lexemes) + ")"


def fts5_match(query: TextQuery, field: FieldName | Sequence[FieldName] | None = None) -> str:
    """The FTS5 MATCH expression of ``query``.

    Args:
        query: The parsed query.
        field: ``None``: the whole query (every must clause, no must_not clause, in any
            field); a field name, or several: whether SOME must clause occurs in that field
            (in one of those fields).
    """
    if field is not None:
        fields = (field,) if isinstance(field, str) else tuple(field)
        return " OR ".join(_fts5_clause(c, fields) for c in query.must)
    must = " AND ".join(_fts5_clause(c, FIELD_NAMES) for c in query.must)
    if not query.must_not:
        return must
    must_not = " OR ".join(_fts5_clause(c, FIELD_NAMES) for c in query.must_not)
    return f"({must}) NOT ({must_not})"


# -- statements ----------------------------------------------------------------------------


class _Shape(NamedTuple):
    """Everything that decides a search statement's SQL (not the parameters' values)."""

    dialect: str
    text: bool
    phrase: bool
    genre: bool
    author: bool
    min_price: bool
    max_price: bool
    in_stock: bool
    sort: SearchSort
    direction: SortDirection

    @property
    def needs_books(self) -> bool:
        """Whether the statement reads the books table (filters, or a sort by its columns)."""
        filtered = self.genre or self.author or self.min_price or self.max_price or self.in_stock
        return filtered or not self.text or self.sort is not SearchSort.RELEVANCE

    @property
    def tiered(self) -> bool:
        """Whether the page is cut by tiers (see :func:`_tiered_page_sqlite`): an SQLite
        relevance page of a text query without filters or phrases. With filters, joining every
        match to its book for the total costs more than the scores it saves; a phrase holds
        few books, and testing it per field costs more than scoring them all."""
        return self.dialect == "sqlite" and not self.needs_books and not self.phrase


def _shape_and_parameters(
    dialect: str, query: TextQuery | None, filters: SearchFilters, order: SearchOrder | None
) -> tuple[_Shape, dict[str, Any]]:
    """The statement shape of a search, and its parameters (the catalog listing's filter
    semantics: sub-genres included, author a literal case-insensitive substring, inclusive
    prices in whole cents)."""
    parameters: dict[str, Any] = {}
    if query is not None:
        render = tsquery_text if dialect == "postgresql" else fts5_match
        parameters["q"] = render(query)
        for name in FIELD_NAMES:
            parameters[f"q_{name}"] = render(query, name)
        title_author = render(query, _TITLE_AUTHOR)
        if dialect == "postgresql":
            parameters["q_title_author"] = title_author
        else:
            # The matches with some must clause in the title or the author (the best tiers of
            # a relevance page), and those of them with one in the description too. A query
            # of one clause matches every book holding it in its title or author: no need to
            # test the whole query again.
            alone = len(query.must) == 1 and not query.must_not
            upper = title_author if alone else f"({parameters['q']}) AND ({title_author})"
            parameters["q_title_author"] = upper
            parameters["q_description_upper"] = f"({upper}) AND ({parameters['q_description']})"
    if filters.genre_id is not None:
        parameters["genre_id"] = filters.genre_id
    if filters.author is not None:
        parameters["author"] = like_literal(filters.author.casefold())
    if filters.min_price is not None:
        parameters["min_cents"] = cents_at_least(filters.min_price)
    if filters.max_price is not None:
        parameters["max_cents"] = cents_at_most(filters.max_price)
    order = order or SearchOrder()
    shape = _Shape(
        dialect=dialect,
        text=query is not None,
        phrase=query is not None and any(isinstance(c, Phrase) for c in query.must),
        genre=filters.genre_id is not None,
        author=filters.author is not None,
        min_price=filters.min_price is not None,
        max_price=filters.max_price is not None,
        in_stock=filters.in_stock,
        sort=order.sort,
        direction=order.direction,
    )
    return shape, parameters


class _TsqueryText(TypeDecorator[str]):
    """tsquery text bound as a ``tsquery`` parameter (rendered as a quoted string literal
    when a statement is compiled with its values, as for ``EXPLAIN``)."""

    impl = TSQUERY
    cache_ok = True

    def process_literal_param(self, value: str | None, dialect: Dialect) -> str:
        return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _tsquery(name: str) -> ColumnElement[Any]:
    """The bound parameter ``name``, sent as a ``tsquery`` (``CAST($n AS TSQUERY)``).

    Typed ``tsquery`` itself, the parameter's text is parsed once, when it is bound. A
    ``varchar`` parameter cast to ``tsquery`` would be parsed again for every row it is
    tested against once the prepared statement runs a generic plan (parameters are not
    constants there): four parses per match of a common word.
    """
    return cast(bindparam(name, type_=_TsqueryText()), TSQUERY())


def _source(shape: _Shape) -> tuple[Any, ColumnElement[int], list[ColumnElement[bool]]]:
    """The FROM clause of a search, the book id column and the conditions (text + filters)."""
    conditions: list[ColumnElement[bool]] = []
    if not shape.text:
        source: Any = _books
        book_id: ColumnElement[int] = _books.c.id
    elif shape.dialect == "postgresql":
        source, book_id = book_search, book_search.c.book_id
        conditions.append(book_search.c.document.bool_op("@@")(_tsquery("q")))
    else:
        source, book_id = _fts, _fts.c.rowid
        conditions.append(literal_column(_FTS).bool_op("MATCH")(bindparam("q")))
    if shape.text and shape.needs_books:
        source = source.join(_books, _books.c.id == book_id)
    if shape.genre:
        conditions.append(_books.c.genre_id.in_(genre_subtree_ids(bindparam("genre_id"))))
    if shape.author:
        conditions.append(_books.c.author_key.contains(bindparam("author"), escape=LIKE_ESCAPE))
    if shape.min_price:
        conditions.append(_books.c.price_cents >= bindparam("min_cents"))
    if shape.max_price:
        conditions.append(_books.c.price_cents <= bindparam("max_cents"))
    if shape.in_stock:
        conditions.append(_books.c.stock_quantity > 0)
    return source, book_id, conditions


def _matching(parameter: str) -> Any:
    """The rowids the FTS5 expression ``parameter`` matches, as an uncorrelated sub-select
    (SQLite runs it once and probes its result per row)."""
    matching = text(f"SELECT rowid FROM {_FTS} WHERE {_FTS} MATCH :{parameter}")
    return matching.columns(column("rowid", Integer()))


def _field_matches(shape: _Shape, book_id: ColumnElement[int], field: FieldName) -> Any:
    """Whether some must clause occurs in ``field`` of the current book."""
    if shape.dialect == "postgresql":
        return book_search.c.document.bool_op("@@")(_tsquery(f"q_{field}"))
    # A second MATCH, restricted to the field's columns.
    return book_id.in_(_matching(f"q_{field}"))


def _score(shape: _Shape, book_id: ColumnElement[int]) -> ColumnElement[int]:
    if not shape.text:
        return literal_column("0", Integer())
    weighted = [
        case((_field_matches(shape, book_id, name), FIELD_WEIGHTS[name]), else_=0)
        for name in FIELD_NAMES
    ]
    exact = weighted[0] + weighted[1] + weighted[2]
    # A match with no must clause in its title or author has them all in its description
    # (every must clause occurs in some field): its score is the description's weight,
    # known after one check instead of three. Most matches of a common word are such (it is
    # in far more descriptions than titles).
    if shape.dialect == "postgresql":
        upper = book_search.c.document.bool_op("@@")(_tsquery("q_title_author"))
        return case((upper, exact), else_=_DESCRIPTION_ONLY).label("score")
    if shape.phrase:
        # A phrase matches few books, and testing it per tier costs more than per field.
        return exact.label("score")
    # On SQLite the checks are sets of rowids, each built once: the upper matches, and
    # among them those with a clause in the description (far fewer than all the books with
    # one there, which the description's set would hold).
    flags = [
        case((book_id.in_(_matching(parameter)), FIELD_WEIGHTS[name]), else_=0)
        for name, parameter in (
            ("title", "q_title"),
            ("author", "q_author"),
            ("description", "q_description_upper"),
        )
    ]
    upper_set = book_id.in_(_matching("q_title_author"))
    return case((upper_set, flags[0] + flags[1] + flags[2]), else_=_DESCRIPTION_ONLY).label("score")


def _ordering(shape: _Shape, book_id: ColumnElement[int], score: ColumnElement[int]) -> list[Any]:
    """The order of a search: its sort in its direction (relevance: best first), then id."""
    listing = shape.sort.listing_sort
    if listing is None:
        return [score.desc(), book_id.asc()] if shape.text else [book_id.asc()]
    # Exactly the catalog listing's order (its keys, missing values last, then books.id,
    # which is ``book_id``: a sort by a books column always joins the books table).
    return listing_ordering(listing, shape.direction)


# Built once per shape, like the catalog's listing statements (see catalog.py's _GET_BOOK).
@functools.cache
def _search_statements(shape: _Shape) -> tuple[Select[Any], Select[Any]]:
    """The page statement (``book_id``, ``score``, with a text query the total of the matches
    ``total``, and the book's :data:`BOOK_COLUMNS`) and the count statement of a search of
    this shape."""
    source, book_id, conditions = _source(shape)
    score = _score(shape, book_id)
    count = select(func.count()).select_from(source).where(*conditions)
    if shape.text and shape.dialect == "postgresql":
        page = _scored_page_postgres(shape, source, book_id, conditions, score)
    elif shape.tiered:
        page = _tiered_page_sqlite(shape, source, book_id, conditions, count)
    else:
        page = _scored_page(shape, source, book_id, conditions, score, count)
    return _with_books(shape, page), count


def _with_books(shape: _Shape, page: Select[Any]) -> Select[Any]:
    """``page``'s rows with their books' columns, in the page's order: the search reads the
    page's books in the page's statement rather than in a second one (a round trip, and most
    of a rare word's time)."""
    ranked = page.subquery("ranked_page")
    total = [ranked.c.total] if shape.text else []
    listing = shape.sort.listing_sort
    order: list[Any]
    if listing is not None:
        order = listing_ordering(listing, shape.direction)  # on the joined books' columns
    elif shape.text:
        order = [ranked.c.score.desc(), ranked.c.book_id.asc()]
    else:
        order = [ranked.c.book_id.asc()]
    return (
        select(ranked.c.book_id, ranked.c.score, *total, *BOOK_COLUMNS)
        .select_from(ranked.outerjoin(_books, _books.c.id == ranked.c.book_id))
        .order_by(*order)
    )


def _scored_page(
    shape: _Shape,
    source: Any,
    book_id: ColumnElement[int],
    conditions: list[ColumnElement[bool]],
    score: ColumnElement[int],
    count: Select[Any],
) -> Select[Any]:
    """The page statement of a listing, or of an SQLite text search in a listing's order:
    every match scored, then sorted and cut."""
    columns: list[Any] = [book_id.label("book_id"), score.label("score")]
    if shape.text:
        # The total rides on the page's rows (the count statement runs only for a page past
        # the end, which returns no row to read it from). On the full-text table alone, an
        # uncorrelated sub-select, which SQLite runs once: counting FTS5 matches is cheap,
        # and a window count would copy every scored match into a temporary table before
        # the sort (a quarter of a common word's time). Joined to the books, a window count:
        # the sub-select would look every match up in the books a second time.
        total = (
            func.count().over() if shape.needs_books else count.correlate(None).scalar_subquery()
        )
        columns.append(total.label("total"))
    return (
        select(*columns)
        .select_from(source)
        .where(*conditions)
        .order_by(*_ordering(shape, book_id, score))
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )


def _tiered_page_sqlite(
    shape: _Shape,
    source: Any,
    book_id: ColumnElement[int],
    conditions: list[ColumnElement[bool]],
    count: Select[Any],
) -> Select[Any]:
    """The relevance page of an SQLite text search, without scoring every match.

    A match scores at least the author's weight when some must clause occurs in its title or
    author, and exactly the description's weight otherwise (the clauses are then all in its
    description). So the page is cut from two parts: the *upper* matches (clause in title or
    author: few, even for a common word) scored exactly, and the first ``offset + limit`` of
    the others in rowid order, which FTS5 yields natively, so the scan stops early. The total
    is an uncorrelated count of the matches, which SQLite runs once (FTS5 counts a term's
    matches without reading them).
    """
    (text_condition, *filters) = conditions
    upper_condition = literal_column(_FTS).bool_op("MATCH")(bindparam("q_title_author"))
    flags = [
        case((book_id.in_(_matching(parameter)), FIELD_WEIGHTS[name]), else_=0)
        for name, parameter in (
            ("title", "q_title"),
            ("author", "q_author"),
            ("description", "q_description_upper"),
        )
    ]
    upper = (
        select(book_id.label("book_id"), (flags[0] + flags[1] + flags[2]).label("score"))
        .select_from(source)
        .where(upper_condition, *filters)
        .cte("upper_matches")
    )
    limit = bindparam("limit", type_=Integer())
    offset = bindparam("offset", type_=Integer())
    lower = (
        select(book_id.label("book_id"), _DESCRIPTION_ONLY.label("score"))
        .select_from(source)
        .where(text_condition, *filters, book_id.not_in(select(upper.c.book_id)))
        .order_by(book_id)
        .limit(limit + offset)
        .subquery("lower_matches")
    )
    ranked = union_all(
        select(upper.c.book_id, upper.c.score), select(lower.c.book_id, lower.c.score)
    ).subquery("ranked")
    page = (
        select(ranked.c.book_id, ranked.c.score)
        .order_by(ranked.c.score.desc(), ranked.c.book_id.asc())
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    # The total on the cut page: on the ranked matches, SQLite would copy the count into
    # both halves of the union and run it twice.
    total = count.correlate(None).scalar_subquery()
    return select(page.c.book_id, page.c.score, total.label("total")).order_by(
        page.c.score.desc(), page.c.book_id.asc()
    )


def _scored_page_postgres(
    shape: _Shape,
    source: Any,
    book_id: ColumnElement[int],
    conditions: list[ColumnElement[bool]],
    score: ColumnElement[int],
) -> Select[Any]:
    """The page statement of a PostgreSQL text search: the matches with their scores (and sort
    key) in a subquery, then the window count, the order and the page over it.

    The subquery's ``OFFSET 0`` keeps the planner from merging it into the outer query: the
    scores are then computed, reading each match's document, before the window count buffers
    the matches, so the buffer holds ids and scores instead of every match's document (which
    made it spill to disk for a common word).
    """
    columns: list[Any] = [book_id.label("book_id"), score.label("score")]
    listing = shape.sort.listing_sort
    nullable = False
    if listing is not None:
        key, nullable = listing_sort_key(listing)
        columns.append(key.label("sort_key"))
    matches = (
        select(*columns)
        .select_from(source)
        .where(*conditions)
        .offset(literal_column("0", Integer()))
        .subquery("matches")
    )
    order: list[Any]
    if listing is None:
        order = [matches.c.score.desc(), matches.c.book_id.asc()]
    else:
        # The catalog listing's rule (see catalog.listing_ordering) over the subquery's sort key.
        key_column = matches.c.sort_key
        ordered = key_column.desc() if shape.direction is SortDirection.DESC else key_column.asc()
        order = [ordered.nulls_last() if nullable else ordered, matches.c.book_id.asc()]
    return (
        select(matches.c.book_id, matches.c.score, func.count().over().label("total"))
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )


def _genre_roots() -> Any:
    """A CTE ``genre_roots(id, root_id, level)``: every genre reachable from a top-level one
    within ``MAX_GENRE_DEPTH`` levels, with its top-level genre."""
    one: ColumnElement[int] = literal_column("1", Integer())
    roots = (
        select(_genres.c.id, _genres.c.id.label("root_id"), one.label("level"))
        .where(_genres.c.parent_id.is_(None))
        .cte("genre_roots", recursive=True)
    )
    return roots.union_all(
        select(_genres.c.id, roots.c.root_id, roots.c.level + one).where(
            _genres.c.parent_id == roots.c.id,
            roots.c.level < literal_column(str(MAX_GENRE_DEPTH)),
        )
    )


@functools.cache
def _facets_statement(shape: _Shape) -> Select[Any]:
    """One statement for every facet: a row per top-level genre (``NULL`` for the results
    without one) with its count, in-stock count and per-bucket counts; summing the rows gives
    the in-stock and price totals.

    The matches are counted per genre first, then the few genre rows are mapped to their
    top-level genre: joining every match to the genre tree cost a quarter more."""
    source, book_id, conditions = _source(shape._replace(sort=SearchSort.TITLE))
    buckets = []
    for index, (low, high) in enumerate(PRICE_BUCKETS):
        bounds: list[ColumnElement[bool]] = []
        if low is not None:
            bounds.append(_books.c.price_cents >= cents_at_least(low))
        if high is not None:
            bounds.append(_books.c.price_cents < cents_at_least(high))
        buckets.append(func.count(case((and_(*bounds), 1))).label(f"bucket_{index}"))
    per_genre = (
        select(
            _books.c.genre_id,
            func.count(book_id).label("books"),
            func.count(case((_books.c.stock_quantity > 0, 1))).label("in_stock"),
            *buckets,
        )
        .select_from(source)
        .where(*conditions)
        .group_by(_books.c.genre_id)
        .subquery("per_genre")
    )
    roots = _genre_roots()
    root_genre = _genres.alias("root_genre")
    counts = ["books", "in_stock", *(f"bucket_{i}" for i in range(len(PRICE_BUCKETS)))]
    return (
        select(
            roots.c.root_id,
            root_genre.c.name,
            root_genre.c.name_key,
            # A sum of counts is a numeric on PostgreSQL: back to an integer.
            *(cast(func.sum(per_genre.c[name]), Integer()).label(name) for name in counts),
        )
        .select_from(
            per_genre.outerjoin(roots, roots.c.id == per_genre.c.genre_id).outerjoin(
                root_genre, root_genre.c.id == roots.c.root_id
            )
        )
        .group_by(roots.c.root_id, root_genre.c.name, root_genre.c.name_key)
    )


_PG_PUT: Final = (
    pg_insert(book_search)
    .values(
        book_id=bindparam("book_id"),
        document=cast(bindparam("document", type_=String()), TSVECTOR()),
    )
    .on_conflict_do_update(
        index_elements=[book_search.c.book_id],
        set_={"document": literal_column("excluded.document")},
    )
)
_PG_REMOVE: Final = delete(book_search).where(
    book_search.c.book_id.in_(bindparam("book_ids", expanding=True))
)
#: FTS5 has no ON CONFLICT, but honours OR REPLACE on its rowid: one statement replaces.
_FTS_PUT: Final = insert(_fts).prefix_with("OR REPLACE")
_FTS_REMOVE: Final = delete(_fts).where(_fts.c.rowid.in_(bindparam("book_ids", expanding=True)))

#: PostgreSQL's vocabulary: the ``=``-marked surface words in a code-point range, with the
#: number of documents holding each. ``ts_stat`` reads every document: it runs only for a
#: query that found nothing.
_PG_VOCABULARY: Final = text(
    "SELECT substr(word, 2) AS word, ndoc AS documents "
    "FROM ts_stat('SELECT document FROM book_search') "
    'WHERE word COLLATE "C" >= :low AND word COLLATE "C" <= :high '
    "AND length(word) BETWEEN :min_length + 1 AND :max_length + 1"
)
#: SQLite's candidate words: the surface-word columns' vocabulary in a code-point range.
_FTS_VOCABULARY: Final = text(
    "SELECT DISTINCT term FROM book_search_vocab "
    "WHERE term >= :low AND term <= :high "
    "AND col IN ('title_words', 'author_words', 'description_words') "
    "AND length(term) BETWEEN :min_length AND :max_length"
)
#: The highest code point: ``first + _LAST_CHAR`` sorts after every word starting with
#: ``first`` (the next code point could be a lone surrogate, which no driver encodes).
_LAST_CHAR: Final = "\U0010ffff"


def put_statement(
    dialect: str, documents: Sequence[SearchDocument]
) -> tuple[Executable, list[dict[str, Any]]]:
    """The statement and its rows that index ``documents`` (distinct books), replacing what was
    indexed for them, on ``dialect`` (``"postgresql"`` or ``"sqlite"``).

    ``SqlSearchIndex.put`` runs it; so does migration 0004, to index the books already in a
    database it upgrades.
    """
    if dialect == "postgresql":
        return _PG_PUT, [{"book_id": d.book_id, "document": tsvector_literal(d)} for d in documents]
    return _FTS_PUT, [fts5_row(d) for d in documents]


class SqlSearchIndex(SqlRepository):
    """The search index of an SQL store (see the module docstring), in the unit of work's
    transaction: it commits or rolls back with the catalog change that updated it."""

    @property
    def _postgres(self) -> bool:
        return self._dialect_name == "postgresql"

    async def put(self, documents: Sequence[SearchDocument]) -> None:
        unique = list({document.book_id: document for document in documents}.values())
        for start in range(0, len(unique), BATCH_SIZE):
            batch = unique[start : start + BATCH_SIZE]
            await self._execute(*put_statement(self._dialect_name, batch))
            for statement in put_postings_statements(self._dialect_name, batch):
                await self._execute(*statement)

    async def remove(self, book_ids: Sequence[int]) -> None:
        wanted = sorted(set(book_ids))
        statement = _PG_REMOVE if self._postgres else _FTS_REMOVE
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = {"book_ids": wanted[start : start + BATCH_SIZE]}
            await self._execute(statement, chunk)
            await self._execute(REMOVE_POSTINGS, chunk)

    async def clear(self) -> None:
        await self._execute(delete(book_search) if self._postgres else delete(_fts))
        await self._execute(CLEAR_POSTINGS)

    async def search(
        self,
        query: TextQuery | None,
        filters: SearchFilters,
        order: SearchOrder,
        page: PageRequest,
    ) -> Page[ScoredId]:
        shape, parameters = _shape_and_parameters(self._dialect_name, query, filters, order)
        page_statement, count_statement = _search_statements(shape)
        parameters.update(limit=page.limit, offset=page.offset)
        rows = (await self._execute(page_statement, parameters)).all()
        items = [
            ScoredId(row.book_id, int(row.score), None if row.id is None else book_from_row(row))
            for row in rows
        ]
        if rows and shape.text:
            total: int = rows[0].total
        elif not rows and page.offset == 0:
            total = 0
        else:
            total = (await self._execute(count_statement, parameters)).scalar_one()
        return Page.of(items, total, page)

    async def facets(self, query: TextQuery | None, filters: SearchFilters) -> Facets:
        shape, parameters = _shape_and_parameters(self._dialect_name, query, filters, None)
        rows = (await self._execute(_facets_statement(shape), parameters)).all()
        genres = sorted(
            (row for row in rows if row.root_id is not None),
            key=lambda row: (-row.books, row.name_key, row.root_id),
        )
        prices = tuple(
            PriceBucket(low, high, sum(getattr(row, f"bucket_{index}") for row in rows))
            for index, (low, high) in enumerate(PRICE_BUCKETS)
        )
        return Facets(
            genres=tuple(GenreCount(row.root_id, row.name, row.books) for row in genres),
            in_stock=sum(row.in_stock for row in rows),
            prices=prices,
        )

    async def vocabulary(self, near: str, max_distance: int) -> Sequence[VocabularyWord]:
        near = _clean(near)
        if not near:
            return []
        first = near[0]
        lengths = {
            "min_length": max(1, len(near) - max_distance),
            "max_length": len(near) + max_distance,
        }
        if self._postgres:
            parameters = {"low": _WORD_MARK + first, "high": _WORD_MARK + first + _LAST_CHAR}
            rows = await self._execute(_PG_VOCABULARY, {**parameters, **lengths})
            return [VocabularyWord(row.word, row.documents) for row in rows]
        rows = await self._execute(
            _FTS_VOCABULARY, {"low": first, "high": first + _LAST_CHAR, **lengths}
        )
        # FTS5 counts documents per column; a word's books are counted exactly below, for the
        # few candidates close enough to matter.
        close = [
            row.term for row in rows if levenshtein(near, row.term, max_distance) <= max_distance
        ]
        return await self._fts_document_counts(close)

    async def _fts_document_counts(self, words: Sequence[str]) -> list[VocabularyWord]:
        """How many books hold each of ``words`` as a surface word (one statement per
        :data:`BATCH_SIZE` words)."""
        counted: list[VocabularyWord] = []
        for start in range(0, len(words), BATCH_SIZE):
            chunk = words[start : start + BATCH_SIZE]
            parts = [
                select(
                    literal_column(str(index), Integer()).label("n"),
                    select(func.count())
                    .select_from(_fts)
                    .where(literal_column(_FTS).bool_op("MATCH")(bindparam(f"m{index}")))
                    .scalar_subquery()
                    .label("documents"),
                )
                for index in range(len(chunk))
            ]
            parameters = {
                f"m{index}": f"{_columns(FIELD_NAMES, words=True)} : {_fts5_string(word)}"
                for index, word in enumerate(chunk)
            }
            statement = union_all(*parts) if len(parts) > 1 else parts[0]
            for row in await self._execute(statement, parameters):
                counted.append(VocabularyWord(chunk[row.n], row.documents))
        return counted
