"""Page requests are bounded; pages carry their exact total."""

from __future__ import annotations

import pytest

from bookshop_core import Page, PageRequest, ValidationError
from bookshop_core.kernel.pagination import MAX_OFFSET, MAX_PAGE_SIZE


def test_defaults_are_the_first_page_of_twenty() -> None:
    """Without arguments a request asks for page 1 of 20 items."""
    request = PageRequest()
    assert (request.page, request.size, request.offset, request.limit) == (1, 20, 0, 20)


def test_offset_follows_page_and_size() -> None:
    """Page 3 of 25 starts after 50 items."""
    assert PageRequest(page=3, size=25).offset == 50


@pytest.mark.parametrize(
    ("page", "size", "fields"),
    [
        (0, 20, {"page"}),
        (1, 0, {"size"}),
        (1, MAX_PAGE_SIZE + 1, {"size"}),
        (0, 0, {"page", "size"}),
        (True, 20, {"page"}),
        (1, "20", {"size"}),
        (MAX_OFFSET, MAX_PAGE_SIZE, {"page"}),
    ],
)
def test_out_of_range_requests_name_every_bad_field(
    page: object, size: object, fields: set[str]
) -> None:
    """Bad pages and sizes are one ValidationError naming each of them."""
    with pytest.raises(ValidationError) as caught:
        PageRequest(page, size)  # type: ignore[arg-type]
    assert {error.loc[0] for error in caught.value.errors} == fields


def test_largest_page_size_is_allowed() -> None:
    """A page may hold MAX_PAGE_SIZE items."""
    assert PageRequest(size=MAX_PAGE_SIZE).limit == MAX_PAGE_SIZE


@pytest.mark.parametrize(("total", "pages"), [(0, 0), (1, 1), (10, 1), (11, 2), (25, 3)])
def test_total_pages_rounds_up(total: int, pages: int) -> None:
    """The number of pages is the total divided by the size, rounded up."""
    assert Page((), total, 1, 10).total_pages == pages


def test_page_map_keeps_the_paging() -> None:
    """Mapping a page transforms its items and keeps total, page and size."""
    page = Page.of([1, 2, 3], 30, PageRequest(page=2, size=3))
    mapped = page.map(str)
    assert mapped == Page(("1", "2", "3"), 30, 2, 3)
