"""The hand-written baselines of the search benchmark: the same searches straight on the
drivers (asyncpg, aiosqlite; no SQLAlchemy), against the tables the library's migration
created and the index the library built.

What a careful person would write by hand for the same answers: the typed query is split into
words, quoted phrases and the word being typed with a few lines of ``re``, folded and stemmed
with PyStemmer (the stemmer the library's adapter wraps), then rendered into the backend's own
query text (a ``tsquery``, an FTS5 ``MATCH`` expression) passed as a bound parameter. The
ranking is the library's integer formula (title 4, author 2, description 1 for a field holding
one of the words; then the id), so both sides return the same page. One statement returns the
page with the books' columns and the exact total: the matches are scored, the page cut, and
only its rows joined to ``books``. The total is a window count on PostgreSQL, over a subquery
that has already computed the scores (``OFFSET 0`` keeps it apart), so that the window buffers
ids and scores rather than documents; on SQLite without filters it is an uncorrelated
sub-select, run once, cheaper there than a window, which copies every scored match into a
temporary table (with filters a window: a sub-select would join the books again). With
facets, one more statement counts per top-level genre, in stock and per price bucket. SQLite
reads run in one ``BEGIN`` ... ``COMMIT`` (one snapshot); PostgreSQL's run outside a
transaction (in the baseline's favour, as in ``benchmarks/raw.py``). The search tables are
the library's (migration 0004: on PostgreSQL the documents stay inline, uncompressed).
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
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


# --- PostgreSQL: tsquery text over book_search.document (stems A/B/C, surface words "=w") ---


def _pg_lexeme(lexeme: str, suffix: str = "") -> str:
    return "'" + lexeme.replace("'", "''").replace("\\", "\\\\") + "'" + suffix


def _pg_clauses(query: RawQuery, weight: str = "") -> list[str]:
    w = f":{weight}" if weight else ""
    clauses = [_pg_lexeme(t, w) for t in query.terms]
    clauses += ["(" + " <-> ".join(_pg_lexeme(x, w) for x in p) + ")" for p in query.phrases]
    if query.prefix:
        word, stem = query.prefix
        clauses.append(f"({_pg_lexeme('=' + word, ':*' + weight)} | {_pg_lexeme(stem, w)})")
    return clauses


def _pg_filters(filters: RawFilters, first: int) -> tuple[str, str, list[Any]]:
    """``(WITH prefix, AND conditions on b, parameters)``, numbered from ``$first``."""
    cte, where, params = "", [], []
    if filters.genre_id is not None:
        params.append(filters.genre_id)
        cte = (
            "WITH RECURSIVE genre_tree(id) AS ("
            f" SELECT id FROM genres WHERE id = ${first}"
            " UNION SELECT g.id FROM genres g JOIN genre_tree t ON g.parent_id = t.id) "
        )
        where.append("b.genre_id IN (SELECT id FROM genre_tree)")
    for value, condition in (
        (filters.min_price_cents, "b.price_cents >= ${}"),
        (filters.max_price_cents, "b.price_cents <= ${}"),
    ):
        if value is not None:
            params.append(value)
            where.append(condition.format(first + len(params) - 1))
    if filters.in_stock:
        where.append("b.stock_quantity > 0")
    return cte, "".join(f" AND {c}" for c in where), params


_BOOK_COLUMNS_B: Final = ", ".join(f"b.{c.strip()}" for c in BOOK_COLUMNS.split(","))
_ROOTS: Final = (
    "roots(id, root) AS (SELECT id, id FROM genres WHERE parent_id IS NULL"
    " UNION ALL SELECT g.id, r.root FROM genres g JOIN roots r ON g.parent_id = r.id)"
)


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
        match = " & ".join(_pg_clauses(query))
        fields = [" | ".join(_pg_clauses(query, weight)) for _, weight, _ in _WEIGHTS]
        upper = " | ".join(_pg_clauses(query, "AB"))
        exact = " + ".join(
            f"CASE WHEN s.document @@ ${i}::tsquery THEN {points} ELSE 0 END"
            for i, (_, _, points) in zip((2, 3, 4), _WEIGHTS, strict=True)
        )
        # A match without any of the words in its title or author has them all in its
        # description: one check ($7) gives its score.
        score = f"CASE WHEN s.document @@ $7::tsquery THEN {exact} ELSE 1 END"
        cte, where, extra = _pg_filters(filters, 8)
        joined = " JOIN books b ON b.id = s.book_id" if where else ""
        # Innermost, the matches with their scores (``OFFSET 0`` keeps the planner from
        # flattening it), so that the window count buffers ids and scores, not documents;
        # then the page; only its rows are joined to ``books``.
        page_sql = (
            f"{cte}SELECT {_BOOK_COLUMNS_B}, hit.score, hit.total FROM ("
            "SELECT m.book_id, m.score, count(*) OVER () AS total FROM ("
            f"SELECT s.book_id, {score} AS score"
            f" FROM book_search s{joined} WHERE s.document @@ $1::tsquery{where} OFFSET 0) m"
            " ORDER BY m.score DESC, m.book_id LIMIT $5 OFFSET $6) hit"
            " JOIN books b ON b.id = hit.book_id ORDER BY hit.score DESC, hit.book_id"
        )
        cte, where, extra2 = _pg_filters(filters, 2)
        matches = f"WHERE s.document @@ $1::tsquery{where}"
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                page_sql, match, *fields, size, (page - 1) * size, upper, *extra
            )
            total = rows[0]["total"] if rows else None
            if total is None:  # a page past the end: count apart
                total = await connection.fetchval(
                    f"{cte}SELECT count(*) FROM book_search s{joined} {matches}", match, *extra2
                )
            groups = None
            if facets:
                roots = f"{cte[:-1]}, {_ROOTS} " if cte else f"WITH RECURSIVE {_ROOTS} "
                groups = await connection.fetch(
                    f"{roots}{_facets_select(matches, 'book_search s', 's.book_id')}",
                    match,
                    *extra2,
                )
        books = [_postgres_book(_columns(row)) for row in rows]
        result = RawResult(books, [row["score"] for row in rows], total)
        return result if groups is None else _with_facets(result, groups)


def _columns(row: asyncpg.Record) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("score", "total")}


def _facets_select(matches: str, source: str, key: str) -> str:
    """One statement: per top-level genre (``NULL`` for books without one), the matches, the
    in-stock ones and the ones in each price bucket; counted per genre first, then the few
    genre rows summed up to their top-level genre."""
    parts = ["count(*)", "count(CASE WHEN b.stock_quantity > 0 THEN 1 END)"]
    for low, high in BUCKETS:
        condition = f"b.price_cents >= {low}" + (f" AND b.price_cents < {high}" if high else "")
        parts.append(f"count(CASE WHEN {condition} THEN 1 END)")
    columns = ", ".join(f"{part} AS n{i}" for i, part in enumerate(parts))
    sums = ", ".join(f"CAST(sum(x.n{i}) AS INTEGER)" for i in range(len(parts)))
    return (
        f"SELECT r.root, g.name, {sums} FROM ("
        f"SELECT b.genre_id, {columns} FROM {source} JOIN books b ON b.id = {key}"
        f" {matches} GROUP BY b.genre_id) x"
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


# --- SQLite: FTS5 MATCH over book_search_fts (stems in title/author/description, surface
# words in the *_words columns; rowid = book id) ---

_STEM_COLUMNS: Final = "title author description"
_WORD_COLUMNS: Final = "title_words author_words description_words"


def _fts(token: str, star: str = "") -> str:
    return '"' + token.replace('"', '""') + '"' + star


def _fts_clauses(query: RawQuery, stems: str, surface: str) -> list[str]:
    clauses = [f"{{{stems}}} : {_fts(t)}" for t in query.terms]
    clauses += [f"{{{stems}}} : {_fts(' '.join(p))}" for p in query.phrases]
    if query.prefix:
        word, stem = query.prefix
        clauses.append(f"({{{surface}}} : {_fts(word, '*')} OR {{{stems}}} : {_fts(stem)})")
    return clauses


def _sqlite_filters(filters: RawFilters, params: dict[str, Any]) -> tuple[str, str]:
    """``(WITH prefix, AND conditions on b)``; adds their named parameters to ``params``."""
    cte, where = "", []
    if filters.genre_id is not None:
        params["genre"] = filters.genre_id
        cte = (
            "WITH RECURSIVE genre_tree(id) AS ("
            " SELECT id FROM genres WHERE id = :genre"
            " UNION SELECT g.id FROM genres g JOIN genre_tree t ON g.parent_id = t.id) "
        )
        where.append("b.genre_id IN (SELECT id FROM genre_tree)")
    if filters.min_price_cents is not None:
        params["min_price"] = filters.min_price_cents
        where.append("b.price_cents >= :min_price")
    if filters.max_price_cents is not None:
        params["max_price"] = filters.max_price_cents
        where.append("b.price_cents <= :max_price")
    if filters.in_stock:
        where.append("b.stock_quantity > 0")
    return cte, "".join(f" AND {c}" for c in where)


def _sqlite_upper(query: RawQuery, params: dict[str, Any]) -> None:
    """Adds ``upper`` (the matches with a word in their title or author) and
    ``description_upper`` (those with one in their description too) to ``params``."""
    title_author = " OR ".join(_fts_clauses(query, "title author", "title_words author_words"))
    alone = len(query.terms) + len(query.phrases) + (query.prefix is not None) == 1
    upper = title_author if alone else f"({params['match']}) AND ({title_author})"
    params["upper"] = upper
    params["description_upper"] = f"({upper}) AND ({params['description']})"


def _sqlite_tiered_page(query: RawQuery, params: dict[str, Any]) -> str:
    """The page without scoring every match (adds its parameters to ``params``): a match
    with a word in its title or author (few, even for a common word) is scored; any other
    has them all in its description and scores 1, so the rest of the page is the first of
    those in rowid order, which FTS5 yields natively (the scan stops early)."""
    _sqlite_upper(query, params)
    fts = "book_search_fts"
    flags = " + ".join(
        f"{points} * (rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :{name}))"
        for name, points in (("title", 4), ("author", 2), ("description_upper", 1))
    )
    return (
        f"WITH upper(id, score) AS (SELECT rowid, {flags} FROM {fts} WHERE {fts} MATCH :upper) "
        f"SELECT {_BOOK_COLUMNS_B}, hit.score,"
        f" (SELECT count(*) FROM {fts} WHERE {fts} MATCH :match) FROM ("
        "SELECT id, score FROM upper UNION ALL SELECT * FROM ("
        f"SELECT rowid, 1 FROM {fts} WHERE {fts} MATCH :match"
        " AND rowid NOT IN (SELECT id FROM upper) ORDER BY rowid LIMIT :limit + :offset)"
        " ORDER BY score DESC, id LIMIT :limit OFFSET :offset) hit"
        " JOIN books b ON b.id = hit.id ORDER BY hit.score DESC, hit.id"
    )


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
        params: dict[str, Any] = {
            "match": " AND ".join(_fts_clauses(query, _STEM_COLUMNS, _WORD_COLUMNS)),
            "limit": size,
            "offset": (page - 1) * size,
        }
        for name, _, _ in _WEIGHTS:
            params[name] = " OR ".join(_fts_clauses(query, name, f"{name}_words"))
        cte, where = _sqlite_filters(filters, params)
        score = " + ".join(
            "CASE WHEN book_search_fts.rowid IN (SELECT rowid FROM book_search_fts"
            f" WHERE book_search_fts MATCH :{name}) THEN {points} ELSE 0 END"
            for name, _, points in _WEIGHTS
        )
        if not query.phrases:
            # Without a word in its title or author, a match scores 1: the three checks only
            # for the others (the description's check among those only).
            _sqlite_upper(query, params)
            score = score.replace(":description)", ":description_upper)")
            score = (
                "CASE WHEN book_search_fts.rowid IN (SELECT rowid FROM book_search_fts"
                f" WHERE book_search_fts MATCH :upper) THEN {score} ELSE 1 END"
            )
        joined = " JOIN books b ON b.id = book_search_fts.rowid" if where else ""
        matches = f"WHERE book_search_fts MATCH :match{where}"
        # Without filters, the total as an uncorrelated sub-select, which SQLite runs once:
        # cheaper than a window count, which copies every scored match into a temporary
        # table first. With filters, a window: a sub-select would join the books again.
        total = "count(*) OVER ()" if where else f"(SELECT count(*) FROM book_search_fts {matches})"
        page_sql = (
            f"{cte}SELECT {_BOOK_COLUMNS_B}, hit.score, hit.total FROM ("
            f"SELECT book_search_fts.rowid AS id, {score} AS score, {total} AS total"
            f" FROM book_search_fts{joined} {matches}"
            " ORDER BY score DESC, id LIMIT :limit OFFSET :offset) hit"
            " JOIN books b ON b.id = hit.id ORDER BY hit.score DESC, hit.id"
        )
        if not where and not query.phrases:
            page_sql = _sqlite_tiered_page(query, params)
        groups = None
        await self._db.execute("BEGIN")
        try:
            rows = list(await self._db.execute_fetchall(page_sql, params))
            total = rows[0][-1] if rows else None
            if total is None:  # a page past the end: count apart
                ((total,),) = await self._db.execute_fetchall(
                    f"{cte}SELECT count(*) FROM book_search_fts{joined} {matches}", params
                )
            if facets:
                roots = f"{cte[:-1]}, {_ROOTS} " if cte else f"WITH RECURSIVE {_ROOTS} "
                groups = await self._db.execute_fetchall(
                    roots + _facets_select(matches, "book_search_fts", "book_search_fts.rowid"),
                    params,
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
