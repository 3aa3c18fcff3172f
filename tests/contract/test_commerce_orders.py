"""Orders on every backend: the shared contract in
``bookshop_adapters.testing.contract.commerce_orders``."""

from __future__ import annotations

from bookshop_adapters.testing.contract.commerce_orders import OrderContract


class TestOrders(OrderContract):
    """Own orders only; admin lists and filters; the transition table; cancel returns stock."""
