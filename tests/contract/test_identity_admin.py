"""Identity on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import IdentityAdminContract


class TestIdentityAdmin(IdentityAdminContract):
    """Listing users, deactivation, roles, the last admin, who may do what."""
