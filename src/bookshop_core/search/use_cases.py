"""Search use cases: search the catalog, rebuild the index; and the handlers that keep the
index in step with the catalog inside the catalog's own transactions."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

from bookshop_core.catalog.entities import Book, BooksChanged, BooksRemoved
from bookshop_core.kernel.events import EventBus
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.principal import Principal, require_admin
from bookshop_core.kernel.uow import Transactions
from bookshop_core.search.analysis import FIELD_NAMES, Analyzer, FieldName, TokenSpan
from bookshop_core.search.commands import SearchBooks
from bookshop_core.search.entities import (
    Highlight,
    Hit,
    SearchFilters,
    SearchOrder,
    SearchResult,
    VocabularyWord,
)
from bookshop_core.search.ports import SearchIndex, SearchUnitOfWork
from bookshop_core.search.query import Clause, Prefix, Term, TextQuery, parse

__all__ = [
    "FRAGMENT_LENGTH",
    "MAX_SUGGESTION_DISTANCE",
    "Search",
    "SearchIndexing",
    "highlight",
    "levenshtein",
    "suggest_word",
]

#: "Did you mean" replaces a word by an indexed word at most this many edits away.
MAX_SUGGESTION_DISTANCE: Final = 2
#: Shorter words are never replaced (everything is two edits from a two-letter word).
MIN_SUGGESTION_LENGTH: Final = 3
#: About how many characters of a field a highlight shows.
FRAGMENT_LENGTH: Final = 160


class SearchIndexing:
    """The in-transaction handlers that keep the index in step with the catalog.

    Subscribed by ``build_shop`` (:meth:`subscribe`), they run inside the transaction of the
    catalog change, so the index commits or rolls back with it.

    Args:
        analyzer: The analyzer of the shop's index.
    """

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer

    def subscribe(self, bus: EventBus) -> None:
        """Run the handlers for every :class:`BooksChanged` and :class:`BooksRemoved`."""
        bus.subscribe_in_transaction(BooksChanged, self.index_books)
        bus.subscribe_in_transaction(BooksRemoved, self.unindex_books)

    async def index_books(self, event: BooksChanged, uow: SearchUnitOfWork) -> None:
        """Index the changed books as they are now (a book gone meanwhile is forgotten)."""
        books = await uow.books.get_many(event.book_ids)
        await uow.search_index.put([self.analyzer.document(book) for book in books])
        gone = set(event.book_ids) - {book.id for book in books}
        if gone:
            await uow.search_index.remove(sorted(gone))

    async def unindex_books(self, event: BooksRemoved, uow: SearchUnitOfWork) -> None:
        """Forget the deleted books."""
        await uow.search_index.remove(event.book_ids)


class Search:
    """The search context's use cases.

    Args:
        transactions: Opens units of work carrying the search index.
        analyzer: The analyzer the index was built with.
    """

    def __init__(self, transactions: Transactions[SearchUnitOfWork], analyzer: Analyzer) -> None:
        self._tx = transactions
        self.analyzer = analyzer

    async def search(self, command: SearchBooks | None = None) -> SearchResult:
        """One page of the books matching the query and filters, with the exact total.

        In one read-only unit of work and a bounded number of statements whatever the number
        of matches: the page and its total (2), the page's books (1, unless the index read
        them with the page), the facets when asked for (at most 3); a suggestion is looked
        for only when a text query found nothing. With facets every statement reads one
        snapshot (the facets agree with the page); without, the unit of work keeps no
        snapshot across statements (see below).

        Raises:
            ValidationError: (on ``q``) a query the parser refuses (see
                :mod:`bookshop_core.search.query`).
        """
        command = command or SearchBooks()
        query = parse(command.q, self.analyzer)
        filters, request = command.filters, command.page_request
        # Without facets a search is, in the common case, one statement (the page, with its
        # exact total and its books), which needs no snapshot shared with another: the read
        # runs without a transaction (no BEGIN and ROLLBACK round trips on a SQL store). The
        # statements that may follow disagree harmlessly with the page if a commit falls in
        # between: the count of a page past the end (its total, with no items to contradict
        # it), the page's books for an index that did not read them with it (a book deleted
        # meanwhile is left out, as it would be a moment later), the suggestion for a query
        # that found nothing (a hint, not a result). Facets must agree with the page: one
        # snapshot then.
        async with self._tx.read(snapshot=command.facets) as uow:
            index = uow.search_index
            found = await index.search(query, filters, command.order, request)
            books = {s.book_id: s.book for s in found.items if s.book is not None}
            missing = [s.book_id for s in found.items if s.book is None]
            if missing:  # an index that did not read the page's books with it
                books.update({b.id: b for b in await uow.books.get_many(missing)})
            facets = await index.facets(query, filters) if command.facets else None
            suggestion = None
            if command.suggest and query is not None and found.total == 0:
                suggestion = await _suggestion(index, query)
        hits = [
            Hit(
                books[s.book_id],
                s.score,
                highlight(self.analyzer, books[s.book_id], query)
                if command.highlight and query is not None
                else (),
            )
            for s in found.items
            if s.book_id in books
        ]
        return SearchResult(Page.of(hits, found.total, request), facets, suggestion)

    async def reindex(self, principal: Principal, *, batch: int = 500) -> int:
        """Rebuild the whole index from the books (after the analyzer changed), in one
        transaction.

        The books are read in id order, ``batch`` at a time (``books.books_after``: each batch
        is one bounded read, whatever the catalog's size), and each batch is analysed and put
        at once, replacing what was indexed for its books: the work is linear in the number of
        books. (The index is not cleared first: it holds no book that ``books`` lacks, as
        deleting a book unindexes it, and clearing it would make every concurrent writer of a
        book wait for the whole rebuild.)

        Args:
            principal: Must be an admin.
            batch: How many books are read and written at a time (at least 1).

        Returns:
            How many books were indexed.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN`` for non-admins.
        """
        require_admin(principal)
        batch = max(1, batch)
        count = 0
        async with self._tx.write() as tx:
            books, index = tx.uow.books, tx.uow.search_index
            last_id = 0
            while True:
                found = await books.books_after(last_id, batch)
                if not found:
                    break
                await index.put([self.analyzer.document(book) for book in found])
                count += len(found)
                if len(found) < batch:
                    break
                last_id = found[-1].id
            await tx.commit()
        return count


# -- did you mean ---------------------------------------------------------------------------


def levenshtein(a: str, b: str, limit: int) -> int:
    """The edit distance of ``a`` and ``b`` (insert, delete, substitute), or ``limit + 1``
    when it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return min(previous[-1], limit + 1)


def suggest_word(word: str, candidates: Sequence[VocabularyWord]) -> str | None:
    """The candidate closest to ``word`` that shares its first character and is at most
    :data:`MAX_SUGGESTION_DISTANCE` edits away: the nearest, then the one in most books, then
    alphabetically first; ``None`` when there is none."""
    best: tuple[int, int, str] | None = None
    for candidate in candidates:
        other = candidate.word
        if other == word or not other or other[0] != word[0]:
            continue
        distance = levenshtein(word, other, MAX_SUGGESTION_DISTANCE)
        if distance > MAX_SUGGESTION_DISTANCE:
            continue
        key = (distance, -candidate.documents, other)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


async def _suggestion(index: SearchIndex, query: TextQuery) -> str | None:
    """The query with each word that finds nothing on its own replaced by the closest
    indexed word; ``None`` when no word changes."""
    changed = False
    must: list[Clause] = []
    for clause in query.must:
        replacement = None
        if isinstance(clause, Term | Prefix):
            word = clause.word or clause.lexeme
            if len(word) >= MIN_SUGGESTION_LENGTH and not await _finds_any(index, clause):
                near = await index.vocabulary(word, MAX_SUGGESTION_DISTANCE)
                replacement = suggest_word(word, near)
        if replacement is None:
            must.append(clause)
        else:
            changed = True
            must.append(Term(replacement, replacement))
    return TextQuery(tuple(must), query.must_not).text() if changed else None


async def _finds_any(index: SearchIndex, clause: Clause) -> bool:
    page = await index.search(
        TextQuery((clause,)), SearchFilters(), SearchOrder(), PageRequest(1, 1)
    )
    return page.total > 0


# -- highlights -----------------------------------------------------------------------------


def _marked(spans: list[TokenSpan], clauses: Sequence[Clause]) -> list[TokenSpan]:
    """The spans of ``spans`` that some clause matches (every word of a matched phrase)."""
    marked: set[int] = set()
    lexemes = [s.token.lexeme for s in spans]
    for clause in clauses:
        if isinstance(clause, Term):
            marked.update(i for i, lex in enumerate(lexemes) if lex == clause.lexeme)
        elif isinstance(clause, Prefix):
            marked.update(
                i
                for i, s in enumerate(spans)
                if s.token.word.startswith(clause.word) or s.token.lexeme == clause.lexeme
            )
        else:
            n = len(clause.lexemes)
            for i in range(len(lexemes) - n + 1):
                if tuple(lexemes[i : i + n]) == clause.lexemes:
                    marked.update(range(i, i + n))
    return [spans[i] for i in sorted(marked)]


def _fragment(text: str, marked: list[TokenSpan]) -> str:
    """About :data:`FRAGMENT_LENGTH` characters of ``text`` around its first marked word,
    HTML-escaped, the marked words wrapped in ``<mark>``."""
    first = marked[0]
    start = 0
    if len(text) > FRAGMENT_LENGTH:
        start = max(0, min(first.start - FRAGMENT_LENGTH // 3, len(text) - FRAGMENT_LENGTH))
        while start > 0 and not text[start - 1].isspace() and first.start - start < 80:
            start -= 1  # do not cut the word the fragment starts in
    end = min(len(text), start + FRAGMENT_LENGTH)
    while end < len(text) and not text[end].isspace() and end - start < FRAGMENT_LENGTH + 40:
        end += 1
    out: list[str] = ["…" if start > 0 else ""]
    cursor = start
    for span in marked:
        if span.start < cursor or span.end > end:
            continue
        out.append(html.escape(text[cursor : span.start]))
        out.append(f"<mark>{html.escape(text[span.start : span.end])}</mark>")
        cursor = span.end
    out.append(html.escape(text[cursor:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out).strip()


def highlight(analyzer: Analyzer, book: Book, query: TextQuery) -> tuple[Highlight, ...]:
    """A fragment of each field of ``book`` that a must clause of ``query`` matches, in
    title, author, description order."""
    texts: dict[FieldName, str | None] = {
        "title": book.title,
        "author": book.author,
        "description": book.description,
    }
    found: list[Highlight] = []
    for name in FIELD_NAMES:
        text = texts[name]
        if not text:
            continue
        marked = _marked(analyzer.spans(text), query.must)
        if marked:
            found.append(Highlight(name, _fragment(text, marked)))
    return tuple(found)
