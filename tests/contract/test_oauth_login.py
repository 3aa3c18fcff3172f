"""OAuth sign-in on every backend, the real GitHub/Google adapters against the fake providers
over loopback HTTP: the shared contract in ``bookshop_adapters.testing.contract.oauth``."""

from bookshop_adapters.testing.contract.oauth import OAuthLoginContract


class TestOAuthLogin(OAuthLoginContract):
    """Authorization code + PKCE + state (+ nonce): success, linking, every refusal."""
