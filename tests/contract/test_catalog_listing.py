"""Listing books on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import ListingContract


class TestListing(ListingContract):
    """Listing books: each filter alone and combined, each sort both ways, pagination."""
