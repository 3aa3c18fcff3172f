"""Google ID tokens presented by clients, on every backend: the shared contract in
``bookshop_adapters.testing.contract.oauth``."""

from collections.abc import AsyncIterator

import pytest_asyncio

from bookshop_adapters import Shop
from bookshop_adapters.testing.contract.oauth import OAuthGoogleIdTokenContract
from bookshop_adapters.testing.identity import open_test_shop
from bookshop_core import ManualClock


@pytest_asyncio.fixture
async def shop(backend_url: str, clock: ManualClock) -> AsyncIterator[Shop]:
    """A shop with the fast test hasher; the contract configures OAuth through the environment."""
    async with open_test_shop(backend_url, clock=clock) as opened:
        yield opened


class TestGoogleIdToken(OAuthGoogleIdTokenContract):
    """``exchange_google_id_token``: verification, linking, refusals."""
