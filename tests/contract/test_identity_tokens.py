"""Identity on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import IdentityTokenContract


class TestIdentityTokens(IdentityTokenContract):
    """The bad-token corpus, refresh rotation and reuse, concurrent refreshes, logout."""
