"""The contract suite: how every backend must behave, written once against the use cases.

Each class holds the tests of one topic (catalog, identity, OAuth, whole-shop properties and
the :class:`~bookshop_adapters.testing.ShopMachine`). They take the fixtures of
``bookshop_adapters.testing.pytest_plugin``, which all derive from one hook,
``bookshop_backend_factory``; running them on a backend is a matter of subclassing them in a
test module::

    # tests/test_my_backend.py
    from bookshop_adapters.testing import contract

    class TestBooks(contract.BookContract):
        "The catalog's book rules, on my store."

    class TestTokens(contract.IdentityTokenContract):
        "Refresh rotation, reuse detection, logout, on my store."

with ``pytest_plugins = ["bookshop_adapters.testing.pytest_plugin"]`` and your
``bookshop_backend_factory`` fixture in the ``conftest.py`` (see ``docs/testing.md``).
A backend quirk is a marked skip with a reason inside the shared test, never a forked copy.
"""

from bookshop_adapters.testing.contract.analytics import AnalyticsContract, AnalyticsProperties
from bookshop_adapters.testing.contract.authorization import AuthorizationContract
from bookshop_adapters.testing.contract.books import BookContract
from bookshop_adapters.testing.contract.commerce_cart import CartContract, WishlistContract
from bookshop_adapters.testing.contract.commerce_checkout import CheckoutContract
from bookshop_adapters.testing.contract.commerce_concurrency import CommerceConcurrencyContract
from bookshop_adapters.testing.contract.commerce_orders import OrderContract
from bookshop_adapters.testing.contract.genres import GenreContract
from bookshop_adapters.testing.contract.identity_accounts import IdentityAccountContract
from bookshop_adapters.testing.contract.identity_admin import IdentityAdminContract
from bookshop_adapters.testing.contract.identity_login import IdentityLoginContract
from bookshop_adapters.testing.contract.identity_tokens import IdentityTokenContract
from bookshop_adapters.testing.contract.listing import ListingContract
from bookshop_adapters.testing.contract.oauth import (
    OAuthGoogleIdTokenContract,
    OAuthLoginContract,
    OAuthStateContract,
)
from bookshop_adapters.testing.contract.outbox import OutboxContract
from bookshop_adapters.testing.contract.prebooking import PreBookingContract
from bookshop_adapters.testing.contract.properties import StoreProperties
from bookshop_adapters.testing.contract.reviews import ReviewContract
from bookshop_adapters.testing.contract.reviews_moderation import (
    ReviewModerationContract,
    ReviewModerationProperties,
)
from bookshop_adapters.testing.contract.search import SearchContract, SearchProperties
from bookshop_adapters.testing.contract.search_relevance import SearchRelevanceContract
from bookshop_adapters.testing.contract.stateful import ShopMachineContract
from bookshop_adapters.testing.contract.stock import StockContract
from bookshop_adapters.testing.contract.validation import ValidationContract

__all__ = [
    "AnalyticsContract",
    "AnalyticsProperties",
    "AuthorizationContract",
    "BookContract",
    "CartContract",
    "CheckoutContract",
    "CommerceConcurrencyContract",
    "GenreContract",
    "IdentityAccountContract",
    "IdentityAdminContract",
    "IdentityLoginContract",
    "IdentityTokenContract",
    "ListingContract",
    "OAuthGoogleIdTokenContract",
    "OAuthLoginContract",
    "OAuthStateContract",
    "OrderContract",
    "OutboxContract",
    "PreBookingContract",
    "ReviewContract",
    "ReviewModerationContract",
    "ReviewModerationProperties",
    "SearchContract",
    "SearchProperties",
    "SearchRelevanceContract",
    "ShopMachineContract",
    "StockContract",
    "StoreProperties",
    "ValidationContract",
    "WishlistContract",
]
