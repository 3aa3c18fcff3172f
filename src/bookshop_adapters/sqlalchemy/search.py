"""The search index on SQL: a table of postings, plus PostgreSQL ``tsvector`` under a GIN
index or SQLite FTS5 for phrases.

Every table stores what the core's analyzer produced in Python, and every statement renders the
parsed query model (never the typed string), so they match exactly the lexemes the memory index
matches.

* ``search_postings`` (both dialects): one row per book and distinct lexeme or folded surface
  word of the book (``term``), with the fields it occurs in as a lexeme (``fields``) and as a
  surface word (``word_fields``), as bits: title 4, author 2, description 1 (the core's field
  weights), and copies of the book's ``genre_id``, ``price_cents`` and ``in_stock`` (kept by
  triggers on ``books``, migration 0009). Its primary key is ``(term, book_id)`` and holds
  every column (PostgreSQL ``INCLUDE``, SQLite ``WITHOUT ROWID``), so that a word's matches,
  their scores, their filters, their count and their facets are one index range, read without
  touching a table row: what makes a word found in a quarter of the books cheap.
* PostgreSQL, table ``book_search(book_id, document tsvector)`` under a GIN index: the stems of
  a book at their positions, weighted by field (title ``A``, author ``B``, description ``C``).
  The fields' positions are kept apart (title from 1, author from 1001, description from 2001)
  so that a phrase never spans two fields.
* SQLite, FTS5 table ``book_search_fts`` with ``rowid`` = book id: stems in ``title``,
  ``author``, ``description`` as space-joined tokens (for phrases), and surface words in
  ``title_words``... (whose fts5vocab table gives SQLite's "did you mean" its candidates).

A must clause is a relation ``(book_id, mask)``: a ``Term`` the postings of its lexeme; a
``Prefix`` the postings of the surface words in its code-point range and of its lexeme, OR-ed
per book (alone on PostgreSQL, one row per book: see ``_first_words``); a ``Phrase`` the books
the full-text index finds it in, with a check per field. A match is in every must relation and
in no must_not one; its score is the OR of its masks, which is the core's formula (4 if some
must clause occurs in the title, + 2 for the author, + 1 for the description); ties by id
ascending.

Statements: ``search`` is one statement (the page with its books and the exact total) plus a
count only when the page is past the end; ``facets`` is one statement; ``put`` and ``remove``
a bounded number per batch of :data:`BATCH_SIZE` books.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final, Literal, NamedTuple

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
    or_,
    select,
    table,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Dialect

from bookshop_adapters.sqlalchemy._postings import (
    CLEAR_POSTINGS,
    PREFIX_LENGTHS,
    PREFIX_MASK,
    REMOVE_POSTINGS,
    prefix_shift,
    put_postings,
    share_books,
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
from bookshop_adapters.sqlalchemy.tables import (
    BookRow,
    GenreRow,
    book_search,
    search_postings,
    table_of,
)
from bookshop_core.catalog.entities import MAX_GENRE_DEPTH, BookSort, SortDirection
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
    "fts5_phrase",
    "fts5_row",
    "put_statement",
    "tsquery_phrase",
    "tsvector_literal",
]

#: Documents per statement when writing the index.
BATCH_SIZE: Final = 500

# A score is the OR of its fields' bits, which is the core's weighted sum only while the
# weights are distinct bits.
assert sorted(FIELD_WEIGHTS.values()) == [1, 2, 4]

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
#: A lexeme no document holds (the analyzer's tokens are letters and digits): what an empty
#: token renders as, so that it matches nothing, like an absent word.
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

    Each stem lists its positions with the field's weight letter: ``'run':1A,2003C``. Only
    phrases are matched here (words and prefixes read the postings), so only stems are held.
    """
    positions: dict[str, list[str]] = {}
    for field in document.fields:
        first, last = FIELD_OFFSETS[field.name], _FIELD_LAST_POSITION[field.name]
        weight = _FIELD_WEIGHT_LETTER[field.name]
        for index, lexeme in enumerate(field.lexemes):
            if entry := _clean(lexeme):
                positions.setdefault(entry, []).append(f"{min(first + index, last)}{weight}")
    return " ".join(
        f"{_quoted_lexeme(entry)}:{','.join(places)}" for entry, places in positions.items()
    )


def _tsquery_lexeme(lexeme: str, weight: str) -> str:
    cleaned = _clean(lexeme)
    if not cleaned:
        return _NOTHING
    return _quoted_lexeme(cleaned) + (f":{weight}" if weight else "")


def tsquery_phrase(phrase: Phrase, field: FieldName | None = None) -> str:
    """The tsquery text of ``phrase`` (its stems adjacent, in order: ``<->``), in any field or
    in ``field`` only (its weight letter on every stem)."""
    weight = _FIELD_WEIGHT_LETTER[field] if field is not None else ""
    return "(" + " <-> ".join(_tsquery_lexeme(lexeme, weight) for lexeme in phrase.lexemes) + ")"


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


def fts5_phrase(phrase: Phrase, fields: Sequence[FieldName] = FIELD_NAMES) -> str:
    """The FTS5 expression of ``phrase`` (its stems adjacent, in order: ``+``) in the stem
    columns of ``fields``."""
    stems = " + ".join(_fts5_string(lexeme) for lexeme in phrase.lexemes)
    return f"({_columns(fields, words=False)} : {stems})"


# -- statements ----------------------------------------------------------------------------

#: The postings (see the module docstring); each clause reads them under its own alias.
_postings: Final = search_postings
#: The book facts a postings row carries, for the filters and the facets.
_FACTS: Final = ("genre_id", "price_cents", "in_stock")

ClauseKind = Literal["term", "prefix", "phrase"]


def _kind(clause: Clause) -> ClauseKind:
    if isinstance(clause, Term):
        return "term"
    return "prefix" if isinstance(clause, Prefix) else "phrase"


class _Shape(NamedTuple):
    """Everything that decides a search statement's SQL (not the parameters' values)."""

    dialect: str
    must: tuple[ClauseKind, ...]  # empty: no text query (a plain filtered listing)
    must_not: tuple[ClauseKind, ...]
    genre: bool
    author: bool
    min_price: bool
    max_price: bool
    in_stock: bool
    sort: SearchSort
    direction: SortDirection
    #: A lone prefix read as one row per book (:func:`_first_words`): PostgreSQL, a prefix of
    #: at most ``PREFIX_LENGTHS`` characters.
    first_words: bool = False

    @property
    def text(self) -> bool:
        return bool(self.must)

    @property
    def filtered(self) -> bool:
        """Whether a filter on the books' genre, price or stock applies."""
        return self.genre or self.min_price or self.max_price or self.in_stock


def _clause_parameters(dialect: str, name: str, clause: Clause, parameters: dict[str, Any]) -> None:
    """The parameters of one clause, named after ``name`` (see :func:`_text_matches`)."""
    if isinstance(clause, Term):
        parameters[name] = _clean(clause.lexeme)
    elif isinstance(clause, Prefix):
        word = _clean(clause.word)
        parameters[name] = _clean(clause.lexeme)
        # Every word starting with ``word`` sorts in [word, word + the highest code point);
        # an empty word (no such query reaches here) would match nothing, not everything.
        parameters[f"{name}_low"] = word
        parameters[f"{name}_high"] = word + _LAST_CHAR if word else word
    elif dialect == "postgresql":
        parameters[name] = tsquery_phrase(clause)
        for field in FIELD_NAMES:
            parameters[f"{name}_{field}"] = tsquery_phrase(clause, field)
    else:
        parameters[name] = fts5_phrase(clause)
        for field in FIELD_NAMES:
            parameters[f"{name}_{field}"] = fts5_phrase(clause, (field,))
        # The phrase's first and last words (its postings tell most matches' field).
        parameters[f"{name}_l0"] = _clean(clause.lexemes[0])
        parameters[f"{name}_l1"] = _clean(clause.lexemes[-1])


def _shape_and_parameters(
    dialect: str, query: TextQuery | None, filters: SearchFilters, order: SearchOrder | None
) -> tuple[_Shape, dict[str, Any]]:
    """The statement shape of a search, and its parameters (the catalog listing's filter
    semantics: sub-genres included, author a literal case-insensitive substring, inclusive
    prices in whole cents)."""
    parameters: dict[str, Any] = {}
    must: tuple[Clause, ...] = query.must if query is not None else ()
    must_not: tuple[Clause, ...] = query.must_not if query is not None else ()
    for index, clause in enumerate(must):
        _clause_parameters(dialect, f"m{index}", clause, parameters)
    for index, clause in enumerate(must_not):
        _clause_parameters(dialect, f"n{index}", clause, parameters)
    if filters.genre_id is not None:
        parameters["genre_id"] = filters.genre_id
    if filters.author is not None:
        parameters["author"] = like_literal(filters.author.casefold())
    if filters.min_price is not None:
        parameters["min_cents"] = cents_at_least(filters.min_price)
    if filters.max_price is not None:
        parameters["max_cents"] = cents_at_most(filters.max_price)
    order = order or SearchOrder()
    first_words = (
        dialect == "postgresql"
        and len(must) == 1
        and isinstance(must[0], Prefix)
        and 0 < len(parameters["m0_low"]) <= PREFIX_LENGTHS
    )
    if first_words:
        # Where prefix_fields holds the fields for a prefix of this length.
        parameters["m0_shift"] = prefix_shift(len(parameters["m0_low"]))
    shape = _Shape(
        dialect=dialect,
        must=tuple(map(_kind, must)),
        must_not=tuple(map(_kind, must_not)),
        genre=filters.genre_id is not None,
        author=filters.author is not None,
        min_price=filters.min_price is not None,
        max_price=filters.max_price is not None,
        in_stock=filters.in_stock,
        sort=order.sort,
        direction=order.direction,
        first_words=first_words,
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
    constants there).
    """
    return cast(bindparam(name, type_=_TsqueryText()), TSQUERY())


def _matching(parameter: str) -> Any:
    """The rowids the FTS5 expression ``parameter`` matches, as an uncorrelated sub-select
    (SQLite runs it once and probes its result per row)."""
    matching = text(f"SELECT rowid FROM {_FTS} WHERE {_FTS} MATCH :{parameter}")
    return matching.columns(column("rowid", Integer()))


def _phrase_books(dialect: str, name: str) -> Any:
    """The ids of the books the phrase parameter ``name`` occurs in, as a sub-select."""
    if dialect == "postgresql":
        return select(book_search.c.book_id).where(
            book_search.c.document.bool_op("@@")(_tsquery(name))
        )
    return _matching(name)


def _constant(value: int) -> ColumnElement[int]:
    """``value`` written into the statement (not a parameter: plans and EXPLAINs show it)."""
    return literal_column(str(value), Integer())


_NONE: Final = _constant(0)


def _combined(masks: Sequence[ColumnElement[int]]) -> ColumnElement[int]:
    """The bitwise OR of field masks."""
    return functools.reduce(lambda left, right: left.op("|")(right), masks)


def _bits(mask: ColumnElement[int], weight: int) -> ColumnElement[bool]:
    return mask.op("&")(_constant(weight)) != _NONE


def _aggregate_or(dialect: str, mask: ColumnElement[int]) -> ColumnElement[int]:
    """The OR of ``mask`` over a group's rows.

    SQLite has no ``bit_or``, and three aggregates (``max(mask & 4) | ...``) cost a function
    call each per row: instead each row's bits are spread into 21-bit lanes of one integer
    (description 1, author 2**21, title 2**42) and summed, once; a lane is non-zero where some
    row has its bit (a book has far fewer than 2**21 rows)."""
    if dialect == "postgresql":
        return func.bit_or(mask)
    lanes = func.sum(
        _combined(
            [
                mask.op("&")(_constant(weight)).op("<<")(_constant(_LANE * index - index))
                for index, weight in enumerate(_ASCENDING_WEIGHTS)
            ]
        )
    )
    return _combined(
        [
            case((_bits(lanes, _LANE_MASK << (_LANE * index)), _constant(weight)), else_=_NONE)
            for index, weight in enumerate(_ASCENDING_WEIGHTS)
        ]
    )


#: Bits per lane of :func:`_aggregate_or` on SQLite, and the fields' weights lowest first.
_LANE: Final = 21
_LANE_MASK: Final = (1 << _LANE) - 1
_ASCENDING_WEIGHTS: Final = sorted(FIELD_WEIGHTS.values())


def _in_range(rows: Any, name: str) -> ColumnElement[bool]:
    """Whether a postings row's term is a surface word in the prefix ``name``'s range."""
    return and_(
        rows.c.term >= bindparam(f"{name}_low"),
        rows.c.term < bindparam(f"{name}_high"),
        rows.c.word_fields != _NONE,
    )


def _is_lexeme(rows: Any, name: str) -> ColumnElement[bool]:
    """Whether a postings row is the lexeme parameter ``name``'s."""
    return and_(rows.c.term == bindparam(name), rows.c.fields != _NONE)


def _lone_prefix(dialect: str, name: str, *, facts: bool) -> Select[Any]:
    """The matches of a query that is only a prefix: one row per book holding a surface word
    in the range or the lexeme, with the OR of their fields (``book_id``, ``mask``, and with
    ``facts`` the book's :data:`_FACTS`).

    Two index ranges under one ``UNION ALL``, grouped per book: one condition ORing them would
    read the postings' table rows instead of their primary key alone. (PostgreSQL reads a
    prefix of up to ``PREFIX_LENGTHS`` characters through :func:`_first_words` instead.)"""
    both = _prefix_union(name, facts=facts).subquery(f"{name}_both")
    # Every row of a book carries the same facts: grouping by them keeps them.
    keys = [both.c.book_id, *(both.c[f] for f in _FACTS if facts)]
    return select(keys[0], _aggregate_or(dialect, both.c.mask).label("mask"), *keys[1:]).group_by(
        *keys
    )


def _prefix_union(name: str, *, facts: bool) -> Any:
    """The postings rows of the prefix ``name``, a book's possibly several: its surface words
    in the range and its lexeme, as two index ranges under ``UNION ALL`` (``book_id``,
    ``mask``, and with ``facts`` the book's :data:`_FACTS`)."""
    words = _postings.alias(f"{name}_words")
    return union_all(
        select(
            words.c.book_id,
            words.c.word_fields.label("mask"),
            *(words.c[f] for f in _FACTS if facts),
        ).where(_in_range(words, name)),
        _lexeme_rows(_postings.alias(f"{name}_stems"), name, facts=facts),
    )


def _lexeme_rows(rows: Any, name: str, *, facts: bool) -> Select[Any]:
    """The postings rows of the lexeme parameter ``name``: ``book_id``, ``mask``, and with
    ``facts`` the book's :data:`_FACTS`."""
    return select(
        rows.c.book_id, rows.c.fields.label("mask"), *(rows.c[f] for f in _FACTS if facts)
    ).where(_is_lexeme(rows, name))


def _first_words(name: str, *, facts: bool) -> Select[Any]:
    """:func:`_lone_prefix` with nothing to group, on PostgreSQL.

    Of a book's surface words in the prefix's range, only the first has the prefix's length
    set in its ``prefix_fields``, to the fields of all of them (``_postings.prefix_fields``):
    the range gives one row per book, already scored. Its lexeme's rows (a book may hold the
    lexeme through a word outside the range: ``happy`` for ``happi``) meet them in a ``FULL
    JOIN``, hashed on the smaller side. Grouping the range's rows per book instead was a third
    of the time of a short prefix (``hist`` at 100,000 books: 20,275 rows of 19,591 books;
    18 -> 13 ms). SQLite has no hash join: its ``FULL JOIN`` took 212 ms there."""
    rows = _postings.alias(f"{name}_words")
    mask = rows.c.prefix_fields.op(">>")(bindparam(f"{name}_shift", type_=Integer())).op("&")(
        _constant(PREFIX_MASK)
    )
    first = (
        select(rows.c.book_id, mask.label("mask"), *(rows.c[f] for f in _FACTS if facts))
        .where(
            rows.c.term >= bindparam(f"{name}_low"),
            rows.c.term < bindparam(f"{name}_high"),
            mask != _NONE,
        )
        .subquery(f"{name}_first")
    )
    lexeme = _lexeme_rows(_postings.alias(f"{name}_stems"), name, facts=facts).subquery(
        f"{name}_lexeme"
    )
    either = [
        func.coalesce(first.c[key], lexeme.c[key]).label(key)
        for key in ("book_id", *(_FACTS if facts else ()))
    ]
    score = func.coalesce(first.c.mask, _NONE).op("|")(func.coalesce(lexeme.c.mask, _NONE))
    return select(either[0], score.label("mask"), *either[1:]).select_from(
        first.outerjoin(lexeme, lexeme.c.book_id == first.c.book_id, full=True)
    )


def _phrase_matches(dialect: str, name: str) -> Any:
    """The books the phrase ``name`` occurs in, with the fields it occurs in (``book_id``,
    ``mask``), computed once per statement (a ``MATERIALIZED`` CTE: joined to a word's
    postings, SQLite would otherwise run the full-text match once per posting).

    PostgreSQL reads each matched document anyway (the GIN index only narrows the books
    down to those holding every word): it tests the phrase restricted to each field on it.
    On SQLite such a test is another full-text match over every book; the postings of the
    phrase's first and last words tell most matches' field without one (the phrase is in a
    field holding both words: if only one field holds both, it is there), so the per-field
    matches run only for the others (an uncorrelated ``IN`` set is built when first used).
    """
    if dialect == "postgresql":
        document = book_search.alias(f"{name}_documents")
        flags = [
            case(
                (document.c.document.bool_op("@@")(_tsquery(f"{name}_{field}")), _constant(w)),
                else_=_NONE,
            )
            for field, w in FIELD_WEIGHTS.items()
        ]
        found = select(document.c.book_id, _combined(flags).label("mask")).where(
            document.c.document.bool_op("@@")(_tsquery(name))
        )
        return found.cte(name).prefix_with("MATERIALIZED")
    matched = (
        select(_fts.c.rowid.label("book_id"))
        .select_from(_fts)
        .where(literal_column(_FTS).bool_op("MATCH")(bindparam(name)))
        .cte(f"{name}_found")
        .prefix_with("MATERIALIZED")
    )
    first = _postings.alias(f"{name}_first")
    last = _postings.alias(f"{name}_last")
    both = first.c.fields.op("&")(last.c.fields)
    checked = [
        case(
            (
                and_(_bits(both, w), matched.c.book_id.in_(_matching(f"{name}_{field}"))),
                _constant(w),
            ),
            else_=_NONE,
        )
        for field, w in FIELD_WEIGHTS.items()
    ]
    mask = case(
        (both.in_([_constant(w) for w in FIELD_WEIGHTS.values()]), both), else_=_combined(checked)
    )
    found = (
        select(matched.c.book_id, mask.label("mask"))
        .select_from(matched)
        .join(first, and_(first.c.book_id == matched.c.book_id, _is_lexeme(first, f"{name}_l0")))
        .join(last, and_(last.c.book_id == matched.c.book_id, _is_lexeme(last, f"{name}_l1")))
    )
    return found.cte(name).prefix_with("MATERIALIZED")


def _excluded(
    shape: _Shape, kind: ClauseKind, name: str, book_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """Whether the must_not clause ``name`` is absent from the book ``book_id``."""
    if kind == "phrase":
        return book_id.not_in(_phrase_books(shape.dialect, name))
    rows = _postings.alias(f"{name}_rows")
    holds = [_is_lexeme(rows, name)]
    if kind == "prefix":
        holds.append(_in_range(rows, name))
    return and_(
        *(~select(rows.c.book_id).where(rows.c.book_id == book_id, held).exists() for held in holds)
    )


def _prefix_rows(
    name: str, *, per_book: bool
) -> tuple[Any, list[ColumnElement[bool]], ColumnElement[int]]:
    """The postings rows of the prefix ``name`` (the surface words in its range, and its
    lexeme), to meet other clauses on the book id: what to join, the join's conditions beside
    the book id, and a row's mask.

    ``per_book``: the other clauses match few books (a phrase's matches), so each book's rows
    are looked up through ``ix_search_postings_book_id``. Otherwise the range is read whole,
    as two ranges of the primary key under ``UNION ALL``, and met by a hash or merge join (an
    ``OR`` of the two ranges would read the table's rows instead of the primary key's): a
    short prefix next to a phrase (``"young man" hi``) took 50-200 ms that way, a prefix next
    to a common word (``war hist``) twice as long the other way.
    """
    if not per_book:
        both = _prefix_union(name, facts=False).subquery(name)
        return both, [], both.c.mask
    rows = _postings.alias(name)
    mask = _combined(
        [
            case((_in_range(rows, name), rows.c.word_fields), else_=_NONE),
            case((_is_lexeme(rows, name), rows.c.fields), else_=_NONE),
        ]
    )
    return rows, [or_(_in_range(rows, name), _is_lexeme(rows, name))], mask


class _Text(NamedTuple):
    """The matches of a text query's must clauses: what to select them from, with which
    conditions, their book id, their score, the postings rows holding their books' facts
    (``None``: read them from ``books``), and whether the rows are grouped per book (a prefix
    met by other clauses gives a row per word of the book in its range)."""

    source: Any
    conditions: list[ColumnElement[bool]]
    book_id: ColumnElement[int]
    score: ColumnElement[int]
    fact_rows: Any
    grouped: bool


#: Which must clause a text query's matches start from: a phrase (few books, usually), else a
#: word; a prefix last (its range may hold many words).
_START_ORDER: Final[tuple[ClauseKind, ...]] = ("phrase", "term", "prefix")


def _text_matches(shape: _Shape, *, facts: bool) -> _Text:
    """How a text query's must clauses combine.

    A query of one prefix is :func:`_lone_prefix`. Otherwise the matches start from the first
    clause in :data:`_START_ORDER` and meet every other one on the book id: a word's postings
    row (by primary key), a phrase's materialised matches, a prefix's postings rows (the words
    in its range and its lexeme), grouped per book afterwards: grouping them first would
    compute the prefix over every book holding it, however few books the rest matches.
    """
    if shape.must == ("prefix",):
        if shape.first_words:
            lone = _first_words("m0", facts=facts)
        else:
            lone = _lone_prefix(shape.dialect, "m0", facts=facts)
        alone = lone.subquery("m0")
        return _Text(alone, [], alone.c.book_id, alone.c.mask, alone if facts else None, False)
    order = sorted(range(len(shape.must)), key=lambda i: _START_ORDER.index(shape.must[i]))
    source: Any = None
    book_id: Any = None
    conditions: list[ColumnElement[bool]] = []
    masks: list[ColumnElement[int]] = []
    fact_rows: Any = None
    grouped = False
    for index in order:
        kind, name = shape.must[index], f"m{index}"
        on: list[ColumnElement[bool]] = []
        if kind == "phrase":
            item: Any = _phrase_matches(shape.dialect, name)
            mask: ColumnElement[int] = item.c.mask
        elif kind == "term":
            item = _postings.alias(name)
            on.append(_is_lexeme(item, name))
            mask = item.c.fields
            fact_rows = item if fact_rows is None else fact_rows
        else:
            item, on, mask = _prefix_rows(name, per_book="phrase" in shape.must)
            grouped = True
        if source is None:
            source, book_id = item, item.c.book_id
            conditions += on
        else:
            source = source.join(item, and_(item.c.book_id == book_id, *on))
        masks.append(mask)
    score = _combined(masks)  # per row: OR-ed per book by the caller when grouped
    return _Text(source, conditions, book_id, score, fact_rows if facts else None, grouped)


def _matches(shape: _Shape, *, with_facts: bool = False) -> Select[Any]:
    """Every match of a search: ``book_id``, ``score``, for a sort by a books column
    ``sort_key``, and with ``with_facts`` the book's facts (``genre_id``, ``price_cents``,
    ``in_stock``: what the facets count).

    A text query's filters, and a sort by price, read the facts from the postings row of one
    of its words (see :func:`_text_matches`), or from ``books`` when it has none.
    """
    listing = shape.sort.listing_sort
    by_price = shape.text and listing is BookSort.PRICE
    facts_needed = with_facts or shape.filtered or by_price
    conditions: list[ColumnElement[bool]] = []
    fact_rows: Any = None
    grouped = False
    if not shape.text:
        source: Any = _books
        book_id: Any = _books.c.id
        score: ColumnElement[int] = _NONE
    else:
        found = _text_matches(shape, facts=facts_needed)
        source, book_id, score = found.source, found.book_id, found.score
        fact_rows, grouped = found.fact_rows, found.grouped
        conditions += found.conditions
        conditions += [
            _excluded(shape, kind, f"n{index}", book_id)
            for index, kind in enumerate(shape.must_not)
        ]
        sorted_by_books = listing is not None and not (by_price and fact_rows is not None)
        if shape.author or sorted_by_books or (facts_needed and fact_rows is None):
            source = source.join(_books, _books.c.id == book_id)
    facts: dict[str, Any]
    if fact_rows is not None:
        facts = {name: fact_rows.c[name] for name in _FACTS}
        stocked = facts["in_stock"] == true()
    else:
        stocked = _books.c.stock_quantity > _NONE
        facts = {
            "genre_id": _books.c.genre_id,
            "price_cents": _books.c.price_cents,
            "in_stock": stocked,
        }
    if shape.genre:
        conditions.append(facts["genre_id"].in_(genre_subtree_ids(bindparam("genre_id"))))
    if shape.author:
        conditions.append(_books.c.author_key.contains(bindparam("author"), escape=LIKE_ESCAPE))
    if shape.min_price:
        conditions.append(facts["price_cents"] >= bindparam("min_cents"))
    if shape.max_price:
        conditions.append(facts["price_cents"] <= bindparam("max_cents"))
    if shape.in_stock:
        conditions.append(stocked)
    keys: list[Any] = [book_id]
    if with_facts:
        keys += facts.values()
    if listing is not None:
        keys.append(facts["price_cents"] if by_price else listing_sort_key(listing)[0])
    labels = ["book_id", *(facts if with_facts else ()), *(["sort_key"] if listing else [])]
    matches = (
        select(
            score.label("score"),
            *(key.label(label) for key, label in zip(keys, labels, strict=True)),
        )
        .select_from(source)
        .where(*conditions)
    )
    if not grouped:
        return matches
    # A prefix met by other clauses gives a row per word of a book in its range: one per book,
    # its masks OR-ed (its facts and sort key are the book's, the same on each of its rows).
    rows = matches.subquery("match_rows")
    kept = [rows.c[label] for label in labels]
    return select(_aggregate_or(shape.dialect, rows.c.score).label("score"), *kept).group_by(*kept)


# Built once per shape, like the catalog's listing statements (see catalog.py's _GET_BOOK); a
# bounded cache, as a query's clause kinds make many shapes.
@functools.lru_cache(maxsize=1024)
def _search_statements(shape: _Shape) -> tuple[Select[Any], Select[Any]]:
    """The page statement (``book_id``, ``score``, ``total`` (the number of matches), and the
    book's :data:`BOOK_COLUMNS`) and the count statement of a search of this shape."""
    matches = _matches(shape)
    count = select(func.count()).select_from(matches.subquery("counted"))
    # A lone word's matches are one index range, and a listing's the books table: reading
    # them twice (the page, the count) costs less than keeping their rows for both. Anything
    # else is computed once.
    twice = shape.must in ((), ("term",))
    ranked = matches.subquery("matches") if twice else matches.cte("matches")
    total = (
        count.scalar_subquery()
        if twice
        else select(func.count()).select_from(ranked).scalar_subquery()
    )
    listing = shape.sort.listing_sort
    order: list[Any]
    if listing is None:
        order = [ranked.c.score.desc(), ranked.c.book_id.asc()]
    else:
        # The catalog listing's rule (see catalog.listing_ordering) over the sort key.
        nullable = listing_sort_key(listing)[1]
        key = ranked.c.sort_key
        ordered = key.desc() if shape.direction is SortDirection.DESC else key.asc()
        order = [ordered.nulls_last() if nullable else ordered, ranked.c.book_id.asc()]
    page = (
        select(ranked.c.book_id, ranked.c.score, total.label("total"))
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )
    return _with_books(shape, page), count


def _with_books(shape: _Shape, page: Select[Any]) -> Select[Any]:
    """``page``'s rows with their books' columns, in the page's order: the search reads the
    page's books in the page's statement rather than in a second one (a round trip, and most
    of a rare word's time)."""
    ranked = page.subquery("ranked_page")
    listing = shape.sort.listing_sort
    order: list[Any]
    if listing is not None:
        order = listing_ordering(listing, shape.direction)  # on the joined books' columns
    else:
        order = [ranked.c.score.desc(), ranked.c.book_id.asc()]
    return (
        select(ranked.c.book_id, ranked.c.score, ranked.c.total, *BOOK_COLUMNS)
        .select_from(ranked.outerjoin(_books, _books.c.id == ranked.c.book_id))
        .order_by(*order)
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


@functools.lru_cache(maxsize=1024)
def _facets_statement(shape: _Shape) -> Select[Any]:
    """One statement for every facet: a row per top-level genre (``NULL`` for the results
    without one) with its count, in-stock count and per-bucket counts; summing the rows gives
    the in-stock and price totals.

    The matches (with their books' facts: from the postings, for a text query) are counted
    per genre first, then the few genre rows are mapped to their top-level genre."""
    matches = _matches(shape._replace(sort=SearchSort.RELEVANCE), with_facts=True).subquery(
        "matches"
    )
    price = matches.c.price_cents
    buckets = []
    for index, (low, high) in enumerate(PRICE_BUCKETS):
        bounds: list[ColumnElement[bool]] = []
        if low is not None:
            bounds.append(price >= cents_at_least(low))
        if high is not None:
            bounds.append(price < cents_at_least(high))
        buckets.append(func.count(case((and_(*bounds), 1))).label(f"bucket_{index}"))
    per_genre = (
        select(
            matches.c.genre_id,
            func.count(matches.c.book_id).label("books"),
            func.count(case((matches.c.in_stock == true(), 1))).label("in_stock"),
            *buckets,
        )
        .group_by(matches.c.genre_id)
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

#: PostgreSQL's vocabulary: the surface words in a code-point range, with the number of books
#: holding each: a range of the postings' primary key (it runs only for a query that found
#: nothing).
_PG_VOCABULARY: Final = text(
    "SELECT term AS word, count(*) AS documents FROM search_postings "
    "WHERE term >= :low AND term < :high AND word_fields <> 0 "
    "AND length(term) BETWEEN :min_length AND :max_length GROUP BY term"
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
            # The books first (before any index row: a concurrent delete of one of them, whose
            # cascade takes its index rows, would otherwise deadlock with this), and only
            # those still there.
            there = await share_books(self._connection, [d.book_id for d in batch])
            batch = [document for document in batch if document.book_id in there]
            if batch:
                await self._execute(*put_statement(self._dialect_name, batch))
                await put_postings(self._connection, batch)

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
        # Read by position (book_id, score, total, then BOOK_COLUMNS from id: see _with_books):
        # a row's lookup by name costs about 0.3 µs a column. (Typed loosely: the statement is
        # built per shape, so its row type is not known statically.)
        rows: Sequence[Any] = (await self._execute(page_statement, parameters)).all()
        items = [
            ScoredId(row[0], int(row[1]), None if row[3] is None else book_from_row(row))
            for row in rows
        ]
        if rows:
            total: int = rows[0][2]
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
            parameters = {"low": first, "high": first + _LAST_CHAR}
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
