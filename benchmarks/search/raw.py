"""The hand-written baselines of the search benchmark: the same searches straight on the
drivers (asyncpg, aiosqlite; no SQLAlchemy), against the tables the library's migrations
created and the index the library built.

What a careful person would write by hand for the same answers: the typed query is split into
words, quoted phrases and the word being typed with a few lines of ``re``, folded and stemmed
with PyStemmer (the stemmer the library's adapter wraps). The ranking is the library's integer
formula (title 4, author 2, description 1 for a field holding one of the words; then the id),
so both sides return the same page.

On SQL the words are looked up in the postings table ``search_postings`` (one row per term and
book: the bits of the fields holding it, as a lexeme in ``fields``, as a surface word in
``word_fields``, and the book's genre, price and stock), whose primary key ``(term, book_id)``
holds every column (PostgreSQL ``INCLUDE``, SQLite ``WITHOUT ROWID``): a word's matches, their
scores, the filters and the facets are one index range. A word is ``term = lexeme AND fields
<> 0`` (score ``fields``); several words are joined on ``book_id`` (score: their bits OR-ed);
the word being typed is the range of surface words starting with it UNION ALL its lexeme,
grouped by book (masks OR-ed); alone on PostgreSQL, the first of each book's words in the
range, which carries their fields in ``prefix_fields``, FULL JOIN its lexeme. A phrase is
matched in the full-text table (PostgreSQL: the GIN index of ``book_search``, then
``document @@ 'a':A <-> 'b':A``... on the matches only; SQLite: one FTS5 phrase ``MATCH``, its
fields from the words' postings bits, see
:func:`_sqlite_phrase`). Filters are conditions on the driving postings row (the genre subtree
by a recursive CTE). One statement returns the page with the books' columns and the exact
total: the matches are counted by a sub-select and sorted for the page, and only the page's
rows are joined to ``books``; matches that need a join, a grouping or a full-text match are
materialised once for both. With facets, one more statement counts the matches' postings rows
per genre (in stock, per price bucket) and sums them up to top-level genres. SQLite reads run
in one ``BEGIN`` ... ``COMMIT`` (one snapshot); PostgreSQL's run outside a transaction (in the
baseline's favour, as in ``benchmarks/raw.py``).
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
import Stemmer
from attrs import frozen

from benchmarks.raw import BOOK_COLUMNS, _postgres_book, _sqlite_book
from bookshop_adapters.sqlalchemy.engine import SQLITE_PRAGMAS

__all__ = [
    "RawFilters",
    "RawMemorySearch",
    "RawPostgresSearch",
    "RawQuery",
    "RawResult",
    "RawSqliteSearch",
]

_WORD: Final = re.compile(r"[^\W_]+")
_QUOTED: Final = re.compile(r'"([^"]*)"?')
_STEMMER: Final = Stemmer.Stemmer("english")
#: The library's fixed price buckets, in cents: [0, 10), [10, 20), [20, 50), [50, inf).
BUCKETS: Final = ((0, 1000), (1000, 2000), (2000, 5000), (5000, None))
_WEIGHTS: Final = (("title", "A", 4), ("author", "B", 2), ("description", "C", 1))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@frozen
class RawQuery:
    """A typed query, split by hand: stemmed terms, phrases (stems), and the word being typed
    (``(word, stem)``: the last bare word when the query does not end in a space)."""

    terms: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]
    prefix: tuple[str, str] | None

    @classmethod
    def parse(cls, q: str) -> RawQuery:
        phrases = []
        for quoted in _QUOTED.findall(q):
            words = _WORD.findall(_fold(quoted))
            if words:
                phrases.append(tuple(_STEMMER.stemWords(words)))
        bare = _WORD.findall(_fold(_QUOTED.sub(" ", q)))
        prefix = None
        if bare and not q[-1].isspace() and not q.endswith('"') and len(bare[-1]) >= 2:
            word = bare.pop()
            prefix = (word, _STEMMER.stemWord(word))
        terms = [*_STEMMER.stemWords(bare), *(p[0] for p in phrases if len(p) == 1)]
        return cls(
            terms=tuple(dict.fromkeys(terms)),
            phrases=tuple(p for p in dict.fromkeys(phrases) if len(p) > 1),
            prefix=prefix,
        )


@frozen
class RawFilters:
    genre_id: int | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    in_stock: bool = False


@frozen
class RawResult:
    books: list[dict[str, Any]]
    scores: list[int]
    total: int
    # facets: (root genre id, name, count) by count desc then name; in-stock count; bucket counts
    genres: list[tuple[int, str, int]] | None = None
    in_stock: int | None = None
    buckets: list[int] | None = None


# --- SQL: the postings table (one B-tree range per word), phrases on the full-text tables ---

#: ``search_postings``: one row per (term, book): ``fields`` the bits (title 4, author 2,
#: description 1: the points) of the fields holding ``term`` as a lexeme, ``word_fields`` as
#: a surface word, and the book's filter attributes.
_ATTRIBUTES: Final = ("genre_id", "price_cents", "in_stock")
_BITS: Final = tuple(points for _, _, points in _WEIGHTS)
#: Above every character: ``term < word + _TOP`` bounds the words starting with ``word``.
_TOP: Final = chr(0x10FFFF)
_BOOK_COLUMNS_B: Final = ", ".join(f"b.{c.strip()}" for c in BOOK_COLUMNS.split(","))
_ROOTS: Final = (
    "roots(id, root) AS (SELECT id, id FROM genres WHERE parent_id IS NULL"
    " UNION ALL SELECT g.id, r.root FROM genres g JOIN roots r ON g.parent_id = r.id)"
)
_GENRE_TREE: Final = (
    "genre_tree(id) AS (SELECT id FROM genres WHERE id = {}"
    " UNION SELECT g.id FROM genres g JOIN genre_tree t ON g.parent_id = t.id)"
)


class _Sql:
    """One statement being written for a dialect (``postgres`` or ``sqlite``): its bound
    values, referred to as ``$n`` (asyncpg) or ``?n`` (SQLite), so that a fragment rendered
    once may appear twice (the page and its count) with the same values."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgres"
        self.values: list[Any] = []
        self.ctes: list[str] = []

    def bind(self, value: Any) -> str:
        self.values.append(value)
        return f"{'$' if self.postgres else '?'}{len(self.values)}"

    def bit_or(self, mask: str) -> str:
        """The aggregate OR of ``mask``.

        SQLite has no ``bit_or``. ``max(mask & 4) | max(mask & 2) | max(mask & 1)`` is three
        aggregates, each a function call per row (about 2 ms per 20,000 rows); instead each
        row's bits are spread into 21-bit lanes of one integer (description 1, author 2**21,
        title 2**42) and summed, one aggregate (the same ``sum`` three times is computed
        once): a lane is non-zero where some row has the bit (a book has far fewer than
        2**21 rows)."""
        if self.postgres:
            return f"bit_or({mask})"
        lanes = f"sum(({mask} & 1) | (({mask} & 2) << 20) | (({mask} & 4) << 40))"
        return (
            f"(CASE WHEN {lanes} >= {1 << 42} THEN 4 ELSE 0 END"
            f" | CASE WHEN {lanes} & {(1 << 42) - (1 << 21)} THEN 2 ELSE 0 END"
            f" | CASE WHEN {lanes} & {(1 << 21) - 1} THEN 1 ELSE 0 END)"
        )

    def statement(self, body: str) -> str:
        return f"WITH RECURSIVE {', '.join(self.ctes)} {body}" if self.ctes else body


def _where(sql: _Sql, filters: RawFilters) -> Callable[[str], str]:
    """The filters as ``AND`` conditions on a postings row's own columns (values bound once,
    for every relation and statement they appear in); a function of the row's alias."""
    conditions = []
    if filters.genre_id is not None:
        sql.ctes.append(_GENRE_TREE.format(sql.bind(filters.genre_id)))
        conditions.append("{0}.genre_id IN (SELECT id FROM genre_tree)")
    if filters.min_price_cents is not None:
        conditions.append(f"{{0}}.price_cents >= {sql.bind(filters.min_price_cents)}")
    if filters.max_price_cents is not None:
        conditions.append(f"{{0}}.price_cents <= {sql.bind(filters.max_price_cents)}")
    if filters.in_stock:
        conditions.append("{0}.in_stock")
    text = "".join(f" AND {c}" for c in conditions)
    return lambda alias: text.format(alias)


def _columns(alias: str, attributes: bool) -> str:
    return "".join(f", {alias}.{a}" for a in _ATTRIBUTES) if attributes else ""


def _prefix_rows(sql: _Sql, word: str, stem: str, where: str, attributes: bool) -> str:
    """The postings rows of a surface word starting with ``word`` (one index range) and of
    the lexeme ``stem`` (UNION ALL: an ``OR`` would not be an index range); a book may have
    several."""
    columns = _columns("p", attributes)
    return (
        f"SELECT p.book_id, p.word_fields AS mask{columns} FROM search_postings p"
        f" WHERE p.term >= {sql.bind(word)} AND p.term < {sql.bind(word + _TOP)}"
        f" AND p.word_fields <> 0{where}"
        f" UNION ALL SELECT p.book_id, p.fields{columns} FROM search_postings p"
        f" WHERE p.term = {sql.bind(stem)} AND p.fields <> 0{where}"
    )


#: ``prefix_fields`` describes prefixes of up to this many characters, 3 bits each.
_PREFIX_LENGTHS: Final = 21


def _pg_prefix(sql: _Sql, word: str, stem: str, where: str, attributes: bool) -> str:
    """PostgreSQL, a word of up to 21 characters: of a book's words in the range, only the
    first has this length's 3 bits set in ``prefix_fields``, to the fields of all of them, so
    the range gives one row per book, nothing to group; the lexeme's rows (a book may hold
    it through a word outside the range) meet them in a FULL JOIN."""
    slot = f"(p.prefix_fields >> {3 * (len(word) - 1)}) & 7"
    columns = _columns("p", attributes)
    first = (
        f"SELECT p.book_id, {slot} AS mask{columns} FROM search_postings p"
        f" WHERE p.term >= {sql.bind(word)} AND p.term < {sql.bind(word + _TOP)}"
        f" AND {slot} <> 0{where}"
    )
    lexeme = (
        f"SELECT p.book_id, p.fields AS mask{columns} FROM search_postings p"
        f" WHERE p.term = {sql.bind(stem)} AND p.fields <> 0{where}"
    )
    either = "".join(f", coalesce(w.{a}, s.{a}) AS {a}" for a in _ATTRIBUTES) if attributes else ""
    return (
        "SELECT coalesce(w.book_id, s.book_id) AS book_id,"
        f" coalesce(w.mask, 0) | coalesce(s.mask, 0) AS score{either}"
        f" FROM ({first}) w FULL JOIN ({lexeme}) s ON s.book_id = w.book_id"
    )


def _prefix(sql: _Sql, word: str, stem: str, where: str, attributes: bool) -> str:
    """The books of :func:`_prefix_rows`, their masks OR-ed into the score (PostgreSQL, a
    word of up to 21 characters: :func:`_pg_prefix`)."""
    if sql.postgres and len(word) <= _PREFIX_LENGTHS:
        return _pg_prefix(sql, word, stem, where, attributes)
    rows = _prefix_rows(sql, word, stem, where, attributes)
    grouped = "".join(f", u.{a}" for a in _ATTRIBUTES) if attributes else ""
    return (
        f"SELECT u.book_id, {sql.bit_or('u.mask')} AS score{grouped} FROM ({rows}) u"
        f" GROUP BY u.book_id{grouped}"
    )


def _pg_phrase(sql: _Sql, stems: tuple[str, ...], where: str, attributes: bool, name: str) -> str:
    """The books holding the phrase: the GIN index finds them (``'a' <-> 'b'``, rechecked on
    the candidates' documents); the per-field checks (``'a':A <-> 'b':A``...) run on those
    only. The filter attributes come from the postings row of its first word."""
    match = sql.bind(" <-> ".join(_pg_lexeme(s) for s in stems))
    weighted = [(" <-> ".join(_pg_lexeme(s, ":" + w) for s in stems), p) for _, w, p in _WEIGHTS]
    checks = " | ".join(
        f"CASE WHEN s.document @@ {sql.bind(text)}::tsquery THEN {points} ELSE 0 END"
        for text, points in weighted
    )
    joined = ""
    if where or attributes:
        joined = (
            f" JOIN search_postings p ON p.term = {sql.bind(stems[0])} AND p.book_id = s.book_id"
        )
    return (
        f"SELECT s.book_id, {checks} AS {name}{_columns('p', attributes)}"
        f" FROM book_search s{joined} WHERE s.document @@ {match}::tsquery{where}"
    )


def _sqlite_phrase(
    sql: _Sql, stems: tuple[str, ...], where: str, attributes: bool, name: str
) -> str:
    """The books holding the phrase: one FTS5 phrase MATCH in the lexeme columns. Its fields:
    the phrase is in a field only if each of its words is, so the AND of the words' postings
    masks bounds them; a single bit is exact, and only a match with several candidate fields
    runs the column-filtered MATCH of those fields (each a full doclist scan: run lazily,
    once). The filter attributes come from the postings row of its first word."""
    phrase = " + ".join(_fts(s) for s in stems)
    match = sql.bind(f"{{{_STEM_COLUMNS}}} : {phrase}")
    words = list(dict.fromkeys(stems))
    # CROSS JOIN: SQLite then keeps the FTS5 match outermost (run once), rather than running
    # it for each postings row of a word when its statistics make that look cheaper.
    joins = "".join(
        f" CROSS JOIN search_postings p{i} ON p{i}.term = {sql.bind(w)} AND p{i}.book_id = f.rowid"
        for i, w in enumerate(words)
    )
    both = " & ".join(f"p{i}.fields" for i in range(len(words)))
    checks = " | ".join(
        f"CASE WHEN ({both}) & {points} <> 0 AND f.rowid IN (SELECT rowid FROM book_search_fts"
        f" WHERE book_search_fts MATCH {sql.bind(f'{name} : {phrase}')}) THEN {points} ELSE 0 END"
        for name, _, points in _WEIGHTS
    )
    mask = f"CASE WHEN ({both}) IN ({', '.join(map(str, _BITS))}) THEN {both} ELSE {checks} END"
    return (
        f"SELECT f.rowid AS book_id, {mask} AS {name}{_columns('p0', attributes)}"
        f" FROM book_search_fts f{joins} WHERE book_search_fts MATCH {match}{where}"
    )


def _matches(sql: _Sql, query: RawQuery, filters: RawFilters, attributes: bool) -> tuple[str, bool]:
    """``(SELECT book_id, score[, genre_id, price_cents, in_stock] of every match, simple)``.

    One relation ``r<i>`` per clause, joined on ``book_id``; the score is the OR of their
    masks. A term is the postings table itself (``term = lexeme AND fields <> 0``, mask
    ``fields``); a phrase is a materialised CTE (run once; as a subquery a planner may run
    it again for each row of another relation); the word being typed, when not alone, is
    its postings rows, joined, then grouped by book (grouping first would hide from
    PostgreSQL how many books there are: it guesses 200 and joins them by a nested loop).
    The first relation (a term, else a phrase) drives: the filters apply to its postings
    rows and its attributes are the match's. ``simple``: plain postings ranges only (no
    join, no grouping, no full-text match), cheap enough to read twice (the page and its
    count) rather than to materialise."""
    where = _where(sql, filters)
    if query.prefix and not query.terms and not query.phrases:
        return _prefix(sql, *query.prefix, where("p"), attributes), False
    if len(query.phrases) == 1 and not query.terms and not query.prefix:
        phrase = _pg_phrase if sql.postgres else _sqlite_phrase
        inner = "p" if sql.postgres else "p0"
        return phrase(sql, query.phrases[0], where(inner), attributes, "score"), False
    sources: list[tuple[str, str, str]] = []  # (FROM item, mask, conditions), alias r<i>
    for term in query.terms:
        alias = f"r{len(sources)}"
        conditions = f"{alias}.term = {sql.bind(term)} AND {alias}.fields <> 0"
        sources.append((f"search_postings {alias}", f"{alias}.fields", conditions))
    for stems in query.phrases:
        first = not sources
        alias = f"r{len(sources)}"
        kept = attributes and first
        if sql.postgres:
            rendered = _pg_phrase(sql, stems, where("p") if first else "", kept, "mask")
        else:
            rendered = _sqlite_phrase(sql, stems, where("p0") if first else "", kept, "mask")
        sql.ctes.append(f"c{alias} AS MATERIALIZED ({rendered})")
        sources.append((f"c{alias} {alias}", f"{alias}.mask", ""))
    (source, score, conditions), *joined = sources
    if query.terms:  # a term drives: the filters on its rows
        conditions += where("r0")
    masks = [score, *(mask for _, mask, _ in joined)]
    columns = _columns("r0", attributes)
    joins = "".join(
        f" JOIN {item} ON r{i}.book_id = r0.book_id" + (f" AND {on}" if on else "")
        for i, (item, _, on) in enumerate(joined, start=1)
    )
    group = ""
    if query.prefix:
        rows = _prefix_rows(sql, *query.prefix, "", False)
        joins += f" JOIN ({rows}) rp ON rp.book_id = r0.book_id"
        group = f" GROUP BY r0.book_id, {', '.join(masks)}{columns}"
        masks.append(sql.bit_or("rp.mask"))
    body = f"SELECT r0.book_id, {' | '.join(masks)} AS score{columns} FROM {source}{joins}"
    body += (f" WHERE {conditions}" if conditions else "") + group
    return body, not joined and not group


def _page(sql: _Sql, query: RawQuery, filters: RawFilters, page: int, size: int) -> str:
    """One statement: the page's books (every column), scores and the exact total. The
    matches are counted by a sub-select (cheaper than a window count, which buffers every
    match), sorted by score and id for the page, and only the page's rows are joined to
    ``books``. Matches that join, group (a prefix) or match full text (a phrase) are
    materialised once for both; a plain postings range is simply read twice. On SQLite the
    page is joined to ``books`` by a ``CROSS JOIN`` (the page first; a ``LEFT JOIN`` does as
    well): with a plain ``JOIN`` SQLite copies the page's subquery into one more temporary
    table, about 1 ms more for a word in a quarter of 100,000 books (PostgreSQL has no
    ``CROSS JOIN ... ON``)."""
    matches, simple = _matches(sql, query, filters, attributes=False)
    if simple:
        source = f"({matches})"
    else:
        sql.ctes.append(f"matches AS MATERIALIZED ({matches})")
        source = "matches"
    limit, offset = sql.bind(size), sql.bind((page - 1) * size)
    return sql.statement(
        f"SELECT {_BOOK_COLUMNS_B}, hit.score, hit.total FROM ("
        f"SELECT m.book_id, m.score, (SELECT count(*) FROM {source} c) AS total"
        f" FROM {source} m ORDER BY m.score DESC, m.book_id LIMIT {limit} OFFSET {offset}) hit"
        f" {'JOIN' if sql.postgres else 'CROSS JOIN'} books b ON b.id = hit.book_id"
        " ORDER BY hit.score DESC, hit.book_id"
    )


def _count(sql: _Sql, query: RawQuery, filters: RawFilters) -> str:
    matches, _ = _matches(sql, query, filters, attributes=False)
    return sql.statement(f"SELECT count(*) FROM ({matches}) c")


def _facets(sql: _Sql, query: RawQuery, filters: RawFilters) -> str:
    """One statement: per top-level genre (``NULL`` for books without one), the matches, the
    in-stock ones and the ones in each price bucket, read from the matches' postings rows
    (no ``books``): counted per genre first, then the few genre rows summed up to their
    top-level genre."""
    matches, _ = _matches(sql, query, filters, attributes=True)
    sql.ctes.append(_ROOTS)
    parts = ["count(*)", "count(CASE WHEN m.in_stock THEN 1 END)"]
    for low, high in BUCKETS:
        condition = f"m.price_cents >= {low}" + (f" AND m.price_cents < {high}" if high else "")
        parts.append(f"count(CASE WHEN {condition} THEN 1 END)")
    columns = ", ".join(f"{part} AS n{i}" for i, part in enumerate(parts))
    sums = ", ".join(f"CAST(sum(x.n{i}) AS INTEGER)" for i in range(len(parts)))
    return sql.statement(
        f"SELECT r.root, g.name, {sums} FROM ("
        f"SELECT m.genre_id, {columns} FROM ({matches}) m GROUP BY m.genre_id) x"
        " LEFT JOIN roots r ON r.id = x.genre_id LEFT JOIN genres g ON g.id = r.root"
        " GROUP BY r.root, g.name"
    )


def _with_facets(result: RawResult, groups: Iterable[Sequence[Any]]) -> RawResult:
    rows = [tuple(row) for row in groups]
    genres = sorted(
        ((r[0], r[1], r[2]) for r in rows if r[0] is not None), key=lambda g: (-g[2], g[1])
    )
    return RawResult(
        books=result.books,
        scores=result.scores,
        total=result.total,
        genres=genres,
        in_stock=sum(r[3] for r in rows),
        buckets=[sum(r[4 + i] for r in rows) for i in range(len(BUCKETS))],
    )


# --- PostgreSQL (asyncpg) ---


def _pg_lexeme(lexeme: str, suffix: str = "") -> str:
    return "'" + lexeme.replace("'", "''").replace("\\", "\\\\") + "'" + suffix


class RawPostgresSearch:
    """The search on an asyncpg pool (JIT off, like the engine)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str) -> RawPostgresSearch:
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=4, server_settings={"jit": "off"}
        )
        return cls(pool)

    async def aclose(self) -> None:
        await self._pool.close()

    async def search(
        self, q: str, filters: RawFilters, page: int, size: int, facets: bool = False
    ) -> RawResult:
        query = RawQuery.parse(q)
        listed = _Sql("postgres")
        page_sql = _page(listed, query, filters, page, size)
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(page_sql, *listed.values)
            total = rows[0]["total"] if rows else None
            if total is None:  # a page past the end: count apart
                counted = _Sql("postgres")
                total = await connection.fetchval(_count(counted, query, filters), *counted.values)
            groups = None
            if facets:
                grouped = _Sql("postgres")
                groups = await connection.fetch(_facets(grouped, query, filters), *grouped.values)
        books = [_postgres_book(_book_columns(row)) for row in rows]
        result = RawResult(books, [row["score"] for row in rows], total)
        return result if groups is None else _with_facets(result, groups)


def _book_columns(row: asyncpg.Record) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("score", "total")}


# --- SQLite (aiosqlite): FTS5 table book_search_fts for phrases (stems in title, author,
# description; rowid = book id) ---

_STEM_COLUMNS: Final = "title author description"


def _fts(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


class RawSqliteSearch:
    """The search on one aiosqlite connection, configured like the engine's."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    @classmethod
    async def open(cls, path: str, tuning: Sequence[str] = ()) -> RawSqliteSearch:
        """Connect as the engine does (its PRAGMAs), then run the benchmark's ``tuning``."""
        connection = await aiosqlite.connect(path, isolation_level=None)
        for pragma in (*SQLITE_PRAGMAS, *tuning):
            await connection.execute(pragma)
        return cls(connection)

    async def aclose(self) -> None:
        await self._db.close()

    async def search(
        self, q: str, filters: RawFilters, page: int, size: int, facets: bool = False
    ) -> RawResult:
        query = RawQuery.parse(q)
        listed = _Sql("sqlite")
        page_sql = _page(listed, query, filters, page, size)
        groups = None
        await self._db.execute("BEGIN")
        try:
            rows = list(await self._db.execute_fetchall(page_sql, listed.values))
            total = rows[0][-1] if rows else None
            if total is None:  # a page past the end: count apart
                counted = _Sql("sqlite")
                ((total,),) = await self._db.execute_fetchall(
                    _count(counted, query, filters), counted.values
                )
            if facets:
                grouped = _Sql("sqlite")
                groups = await self._db.execute_fetchall(
                    _facets(grouped, query, filters), grouped.values
                )
        finally:
            await self._db.execute("COMMIT")
        books = [_sqlite_book(tuple(row)[:-2]) for row in rows]
        result = RawResult(books, [row[-2] for row in rows], total)
        return result if groups is None else _with_facets(result, groups)


# --- memory: a hand-written inverted index in plain dicts ---

_FIELD_BITS: Final = {"title": 4, "author": 2, "description": 1}  # also the field's points


def _analysed(text: str | None) -> tuple[list[str], list[str]]:
    """``(surface words, stems)`` of ``text``."""
    words = [w for w in _WORD.findall(_fold(text or "")) if len(w) <= 64]
    return words, _STEMMER.stemWords(words)


class RawMemorySearch:
    """The search over a plain-Python inverted index built by hand from the same books:
    ``stems[lexeme][book_id]`` and ``surface[word][book_id]`` hold the fields (as bits
    title 4, author 2, description 1: the score is their sum); each book's stems per field are
    kept for checking phrases; a sorted word list and ``bisect`` serve prefixes."""

    def __init__(
        self,
        books: Iterable[dict[str, Any]],
        parents: dict[int, int | None],
        names: dict[int, str],
    ) -> None:
        self.books: dict[int, dict[str, Any]] = {}
        self.cents: dict[int, int] = {}
        self.stems: dict[str, dict[int, int]] = {}
        self.surface: dict[str, dict[int, int]] = {}
        self.fields: dict[int, tuple[tuple[str, ...], ...]] = {}
        self.parents = parents
        self.names = names
        for book in books:
            self.add(book)
        self.words = sorted(self.surface)

    def add(self, book: dict[str, Any]) -> None:
        book_id = book["id"]
        self.books[book_id] = book
        self.cents[book_id] = int(book["price"] * 100)
        kept = []
        for name, bit in _FIELD_BITS.items():
            words, stems = _analysed(book[name])
            kept.append(tuple(stems))
            for stem in stems:
                postings = self.stems.setdefault(stem, {})
                postings[book_id] = postings.get(book_id, 0) | bit
            for word in words:
                postings = self.surface.setdefault(word, {})
                postings[book_id] = postings.get(book_id, 0) | bit
        self.fields[book_id] = tuple(kept)

    def _prefix(self, word: str, stem: str) -> dict[int, int]:
        found = dict(self.stems.get(stem, {}))
        lo = bisect.bisect_left(self.words, word)
        hi = bisect.bisect_left(self.words, word + "\U0010ffff", lo)
        for surface in self.words[lo:hi]:
            for book_id, bits in self.surface[surface].items():
                found[book_id] = found.get(book_id, 0) | bits
        return found

    def _phrase(self, stems: tuple[str, ...]) -> dict[int, int]:
        candidates = set(self.stems.get(stems[0], {}))
        for stem in stems[1:]:
            candidates &= self.stems.get(stem, {}).keys()
        found = {}
        n = len(stems)
        for book_id in candidates:
            bits = 0
            for bit, field in zip(_FIELD_BITS.values(), self.fields[book_id], strict=True):
                if any(field[i : i + n] == stems for i in range(len(field) - n + 1)):
                    bits |= bit
            if bits:
                found[book_id] = bits
        return found

    def _subtree(self, genre_id: int) -> set[int]:
        tree = {genre_id}
        for child, parent in self.parents.items():  # the genres, parents before children
            if parent in tree:
                tree.add(child)
        return tree

    def _root(self, genre_id: int) -> int:
        while (parent := self.parents[genre_id]) is not None:
            genre_id = parent
        return genre_id

    async def search(
        self, q: str, filters: RawFilters, page: int, size: int, facets: bool = False
    ) -> RawResult:
        query = RawQuery.parse(q)
        clauses = [self.stems.get(t, {}) for t in query.terms]
        clauses += [self._phrase(p) for p in query.phrases]
        if query.prefix:
            clauses.append(self._prefix(*query.prefix))
        clauses.sort(key=len)
        matched = set(clauses[0])
        for clause in clauses[1:]:
            matched &= clause.keys()
        books, cents = self.books, self.cents
        tree = None if filters.genre_id is None else self._subtree(filters.genre_id)
        low = -1 if filters.min_price_cents is None else filters.min_price_cents
        high = math.inf if filters.max_price_cents is None else filters.max_price_cents
        kept = [
            book_id
            for book_id in matched
            if (tree is None or books[book_id]["genre_id"] in tree)
            and low <= cents[book_id] <= high
            and (not filters.in_stock or books[book_id]["stock_quantity"] > 0)
        ]
        scored = []
        for book_id in kept:
            bits = 0
            for clause in clauses:
                bits |= clause[book_id]
            scored.append((-bits, book_id))  # the bits are the points: 4 + 2 + 1
        hits = sorted(scored)[(page - 1) * size : page * size]
        result = RawResult([books[i] for _, i in hits], [-s for s, _ in hits], len(kept))
        if not facets:
            return result
        groups: dict[int | None, list[int]] = {}
        for i in kept:
            genre = books[i]["genre_id"]
            row = groups.setdefault(None if genre is None else self._root(genre), [0] * 6)
            row[0] += 1
            row[1] += books[i]["stock_quantity"] > 0
            for n, (start, end) in enumerate(BUCKETS):
                row[2 + n] += start <= cents[i] < (end or math.inf)
        return _with_facets(
            result,
            [(root, self.names.get(root or 0), *row) for root, row in groups.items()],
        )
