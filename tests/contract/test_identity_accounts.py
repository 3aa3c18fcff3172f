"""Identity on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import IdentityAccountContract


class TestIdentityAccounts(IdentityAccountContract):
    """Registration, password policy, login, throttling, rehash, operators, external sign-in."""
