"""Authorization on every backend: the shared contract in ``bookshop_adapters.testing.contract``."""

from bookshop_adapters.testing.contract import AuthorizationContract


class TestAuthorization(AuthorizationContract):
    """Authorization: AUTH_FORBIDDEN for every catalog change by a non-admin."""
