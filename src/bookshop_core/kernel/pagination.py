"""Pagination: a page request with sane caps, and a page with its exact total."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from attrs import field, frozen

from bookshop_core.errors import FieldError, ValidationError

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Page", "PageRequest"]

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
#: Deep pages cost a scan; beyond this offset a client should narrow its filters instead.
MAX_OFFSET = 1_000_000


@frozen
class PageRequest:
    """Which page to fetch: ``page`` from 1, ``size`` from 1 to :data:`MAX_PAGE_SIZE`.

    Raises:
        ValidationError: out-of-range page or size (both reported at once).
    """

    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    def __attrs_post_init__(self) -> None:
        errors = []
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            errors.append(FieldError(("page",), "must be an integer >= 1"))
        if (
            isinstance(self.size, bool)
            or not isinstance(self.size, int)
            or not 1 <= self.size <= MAX_PAGE_SIZE
        ):
            errors.append(FieldError(("size",), f"must be an integer from 1 to {MAX_PAGE_SIZE}"))
        if not errors and (self.page - 1) * self.size > MAX_OFFSET:
            errors.append(FieldError(("page",), "is too deep; narrow the filters"))
        if errors:
            raise ValidationError(errors)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def limit(self) -> int:
        return self.size


@frozen
class Page(Generic[T]):
    """One page of results and the exact number of results across all pages."""

    items: tuple[T, ...] = field(converter=tuple)
    total: int
    page: int
    size: int

    @property
    def total_pages(self) -> int:
        return -(-self.total // self.size) if self.total else 0

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        """The same page with ``fn`` applied to each item."""
        return Page(tuple(fn(item) for item in self.items), self.total, self.page, self.size)

    @classmethod
    def of(cls, items: Sequence[T], total: int, request: PageRequest) -> Page[T]:
        return cls(tuple(items), total, request.page, request.size)
