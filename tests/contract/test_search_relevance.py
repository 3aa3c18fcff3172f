"""Search relevance on every backend: the shared contract in
``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import SearchRelevanceContract


class TestSearchRelevance(SearchRelevanceContract):
    """Relevance expectations on the demo catalog: ranking, syntax, filters, facets,
    suggestions."""
