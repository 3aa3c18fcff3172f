"""Checkout on every backend: the shared contract in
``bookshop_adapters.testing.contract.commerce_checkout``."""

from __future__ import annotations

from bookshop_adapters.testing.contract.commerce_checkout import CheckoutContract


class TestCheckout(CheckoutContract):
    """All or nothing; payment outside transactions; declines, crashes, recovery, keys."""
