"""The cart and the wishlist on every backend: the shared contract in
``bookshop_adapters.testing.contract.commerce_cart``."""

from __future__ import annotations

from bookshop_adapters.testing.contract.commerce_cart import CartContract, WishlistContract


class TestCart(CartContract):
    """One line per book within its stock; own lines only; shown with current prices."""


class TestWishlist(WishlistContract):
    """One entry per book; newest first with current price and stock; own entries only."""
