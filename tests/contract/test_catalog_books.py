"""Books on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import BookContract


class TestBooks(BookContract):
    """Books: create, get, update only given fields, delete, unique ISBNs, known genres."""
