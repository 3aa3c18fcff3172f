"""Google ID tokens presented by clients, on every backend: the shared contract in
``bookshop_adapters.testing.contract.oauth``."""

from bookshop_adapters.testing.contract.oauth import OAuthGoogleIdTokenContract


class TestGoogleIdToken(OAuthGoogleIdTokenContract):
    """``exchange_google_id_token``: verification, linking, refusals."""
