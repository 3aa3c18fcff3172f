"""The in-memory search index: an inverted index with positions, the reference behaviour of
the ``SearchIndex`` port.

``lexemes[lexeme][book_id][field]`` holds the positions of a lexeme in a field (for terms and
phrases); ``surface[word][book_id]`` the fields a folded word occurs in (for prefixes, found
through a sorted word list and ``bisect``). A text query only ever touches the postings of its
own words, never every book; the filters are applied to those candidates (reading the books as
they are now, like the SQL backends' join). Changes are undone on rollback through the unit of
work's journal.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import partial

from bookshop_adapters.memory.catalog import _matches, _subtree, order_books
from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.catalog.entities import (
    MAX_GENRE_DEPTH,
    Book,
    BookQuery,
    Genre,
)
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.search.analysis import FieldName, SearchDocument
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

Occurrences = dict[int, frozenset[FieldName]]
"""The books a clause occurs in, with the fields it occurs in."""

_LAST_CHAR = "\U0010ffff"


class MemorySearchState:
    """The index's data, shared by every unit of work of one :class:`MemoryStore`."""

    def __init__(self) -> None:
        self.documents: dict[int, SearchDocument] = {}
        self.lexemes: dict[str, dict[int, dict[FieldName, tuple[int, ...]]]] = {}
        self.surface: dict[str, dict[int, frozenset[FieldName]]] = {}
        self._sorted_words: list[str] | None = None

    @classmethod
    def of(cls, store: MemoryStore) -> MemorySearchState:
        """The state kept in ``store`` (created on first use)."""
        holder = store.table("search_index")
        state = holder.get("state")
        if not isinstance(state, MemorySearchState):
            state = holder["state"] = cls()
        return state

    def replace(self, book_id: int, document: SearchDocument | None) -> None:
        """Index ``document`` for ``book_id`` instead of what was (``None``: nothing)."""
        old = self.documents.pop(book_id, None)
        if old is not None:
            self._unpost(old)
        if document is not None:
            self.documents[book_id] = document
            self._post(document)

    def reset(self, documents: Iterable[SearchDocument] = ()) -> None:
        """Index exactly ``documents``."""
        self.documents.clear()
        self.lexemes.clear()
        self.surface.clear()
        self._sorted_words = None
        for document in documents:
            self.documents[document.book_id] = document
            self._post(document)

    def _post(self, document: SearchDocument) -> None:
        book_id = document.book_id
        positions: dict[str, dict[FieldName, list[int]]] = {}
        fields: dict[str, set[FieldName]] = {}
        for field in document.fields:
            for token in field.tokens:
                positions.setdefault(token.lexeme, {}).setdefault(field.name, []).append(
                    token.position
                )
                fields.setdefault(token.word, set()).add(field.name)
        for lexeme, by_field in positions.items():
            self.lexemes.setdefault(lexeme, {})[book_id] = {
                name: tuple(found) for name, found in by_field.items()
            }
        for word, names in fields.items():
            books = self.surface.get(word)
            if books is None:
                books = self.surface[word] = {}
                self._sorted_words = None
            books[book_id] = frozenset(names)

    def _unpost(self, document: SearchDocument) -> None:
        book_id = document.book_id
        for field in document.fields:
            for token in field.tokens:
                postings = self.lexemes.get(token.lexeme)
                if postings is not None:
                    postings.pop(book_id, None)
                    if not postings:
                        del self.lexemes[token.lexeme]
                books = self.surface.get(token.word)
                if books is not None:
                    books.pop(book_id, None)
                    if not books:
                        del self.surface[token.word]
                        self._sorted_words = None

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
        previous = list(self._state.documents.values())
        self._state.reset()
        self._journal.on_rollback(partial(self._state.reset, previous))

    def _replace(self, book_id: int, document: SearchDocument | None) -> None:
        previous = self._state.documents.get(book_id)
        self._state.replace(book_id, document)
        self._journal.on_rollback(partial(self._state.replace, book_id, previous))

    async def search(
        self,
        query: TextQuery | None,
        filters: SearchFilters,
        order: SearchOrder,
        page: PageRequest,
    ) -> Page[ScoredId]:
        scored = self._scored(query, filters)
        ordered = self._ordered(scored, order)
        items = [ScoredId(book.id, scored[book.id]) for book in ordered]
        return Page.of(items[page.offset : page.offset + page.limit], len(items), page)

    async def facets(self, query: TextQuery | None, filters: SearchFilters) -> Facets:
        books: dict[int, Book] = self._store.table("books")
        found = [books[book_id] for book_id in self._scored(query, filters)]
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

    def _scored(self, query: TextQuery | None, filters: SearchFilters) -> dict[int, int]:
        """The books matching ``query`` and ``filters``, with their scores."""
        books: dict[int, Book] = self._store.table("books")
        genres: dict[int, Genre] = self._store.table("genres")
        genre_ids = None if filters.genre_id is None else _subtree(genres, filters.genre_id)
        listing = BookQuery(
            genre_id=filters.genre_id,
            author=filters.author,
            min_price=filters.min_price,
            max_price=filters.max_price,
            in_stock=filters.in_stock,
        )
        if query is None:
            return {book.id: 0 for book in books.values() if _matches(book, listing, genre_ids)}
        fields = self._must(query.must)
        for clause in query.must_not:
            for book_id in self._occurrences(clause, restrict=fields.keys()):
                fields.pop(book_id, None)
        return {
            book_id: sum(FIELD_WEIGHTS[name] for name in names)
            for book_id, names in fields.items()
            if book_id in books and _matches(books[book_id], listing, genre_ids)
        }

    def _must(self, clauses: Sequence[Clause]) -> dict[int, set[FieldName]]:
        """The books every clause occurs in, with the fields some clause occurs in."""
        fields: dict[int, set[FieldName]] | None = None
        for clause in clauses:
            found = self._occurrences(clause, restrict=None if fields is None else fields.keys())
            if fields is None:
                fields = {book_id: set(names) for book_id, names in found.items()}
            else:
                fields = {
                    book_id: names | found[book_id]
                    for book_id, names in fields.items()
                    if book_id in found
                }
            if not fields:
                return {}
        return fields or {}

    def _occurrences(self, clause: Clause, restrict: Iterable[int] | None) -> Occurrences:
        """Where ``clause`` occurs (only among the ``restrict`` books, when given)."""
        wanted = None if restrict is None else set(restrict)
        if isinstance(clause, Term):
            return self._lexeme(clause.lexeme, wanted)
        if isinstance(clause, Prefix):
            found: dict[int, set[FieldName]] = {
                book_id: set(names)
                for book_id, names in self._lexeme(clause.lexeme, wanted).items()
            }
            for word in self._state.words_starting(clause.word):
                for book_id, names in self._state.surface[word].items():
                    if wanted is None or book_id in wanted:
                        found.setdefault(book_id, set()).update(names)
            return {book_id: frozenset(names) for book_id, names in found.items()}
        return self._phrase(clause, wanted)

    def _lexeme(self, lexeme: str, wanted: set[int] | None) -> Occurrences:
        postings = self._state.lexemes.get(lexeme, {})
        if wanted is not None and len(wanted) < len(postings):
            return {b: frozenset(postings[b]) for b in wanted if b in postings}
        return {b: frozenset(by_field) for b, by_field in postings.items()}

    def _phrase(self, phrase: Phrase, wanted: set[int] | None) -> Occurrences:
        lexemes = self._state.lexemes
        postings = [lexemes.get(lexeme, {}) for lexeme in phrase.lexemes]
        rarest = min(postings, key=len)
        found: Occurrences = {}
        for book_id in rarest:
            if wanted is not None and book_id not in wanted:
                continue
            if not all(book_id in p for p in postings):
                continue
            names = frozenset(
                name
                for name in postings[0][book_id]
                if _adjacent([p[book_id].get(name, ()) for p in postings])
            )
            if names:
                found[book_id] = names
        return found

    def _ordered(self, scored: dict[int, int], order: SearchOrder) -> list[Book]:
        books: dict[int, Book] = self._store.table("books")
        found = [books[book_id] for book_id in scored]
        listing = order.sort.listing_sort
        if listing is None:
            return sorted(found, key=lambda b: (-scored[b.id], b.id))
        return order_books(found, listing, order.direction)


def _adjacent(positions: list[tuple[int, ...]]) -> bool:
    """Whether some position ``p`` has ``p + i`` in ``positions[i]`` for every ``i``."""
    starts = set(positions[0])
    for offset, found in enumerate(positions[1:], start=1):
        starts &= {p - offset for p in found}
        if not starts:
            return False
    return bool(starts)


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
    """The facets of ``books`` (shared with the reference matcher)."""
    roots: Counter[int] = Counter()
    for book in books:
        root = None if book.genre_id is None else _root(genres, book.genre_id)
        if root is not None:
            roots[root] += 1
    genre_counts = sorted(
        (GenreCount(gid, genres[gid].name, count) for gid, count in roots.items()),
        key=lambda g: (-g.count, g.name.casefold(), g.genre_id),
    )
    prices = tuple(
        PriceBucket(
            low,
            high,
            sum(
                1
                for b in books
                if (low is None or b.price >= low) and (high is None or b.price < high)
            ),
        )
        for low, high in PRICE_BUCKETS
    )
    in_stock = sum(1 for b in books if b.stock_quantity > 0)
    return Facets(tuple(genre_counts), in_stock, prices)
