"""retry_busy: a transaction the store refused as busy runs again, a bounded number of times."""

from __future__ import annotations

import pytest

from bookshop_core.errors import StoreBusy, StoreUnavailable
from bookshop_core.kernel.uow import BUSY_ATTEMPTS, retry_busy


async def test_a_busy_transaction_runs_again_until_it_succeeds() -> None:
    """Two refusals, then success: the caller sees only the result."""
    calls: list[int] = []

    async def transaction() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise StoreBusy()
        return "done"

    assert await retry_busy(transaction) == "done"
    assert len(calls) == 3


async def test_a_store_that_stays_busy_is_reported_after_the_last_attempt() -> None:
    """Retries are bounded: STORE_BUSY reaches the caller after BUSY_ATTEMPTS runs."""
    calls: list[int] = []

    async def transaction() -> None:
        calls.append(1)
        raise StoreBusy()

    with pytest.raises(StoreBusy):
        await retry_busy(transaction)
    assert len(calls) == BUSY_ATTEMPTS


async def test_other_errors_are_not_retried() -> None:
    """Only a busy store is worth another run; anything else propagates at once."""
    calls: list[int] = []

    async def transaction() -> None:
        calls.append(1)
        raise StoreUnavailable()

    with pytest.raises(StoreUnavailable):
        await retry_busy(transaction)
    assert len(calls) == 1
