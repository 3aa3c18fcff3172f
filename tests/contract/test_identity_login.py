"""Identity sign-in edges on every backend: the shared contract in
``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import IdentityLoginContract


class TestIdentityLogin(IdentityLoginContract):
    """Concurrent correct sign-ins, unstorable input, out-of-range token ids, policy shape."""
