"""Statement budget of ``Search.reindex`` on the SQL backends: rebuilding the index of N books
costs a fixed number of statements per batch (a keyset read of the next books, their index
writes), so the total is linear in N / batch: no read of the whole catalog per batch.

Like ``test_search_budget.py``: measure on a small store, grow it tenfold, measure again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing import ADMIN
from bookshop_core import NewBook

pytestmark = pytest.mark.bookshop_backends("sqlite", "postgres")

BATCH = 10
SMALL, LARGE = 2 * BATCH, 20 * BATCH
#: A keyset read, the full-text write, the postings' delete and insert (and on PostgreSQL the
#: lock of the batch's books before them).
MAX_STATEMENTS_PER_BATCH = 5


async def _add_books(shop: Shop, count: int) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    books = [
        NewBook(
            title=f"Book {n}",
            author="Author",
            price=Decimal("9.99"),
            isbn=None,
            genre_id=None,
            description="words to index",
            cover_image_url=None,
            publish_date=None,
            stock_quantity=0,
            created_at=now,
        )
        for n in range(count)
    ]
    async with shop.unit_of_work() as uow:
        await uow.books.add_many(books)
        await uow.commit()


async def _reindex_statements(shop: Shop) -> int:
    from bookshop_adapters.sqlalchemy import count_statements

    with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
        indexed = await shop.search.reindex(ADMIN, batch=BATCH)
    assert indexed == (await shop.catalog.list_books()).total
    return len(counted.statements)


async def test_reindex_costs_the_same_statements_per_batch_whatever_the_size(shop: Shop) -> None:
    """Ten times the books, ten times the batches: each batch costs the same few statements
    and nothing else grows with the catalog."""
    await _add_books(shop, SMALL)
    small = await _reindex_statements(shop)
    await _add_books(shop, LARGE - SMALL)
    large = await _reindex_statements(shop)
    per_batch, rest = divmod(large - small, (LARGE - SMALL) // BATCH)
    assert rest == 0, (small, large)
    assert 1 <= per_batch <= MAX_STATEMENTS_PER_BATCH, (small, large)
    assert small - per_batch * (SMALL // BATCH) <= 2 * MAX_STATEMENTS_PER_BATCH, (small, large)
