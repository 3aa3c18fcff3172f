"""The memory search index's compact layout: what its packed postings must still answer.

The rules themselves are pinned once for every backend by the search contract; these tests reach
the parts of the memory layout the contract's small books do not: positions far into a long
description (stored as 16-bit lanes rather than a bit set), fields told apart by a book's own
field lengths, and a rollback of a cleared and rewritten index.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.memory.search import _pack, _position_bits
from bookshop_adapters.testing.builders import add_book
from bookshop_adapters.testing.contract.search import search_ids
from bookshop_core.kernel.pagination import PageRequest
from bookshop_core.search.entities import SearchFilters, SearchOrder
from bookshop_core.search.query import parse

pytestmark = pytest.mark.bookshop_backends("memory")

FIRST_PAGE = PageRequest(1, 20)
FILLER = " ".join(f"w{n}" for n in range(800))


async def test_phrases_and_fields_far_into_a_long_description(shop: Shop) -> None:
    """Words past the 800th of a description: adjacency and their field are exact."""
    long = await add_book(
        shop, "Quiet", author="Anon", description=f"{FILLER} amber sky {FILLER} sky amber"
    )
    short = await add_book(shop, "Amber sky", author="Anon")
    assert await search_ids(shop, '"amber sky"') == [short.id, long.id]  # title 4, description 1
    assert await search_ids(shop, '"sky amber"') == [long.id]
    assert await search_ids(shop, '"w799 amber"') == [long.id]
    assert await search_ids(shop, '"amber w0"') == []
    assert await search_ids(shop, '"quiet anon"') == []  # title then author: two fields


async def test_a_phrase_repeating_a_word(shop: Shop) -> None:
    """``"very very"`` needs the word twice in a row, wherever the field starts."""
    twice = await add_book(shop, "Very very good", author="Very Anon")
    await add_book(shop, "Very good", author="Very Anon", description="very")
    assert await search_ids(shop, '"very very"') == [twice.id]


async def test_a_rolled_back_clear_and_rewrite_leaves_every_answer_as_it_was(shop: Shop) -> None:
    """Clearing, re-putting and removing in one transaction, then rolling back, restores the
    postings, the prefixes, the phrases and the vocabulary."""
    first = await add_book(shop, "Silent spring", description="birds singing in spring")
    second = await add_book(shop, "Spring tide", author="Sea Writer")
    queries = ["spring", "spr", '"silent spring"', "sea", "singing birds", "tide -silent"]
    before = {q: await search_ids(shop, q) for q in queries}
    assert before["spring"] == [first.id, second.id]
    analyzer = shop.search.analyzer

    async with shop.unit_of_work() as uow:
        index = uow.search_index
        vocabulary = await index.vocabulary("sprinf", 2)
        await index.put([analyzer.document_of(first.id, title="Loud", author="X", description="")])
        await index.clear()
        await index.put(
            [analyzer.document_of(second.id, title="Autumn", author="Y", description="")]
        )
        await index.put(
            [analyzer.document_of(first.id, title="Winter", author="Z", description="")]
        )
        await index.remove([second.id])
        found = await index.search(
            parse("winter", analyzer), SearchFilters(), SearchOrder(), FIRST_PAGE
        )
        assert [s.book_id for s in found.items] == [first.id]
        await uow.rollback()

    assert {q: await search_ids(shop, q) for q in queries} == before
    async with shop.unit_of_work(read_only=True) as uow:
        assert await uow.search_index.vocabulary("sprinf", 2) == vocabulary
        empty = await uow.search_index.search(
            parse("winter", analyzer), SearchFilters(), SearchOrder(), FIRST_PAGE
        )
        assert empty.total == 0


@given(
    st.integers(0, 7),
    st.sets(st.integers(0, 20_000), min_size=1, max_size=40).map(sorted),
)
def test_a_posting_keeps_its_fields_and_exact_positions(fields: int, positions: list[int]) -> None:
    """Packed as a bit set or as lanes, a posting gives back its fields and positions."""
    posting = _pack(fields, positions)
    assert posting & 0b111 == fields
    assert _position_bits(posting) == sum(1 << p for p in positions)
