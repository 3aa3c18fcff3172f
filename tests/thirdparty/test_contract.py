"""The whole shipped contract suite on a backend defined outside the library
(``tests/thirdparty/backend.py``), given through ``bookshop_backend_factory`` alone."""

from __future__ import annotations

from bookshop_adapters import Shop
from bookshop_adapters.testing import contract
from bookshop_adapters.testing.builders import add_book
from tests.thirdparty.backend import WrappingBackend


class TestAuthorization(contract.AuthorizationContract):
    """Catalog authorization."""


class TestBooks(contract.BookContract):
    """Books."""


class TestGenres(contract.GenreContract):
    """Genres."""


class TestListing(contract.ListingContract):
    """Listing and filtering."""


class TestSearch(contract.SearchContract):
    """Search: matching, ranking, filters, hostile input, index upkeep."""


class TestSearchProperties(contract.SearchProperties):
    """Search against the reference matcher, for random catalogs and queries."""


class TestSearchRelevance(contract.SearchRelevanceContract):
    """Search relevance on the demo corpus."""


class TestStock(contract.StockContract):
    """Stock."""


class TestValidation(contract.ValidationContract):
    """Validation."""


class TestIdentityAccounts(contract.IdentityAccountContract):
    """Accounts and sign-in."""


class TestIdentityLogin(contract.IdentityLoginContract):
    """Sign-in."""


class TestIdentityAdmin(contract.IdentityAdminContract):
    """Administration."""


class TestIdentityTokens(contract.IdentityTokenContract):
    """Tokens."""


class TestOAuthLogin(contract.OAuthLoginContract):
    """OAuth sign-in against the fake providers."""


class TestOAuthGoogleIdToken(contract.OAuthGoogleIdTokenContract):
    """Google ID tokens."""


class TestOAuthStates(contract.OAuthStateContract):
    """OAuth state records."""


class TestOutbox(contract.OutboxContract):
    """The transactional outbox and its dispatcher."""


class TestPreBooking(contract.PreBookingContract):
    """Pre-booking and the restock broadcast."""


class TestReviews(contract.ReviewContract):
    """Reviews: purchase gate, one live review per user and book, ratings."""


class TestReviewModeration(contract.ReviewModerationContract):
    """Review moderation: filtered, sorted lists and bulk soft-delete."""


class TestReviewModerationProperties(contract.ReviewModerationProperties):
    """Moderation against a plain-Python expectation, for random stores and queries."""


class TestAnalytics(contract.AnalyticsContract):
    """Admin reports: periods, deltas, top sellers, low stock."""


class TestAnalyticsProperties(contract.AnalyticsProperties):
    """Every report equals the plain-Python computation."""


class TestCart(contract.CartContract):
    """The cart."""


class TestWishlist(contract.WishlistContract):
    """The wishlist."""


class TestCheckout(contract.CheckoutContract):
    """Checkout, payment failures, crash recovery, idempotency keys."""


class TestOrders(contract.OrderContract):
    """Orders, their visibility and the transition table."""


class TestCommerceConcurrency(contract.CommerceConcurrencyContract):
    """Checkout, idempotency and cancels under many concurrent callers."""


class TestStoreProperties(contract.StoreProperties):
    """Random call sequences, compared with the reference model."""


class TestShopMachine(contract.ShopMachineContract):
    """The stateful machine."""


async def test_the_shop_runs_on_the_third_party_backend(shop: Shop) -> None:
    """The harness's shop is built on the wrapping backend and transacts through it."""
    assert isinstance(shop.backend, WrappingBackend)
    await add_book(shop)
    assert shop.backend.units_of_work > 0


def test_every_class_the_contract_exports_runs_here() -> None:
    """A contract class added to the suite without a subclass here would never run on a
    third-party backend."""
    subclassed = {
        base for value in globals().values() if isinstance(value, type) for base in value.__mro__
    }
    assert {getattr(contract, name) for name in contract.__all__} <= subclassed
