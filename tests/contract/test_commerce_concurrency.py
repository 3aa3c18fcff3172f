"""Checkout under concurrency on every backend: the shared contract in
``bookshop_adapters.testing.contract.commerce_concurrency``."""

from __future__ import annotations

from bookshop_adapters.testing.contract.commerce_concurrency import CommerceConcurrencyContract


class TestCommerceConcurrency(CommerceConcurrencyContract):
    """Never oversell, buy a cart once, no deadlock, one order per key, stock returned once."""
