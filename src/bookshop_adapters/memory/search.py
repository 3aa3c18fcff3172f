"""The in-memory search index: an inverted index with positions, the reference behaviour of
the ``SearchIndex`` port.

The layout is compact (no object per token or per posting beyond one ``int``) because tests and
small shops hold whole catalogs in it:

* ``lexemes[lexeme][book_id]`` is one ``int`` packing where the lexeme occurs in the book: the
  fields it occurs in as bits (title 4, author 2, description 1; the low three bits) and its
  positions (the higher bits; see :func:`_pack`). A book's positions are numbered across its
  fields, title first, with one unused position between two fields, so that words adjacent in
  that numbering are adjacent within one field (phrases never cross a field).
* ``surface[word][book_id]`` the fields (bits) a folded word occurs in, for prefixes, found
  through a sorted word list and ``bisect``; field bits are small ints CPython shares.
* ``documents[book_id]`` one :class:`_Record` per book: its distinct lexemes and words (to
  remove it) and its field lengths (to tell which field a phrase occurs in).

Words and lexemes are interned: each is stored once, however many postings and records name it.

A text query only ever touches the postings of its own words (and, once some clause narrowed
the candidates, only those candidates' entries), never every book; the filters are applied to
those candidates (reading the books as they are now, like the SQL backends' join). Changes are
undone on rollback through the unit of work's journal, which keeps what a change removed until
the transaction ends.
"""

from __future__ import annotations

import bisect
import sys
from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Final, NamedTuple

from bookshop_adapters.memory.catalog import _subtree, order_books
from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.catalog.entities import (
    MAX_GENRE_DEPTH,
    Book,
    Genre,
)
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
    VocabularyWord,
)
from bookshop_core.search.query import Clause, Phrase, Prefix, Term, TextQuery

__all__ = ["MemorySearchIndex", "MemorySearchState"]

Found = dict[int, int]
"""The books a clause (or a query) occurs in; the low three bits of each value are the fields it
occurs in (the higher bits may be a posting's positions: copying postings as they are, in C,
and masking only where the fields are read is what keeps a common word's query fast)."""

_LAST_CHAR: Final = "\U0010ffff"

#: The bit of each field in a posting (and in a :data:`Found` value).
_FIELD_BIT: Final[dict[FieldName, int]] = {"title": 4, "author": 2, "description": 1}
_TITLE, _AUTHOR, _DESCRIPTION = (_FIELD_BIT[name] for name in FIELD_NAMES)
_FIELDS_MASK: Final = 0b111
#: The score of a book whose matched fields are these bits (the ranking formula).
_SCORE: Final = tuple(
    sum(FIELD_WEIGHTS[name] for name, bit in _FIELD_BIT.items() if fields & bit)
    for fields in range(_FIELDS_MASK + 1)
)
#: Field bit sets, best score first (equal scores together).
_BY_SCORE: Final = sorted(range(_FIELDS_MASK + 1), key=lambda fields: -_SCORE[fields])

#: Set in a posting whose positions are 16-bit lanes rather than a bit set (see :func:`_pack`).
_LANES: Final = 0b1000
_POSITIONS_SHIFT: Final = 4
_LANE_BITS: Final = 16
_LANE_MAX: Final = (1 << _LANE_BITS) - 1


def _pack(fields: int, positions: Sequence[int]) -> int:
    """One posting: ``fields`` (bits) and the sorted ``positions`` of a lexeme in a book.

    The positions are a bit set (bit ``p`` for position ``p``), or, when that would be larger
    (few occurrences far into a long description), one 16-bit lane per position holding
    ``p + 1``, flagged by :data:`_LANES`: either way about one machine word for a short book
    and a size linear in the occurrences for a long one.
    """
    last = positions[-1]
    if len(positions) * _LANE_BITS < last < _LANE_MAX:
        lanes = 0
        for position in reversed(positions):
            lanes = (lanes << _LANE_BITS) | (position + 1)
        return (lanes << _POSITIONS_SHIFT) | _LANES | fields
    bits = 0
    for position in positions:
        bits |= 1 << position
    return (bits << _POSITIONS_SHIFT) | fields


def _position_bits(posting: int) -> int:
    """The positions of a posting as a bit set."""
    if not posting & _LANES:
        return posting >> _POSITIONS_SHIFT
    lanes = posting >> _POSITIONS_SHIFT
    bits = 0
    while lanes:  # lanes hold position + 1, so none is 0 before the last
        bits |= 1 << ((lanes & _LANE_MAX) - 1)
        lanes >>= _LANE_BITS
    return bits


class _Record(NamedTuple):
    """What the index keeps per book besides its postings."""

    lexemes: tuple[str, ...]
    words: tuple[str, ...]
    title_length: int
    author_length: int

    def fields_at(self, positions: int) -> int:
        """The fields (bits) holding some of ``positions`` (a bit set)."""
        title, author = self.title_length, self.author_length
        fields = 0
        if positions & ((1 << title) - 1):
            fields |= _TITLE
        if (positions >> (title + 1)) & ((1 << author) - 1):
            fields |= _AUTHOR
        if positions >> (title + author + 2):
            fields |= _DESCRIPTION
        return fields


class _Removed(NamedTuple):
    """A book's entries as they were before a change, to put back on rollback."""

    record: _Record
    lexeme_postings: tuple[int, ...]
    word_fields: tuple[int, ...]


class _Tables(NamedTuple):
    documents: dict[int, _Record]
    lexemes: dict[str, dict[int, int]]
    surface: dict[str, dict[int, int]]


class MemorySearchState:
    """The index's data, shared by every unit of work of one :class:`MemoryStore`."""

    def __init__(self) -> None:
        self.documents: dict[int, _Record] = {}
        self.lexemes: dict[str, dict[int, int]] = {}
        self.surface: dict[str, dict[int, int]] = {}
        self._sorted_words: list[str] | None = None

    @classmethod
    def of(cls, store: MemoryStore) -> MemorySearchState:
        """The state kept in ``store`` (created on first use)."""
        holder = store.table("search_index")
        state = holder.get("state")
        if not isinstance(state, MemorySearchState):
            state = holder["state"] = cls()
        return state

    def take(self) -> _Tables:
        """Empty the index, returning what it held (for :meth:`install`)."""
        tables = _Tables(self.documents, self.lexemes, self.surface)
        self.install(_Tables({}, {}, {}))
        return tables

    def install(self, tables: _Tables) -> None:
        """Hold exactly ``tables``."""
        self.documents, self.lexemes, self.surface = tables
        self._sorted_words = None

    def post(self, document: SearchDocument) -> None:
        """Index ``document`` (its book must not be indexed)."""
        book_id = document.book_id
        positions: dict[str, list[int]] = {}
        lexeme_fields: dict[str, int] = {}
        word_fields: dict[str, int] = {}
        lengths: list[int] = []
        offset = 0
        for name in FIELD_NAMES:
            bit = _FIELD_BIT[name]
            field = document.field(name)  # words and lexemes in position order
            for at, lexeme, word in zip(
                range(offset, offset + len(field.words)), field.lexemes, field.words, strict=True
            ):
                found = positions.get(lexeme)
                if found is None:
                    positions[lexeme] = [at]  # ascending: fields and words come in order
                    lexeme_fields[lexeme] = bit
                else:
                    found.append(at)
                    lexeme_fields[lexeme] |= bit
                word_fields[word] = word_fields.get(word, 0) | bit
            lengths.append(len(field.words))
            offset += len(field.words) + 1  # one unused position: no phrase spans two fields
        lexemes = tuple(sys.intern(lexeme) for lexeme in positions)
        for lexeme in lexemes:
            postings = self.lexemes.get(lexeme)
            if postings is None:
                postings = self.lexemes[lexeme] = {}
            postings[book_id] = _pack(lexeme_fields[lexeme], positions[lexeme])
        words = tuple(sys.intern(word) for word in word_fields)
        for word in words:
            books = self.surface.get(word)
            if books is None:
                books = self.surface[word] = {}
                self._sorted_words = None
            books[book_id] = word_fields[word]
        self.documents[book_id] = _Record(lexemes, words, lengths[0], lengths[1])

    def unpost(self, book_id: int) -> _Removed | None:
        """Forget ``book_id``; what it had, for :meth:`repost` (``None``: not indexed)."""
        record = self.documents.pop(book_id, None)
        if record is None:
            return None
        lexeme_postings = tuple(
            self._pop(self.lexemes, lexeme, book_id) for lexeme in record.lexemes
        )
        word_fields = tuple(self._pop(self.surface, word, book_id) for word in record.words)
        return _Removed(record, lexeme_postings, word_fields)

    def _pop(self, index: dict[str, dict[int, int]], key: str, book_id: int) -> int:
        books = index[key]
        value = books.pop(book_id)
        if not books:
            del index[key]
            if index is self.surface:
                self._sorted_words = None
        return value

    def repost(self, book_id: int, removed: _Removed) -> None:
        """Put back what :meth:`unpost` returned (the book must not be indexed)."""
        record = removed.record
        for lexeme, posting in zip(record.lexemes, removed.lexeme_postings, strict=True):
            self.lexemes.setdefault(lexeme, {})[book_id] = posting
        for word, fields in zip(record.words, removed.word_fields, strict=True):
            books = self.surface.get(word)
            if books is None:
                books = self.surface[word] = {}
                self._sorted_words = None
            books[book_id] = fields
        self.documents[book_id] = record

    def restore(self, book_id: int, removed: _Removed | None) -> None:
        """Index ``book_id`` as :meth:`unpost` found it (``None``: not at all)."""
        self.unpost(book_id)
        if removed is not None:
            self.repost(book_id, removed)

    def words_starting(self, prefix: str) -> list[str]:
        """The indexed surface words starting with ``prefix``, by bisecting the sorted
        vocabulary (rebuilt only after words appeared or disappeared)."""
        if self._sorted_words is None:
            self._sorted_words = sorted(self.surface)
        words = self._sorted_words
        lo = bisect.bisect_left(words, prefix)
        hi = bisect.bisect_left(words, prefix + _LAST_CHAR, lo)
        return words[lo:hi]


class MemorySearchIndex:
    """The ``SearchIndex`` of a memory unit of work; changes roll back with it."""

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._state = MemorySearchState.of(store)
        self._journal = journal

    async def put(self, documents: Sequence[SearchDocument]) -> None:
        for document in documents:
            self._replace(document.book_id, document)

    async def remove(self, book_ids: Sequence[int]) -> None:
        for book_id in book_ids:
            if book_id in self._state.documents:
                self._replace(book_id, None)

    async def clear(self) -> None:
        previous = self._state.take()
        self._journal.on_rollback(partial(self._state.install, previous))

    def _replace(self, book_id: int, document: SearchDocument | None) -> None:
        state = self._state
        removed = state.unpost(book_id)
        if document is not None:
            state.post(document)
        self._journal.on_rollback(partial(state.restore, book_id, removed))

    async def search(
        self,
        query: TextQuery | None,
        filters: SearchFilters,
        order: SearchOrder,
        page: PageRequest,
    ) -> Page[ScoredId]:
        found = self._found(query, filters)
        end = page.offset + page.limit
        listing = order.sort.listing_sort
        if listing is None:
            ids = _best_first(found, end)
        else:
            books: dict[int, Book] = self._store.table("books")
            ordered = order_books([books[book_id] for book_id in found], listing, order.direction)
            ids = [book.id for book in ordered[:end]]
        items = [
            ScoredId(book_id, _SCORE[found[book_id] & _FIELDS_MASK])
            for book_id in ids[page.offset : end]
        ]
        return Page.of(items, len(found), page)

    async def facets(self, query: TextQuery | None, filters: SearchFilters) -> Facets:
        books: dict[int, Book] = self._store.table("books")
        found = [books[book_id] for book_id in self._found(query, filters)]
        return facets_of(found, self._store.table("genres"))

    async def vocabulary(self, near: str, max_distance: int) -> Sequence[VocabularyWord]:
        if not near:
            return []
        return [
            VocabularyWord(word, len(self._state.surface[word]))
            for word in self._state.words_starting(near[0])
            if abs(len(word) - len(near)) <= max_distance
        ]

    # -- matching -----------------------------------------------------------------------

    def _found(self, query: TextQuery | None, filters: SearchFilters) -> Found:
        """The books matching ``query`` and ``filters``, with the fields the query's must
        clauses occur in (none without a query)."""
        books: dict[int, Book] = self._store.table("books")
        if query is None:
            found: Found = dict.fromkeys(books, 0)
        else:
            found = self._must(query.must)
            for clause in query.must_not:
                if not found:
                    break
                for book_id in self._occurrences(clause, within=found):
                    del found[book_id]
            if not books.keys() >= found.keys():  # checked in C, over the matches only
                # Not expected, but the SQL join's rule: an indexed book that is gone is not
                # found.
                found = {book_id: fields for book_id, fields in found.items() if book_id in books}
        if filters == _NO_FILTERS:
            return found
        return _filtered(found, books, filters, self._store.table("genres"))

    def _must(self, clauses: Sequence[Clause]) -> Found:
        """The books every clause occurs in, with the fields some clause occurs in; the most
        selective clauses first, each later one looked up among the books still in."""
        found: Found | None = None
        for clause in sorted(clauses, key=self._cost):
            occurs = self._occurrences(clause, within=found)
            if found is None:
                found = occurs
            else:  # ``occurs`` only holds books of ``found``
                found = {book_id: found[book_id] | fields for book_id, fields in occurs.items()}
            if not found:
                return {}
        return found or {}

    def _cost(self, clause: Clause) -> int:
        """How many postings ``clause`` reads at most (a prefix's are unknown: last)."""
        lexemes = self._state.lexemes
        if isinstance(clause, Term):
            return len(lexemes.get(clause.lexeme, ()))
        if isinstance(clause, Phrase):
            return min(len(lexemes.get(lexeme, ())) for lexeme in clause.lexemes)
        return sys.maxsize

    def _occurrences(self, clause: Clause, within: Found | None) -> Found:
        """Where ``clause`` occurs (only among the ``within`` books, when given)."""
        if isinstance(clause, Term):
            return self._lexeme(clause.lexeme, within)
        if isinstance(clause, Prefix):
            return self._prefix(clause, within)
        return self._phrase(clause, within)

    def _lexeme(self, lexeme: str, within: Found | None) -> Found:
        postings = self._state.lexemes.get(lexeme)
        if not postings:
            return {}
        return dict(postings) if within is None else _among(postings, within)

    def _prefix(self, prefix: Prefix, within: Found | None) -> Found:
        found = self._lexeme(prefix.lexeme, within)
        surface = self._state.surface
        for word in self._state.words_starting(prefix.word):
            books = surface[word] if within is None else _among(surface[word], within)
            # Merge in C where the books are new; combine fields in Python only where both
            # hold the book.
            both = {book_id: found[book_id] | books[book_id] for book_id in books.keys() & found}
            found.update(books)
            found.update(both)
        return found

    def _phrase(self, phrase: Phrase, within: Found | None) -> Found:
        postings: list[dict[int, int]] = []
        for lexeme in phrase.lexemes:
            books = self._state.lexemes.get(lexeme)
            if not books:
                return {}
            postings.append(books)
        rarest = min(postings, key=len)
        candidates = rarest if within is None else _among(rarest, within)
        documents = self._state.documents
        found: Found = {}
        for book_id in candidates:
            starts = -1  # every position; then those where word ``offset`` follows
            for offset, books in enumerate(postings):
                posting = books.get(book_id)
                if posting is None:
                    starts = 0
                    break
                starts &= _position_bits(posting) >> offset
                if not starts:
                    break
            if starts:
                found[book_id] = documents[book_id].fields_at(starts)
        return found


_NO_FILTERS: Final = SearchFilters()


def _filtered(
    found: Found, books: dict[int, Book], filters: SearchFilters, genres: dict[int, Genre]
) -> Found:
    """``found`` narrowed by ``filters``, by the catalog listing's rules (its ``_matches``:
    the genre's subtree, stock above 0, inclusive prices, the author as a case-insensitive
    literal substring), one tight pass per filter given rather than a call per book."""
    if filters.genre_id is not None:
        tree = _subtree(genres, filters.genre_id)
        found = {b: f for b, f in found.items() if books[b].genre_id in tree}
    if filters.in_stock:
        found = {b: f for b, f in found.items() if books[b].stock_quantity > 0}
    if filters.min_price is not None:
        low = filters.min_price
        found = {b: f for b, f in found.items() if books[b].price >= low}
    if filters.max_price is not None:
        high = filters.max_price
        found = {b: f for b, f in found.items() if books[b].price <= high}
    if filters.author is not None:
        needle = filters.author.casefold()
        found = {b: f for b, f in found.items() if needle in books[b].author.casefold()}
    return found


def _among(books: dict[int, int], within: Found) -> dict[int, int]:
    """The entries of ``books`` for the ``within`` books (the intersection is found in C,
    walking the smaller of the two)."""
    return {book_id: books[book_id] for book_id in books.keys() & within.keys()}


def _best_first(found: Found, count: int) -> list[int]:
    """The first ``count`` books of ``found`` by score descending, then id ascending (only
    the score groups that reach into the first ``count`` are sorted)."""
    groups: list[list[int]] = [[] for _ in range(_FIELDS_MASK + 1)]
    for book_id, fields in found.items():
        groups[fields & _FIELDS_MASK].append(book_id)
    ordered: list[int] = []
    group: list[int] = []
    for index, fields in enumerate(_BY_SCORE):
        group.extend(groups[fields])
        following = _BY_SCORE[index + 1] if index + 1 < len(_BY_SCORE) else None
        if following is not None and _SCORE[following] == _SCORE[fields]:
            continue  # the same score: one group, sorted by id together
        group.sort()
        ordered.extend(group)
        group = []
        if len(ordered) >= count:
            break
    return ordered[:count]


def _root(genres: dict[int, Genre], genre_id: int) -> int | None:
    """The top-level genre above ``genre_id`` (itself when top-level); ``None`` when the walk
    finds no top within ``MAX_GENRE_DEPTH`` steps (bad stored data)."""
    current = genres.get(genre_id)
    for _ in range(MAX_GENRE_DEPTH):
        if current is None:
            return None
        if current.parent_id is None:
            return current.id
        current = genres.get(current.parent_id)
    return None


def facets_of(books: Sequence[Book], genres: dict[int, Genre]) -> Facets:
    """The facets of ``books``, in one pass over them."""
    roots: dict[int | None, int | None] = {None: None}  # genre id -> its root, walked once
    per_root: Counter[int] = Counter()
    per_bucket = [0] * len(PRICE_BUCKETS)
    in_stock = 0
    for book in books:
        genre_id = book.genre_id
        if genre_id not in roots:
            roots[genre_id] = _root(genres, genre_id)  # type: ignore[arg-type]
        root = roots[genre_id]
        if root is not None:  # a book without a genre (or under a broken genre path)
            per_root[root] += 1
        price = book.price
        for n, (low, high) in enumerate(PRICE_BUCKETS):
            if (low is None or price >= low) and (high is None or price < high):
                per_bucket[n] += 1
        in_stock += book.stock_quantity > 0
    genre_counts = sorted(
        (GenreCount(gid, genres[gid].name, count) for gid, count in per_root.items()),
        key=lambda g: (-g.count, g.name.casefold(), g.genre_id),
    )
    prices = tuple(
        PriceBucket(low, high, count)
        for (low, high), count in zip(PRICE_BUCKETS, per_bucket, strict=True)
    )
    return Facets(tuple(genre_counts), in_stock, prices)
