"""Search on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import SearchContract, SearchProperties


class TestSearch(SearchContract):
    """Matching, ranking, filters, sorts, pagination, hostile input and index upkeep."""


class TestSearchProperties(SearchProperties):
    """Random catalogs and queries answer as the reference matcher."""
