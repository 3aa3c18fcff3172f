"""The search command: what a shopper asks for, validated on construction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from attrs import field, frozen

from bookshop_core.catalog.commands import (
    _GENRE_ID,
    AUTHOR_MAX,
    _choice,
    _money,
    check_listing,
)
from bookshop_core.catalog.entities import SortDirection
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, PageRequest
from bookshop_core.kernel.validation import (
    Problems,
    check_flag,
    check_page,
    check_page_size,
    has_lone_surrogates,
    install_normalisers,
    rule,
    text,
)
from bookshop_core.search.entities import SearchFilters, SearchOrder, SearchSort
from bookshop_core.search.query import MAX_QUERY_LENGTH

__all__ = ["SORT_ALIASES", "SearchBooks"]

#: Other names a search accepts for a sort: ``newest`` is ``created_at`` (newest first by
#: default).
SORT_ALIASES: Final = {"newest": SearchSort.CREATED_AT}


def _sort_value(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, SearchSort):
        alias = SORT_ALIASES.get(str(value))
        if alias is not None:
            return alias
        try:
            return SearchSort(str(value))
        except ValueError:
            return value
    return value


def _check_sort(problems: Problems, name: str, value: Any) -> None:
    if value is not None and not isinstance(value, SearchSort):
        allowed = ", ".join([*(s.value for s in SearchSort), *SORT_ALIASES])
        problems.add(name, f"must be one of: {allowed}", "enum")


def _check_q(problems: Problems, name: str, value: Any) -> None:
    if not isinstance(value, str):
        problems.add(name, "must be a string", "type_error")
    elif len(value) > MAX_QUERY_LENGTH:
        problems.add(name, f"must have at most {MAX_QUERY_LENGTH} characters")
    elif has_lone_surrogates(value):
        problems.add(name, "must be valid Unicode (no lone surrogates)")


@frozen(field_transformer=install_normalisers)
class SearchBooks:
    """Search the catalog: a text query (see :mod:`bookshop_core.search.query`), filters,
    order and page, and the optional extras.

    ``sort`` defaults to ``relevance`` with a text query and ``title`` without; besides
    ``relevance`` it takes every sort of the catalog listing (``title``, ``price``, ``date``,
    ``created_at``, ``avg_rating``), which orders the results exactly as the listing does, and
    ``newest`` (``created_at``). ``sort_dir`` defaults to descending for ``created_at`` and
    ``avg_rating`` and ascending otherwise (``relevance`` is always best first).

    Args:
        q: What the shopper typed (blank: no text query, a plain filtered listing).
        facets: Also count the results per top-level genre, in stock and per price bucket.
        suggest: When nothing is found, suggest a close query from the catalog's words.
        highlight: Return highlighted fragments of the fields that matched.

    Raises:
        ValidationError: every bad field at once (a query the parser refuses is reported on
            ``q`` when the search runs).
    """

    q: str = field(default="", metadata=rule(_check_q))
    genre_id: int | None = field(default=None, metadata=_GENRE_ID)
    author: str | None = field(default=None, metadata=text(max_length=AUTHOR_MAX, nullable=True))
    min_price: Decimal | None = field(default=None, metadata=_money(positive=False))
    max_price: Decimal | None = field(default=None, metadata=_money(positive=False))
    in_stock: bool = field(default=False, metadata=rule(check_flag))
    sort: SearchSort | None = field(default=None, metadata=rule(_check_sort, _sort_value))
    sort_dir: SortDirection | None = field(
        default=None, metadata=_choice(SortDirection, nullable=True)
    )
    page: int = field(default=1, metadata=rule(check_page))
    size: int = field(default=DEFAULT_PAGE_SIZE, metadata=rule(check_page_size))
    facets: bool = field(default=False, metadata=rule(check_flag))
    suggest: bool = field(default=True, metadata=rule(check_flag))
    highlight: bool = field(default=False, metadata=rule(check_flag))

    def __attrs_post_init__(self) -> None:
        check_listing(self)

    @property
    def has_text(self) -> bool:
        """Whether ``q`` holds anything but whitespace."""
        return bool(self.q.strip())

    @property
    def order(self) -> SearchOrder:
        """The effective sort and direction."""
        sort = self.sort or (SearchSort.RELEVANCE if self.has_text else SearchSort.TITLE)
        return SearchOrder(sort, self.sort_dir or sort.default_direction)

    @property
    def filters(self) -> SearchFilters:
        return SearchFilters(
            genre_id=self.genre_id,
            author=self.author,
            min_price=self.min_price,
            max_price=self.max_price,
            in_stock=self.in_stock,
        )

    @property
    def page_request(self) -> PageRequest:
        return PageRequest(self.page, self.size)
