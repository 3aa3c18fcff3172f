"""The transactional outbox on every backend: the shared contract in
``bookshop_adapters.testing.contract.outbox``, and the statement budget of a dispatch pass on
the SQL backends."""

from __future__ import annotations

import pytest

from bookshop_adapters.bootstrap import ShopSettings
from bookshop_adapters.mail import MemoryMailer
from bookshop_adapters.testing.contract.outbox import (
    OUTBOX_SETTINGS,
    OutboxContract,
    queue_messages,
    template_renderer,
)
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.kernel.clock import ManualClock


class TestOutbox(OutboxContract):
    """Queued in the transaction, retried with backoff, leases, concurrent dispatchers."""


@pytest.mark.bookshop_backends("sqlite", "postgres")
@pytest.mark.parametrize("failing", [False, True], ids=["sent", "failed"])
async def test_a_dispatch_pass_costs_the_same_for_1_and_50_messages(
    make_shop: MakeShop, clock: ManualClock, failing: bool
) -> None:
    """Claim, then mark sent, failed and released: four statements whatever the batch."""
    from bookshop_adapters.sqlalchemy import count_statements

    mailer = MemoryMailer()
    settings = ShopSettings(outbox=OUTBOX_SETTINGS)
    async with make_shop(settings=settings, mailer=mailer, renderer=template_renderer()) as shop:
        counts = []
        for size in (1, 50):
            await queue_messages(shop, clock, size)
            mailer.fail_next(size if failing else 0)
            with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
                report = await shop.dispatcher.dispatch_pending()
            assert report.claimed == size
            counts.append(counted.count)
    assert counts[0] == counts[1] <= 4, counts
