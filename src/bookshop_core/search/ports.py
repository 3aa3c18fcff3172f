"""The search index port and the unit of work that carries it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bookshop_core.catalog.ports import CatalogUnitOfWork
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.search.analysis import SearchDocument
from bookshop_core.search.entities import (
    Facets,
    ScoredId,
    SearchFilters,
    SearchOrder,
    VocabularyWord,
)
from bookshop_core.search.query import TextQuery

__all__ = ["SearchIndex", "SearchUnitOfWork"]


class SearchIndex(Protocol):
    """The books' analysed text, kept in the same store (and transaction) as the books.

    Every backend answers exactly the same: a book matches when every ``must`` clause of the
    query occurs in one of its fields (title, author, description) and no ``must_not`` clause
    occurs in any, and the filters hold (read from the books as they are now). Its score is
    4 if some must clause occurs in the title, plus 2 for the author, plus 1 for the
    description. The contract suite in ``bookshop_adapters.testing`` checks an implementation
    against a plain-Python reference.
    """

    async def put(self, documents: Sequence[SearchDocument]) -> None:
        """Index these documents, replacing what was indexed for the same books."""
        ...

    async def remove(self, book_ids: Sequence[int]) -> None:
        """Forget these books (ids not indexed are ignored)."""
        ...

    async def search(
        self,
        query: TextQuery | None,
        filters: SearchFilters,
        order: SearchOrder,
        page: PageRequest,
    ) -> Page[ScoredId]:
        """One page of the matching books' ids with their scores, and the exact total.

        ``query=None`` lists every book the filters keep (score 0). Order: ``relevance`` is
        score descending; every other sort orders exactly as the catalog listing's sort of the
        same name (``order.sort.listing_sort``: the key in ``order.direction``, missing values
        last either way); every order ends with the id ascending. At most two statements (the
        page and the total), whatever the row count. An index may return each page item's
        book with it (``ScoredId.book``, as read in the page's statement), which spares the
        search a read of the page's books.
        """
        ...

    async def facets(self, query: TextQuery | None, filters: SearchFilters) -> Facets:
        """The facets of every matching book, in at most three statements."""
        ...

    async def vocabulary(self, near: str, max_distance: int) -> Sequence[VocabularyWord]:
        """Candidate words for a suggestion close to ``near`` (a folded word).

        Must include every indexed folded surface word that starts with the same character as
        ``near`` and is at most ``max_distance`` edits (Levenshtein) from it, each with the
        exact number of books it occurs in. May include other words: a backend may return the
        whole window of words sharing the first character with a length within
        ``max_distance`` (memory and PostgreSQL do) or measure the distance itself (SQLite
        does, to count books only for close words); the core keeps the close words sharing
        the first character and measures the distance again, so every backend suggests the
        same.
        """
        ...

    async def clear(self) -> None:
        """Forget every book (before a rebuild)."""
        ...


class SearchUnitOfWork(CatalogUnitOfWork, Protocol):
    """What the search context needs from a unit of work: the catalog's repositories and the
    search index, in the same transaction."""

    @property
    def search_index(self) -> SearchIndex: ...
