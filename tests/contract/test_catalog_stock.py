"""Stock on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import StockContract


class TestStock(StockContract):
    """Stock: absolute and relative changes, the floor at 0, and the restock event."""
