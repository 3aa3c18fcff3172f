"""The OAuth state repository on every backend: the shared contract in
``bookshop_adapters.testing.contract.oauth``."""

from bookshop_adapters.testing.contract.oauth import OAuthStateContract


class TestOAuthStates(OAuthStateContract):
    """Single-use records: take once, atomically; rollback keeps them; purge the expired."""
