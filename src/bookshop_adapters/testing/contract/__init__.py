"""The contract suite: how every backend must behave, written once against the use cases.

Each class holds the tests of one topic. They take the fixtures of
``bookshop_adapters.testing.pytest_plugin`` (``shop``, ``clock``, ``admin``, ``customer``,
``shop_factory``, ``backend_name``), so running them on a backend is a matter of subclassing
them in a test module::

    # tests/test_my_adapter.py
    from bookshop_adapters.testing.contract import BookContract, GenreContract

    class TestBooks(BookContract):
        "The catalog's book rules, on my store."

    class TestGenres(GenreContract):
        "The catalog's genre rules, on my store."

with ``pytest_plugins = ["bookshop_adapters.testing.pytest_plugin"]`` in the ``conftest.py``
and the ``shop_factory``/``backend_name`` fixtures overridden to build shops on your store.
A backend quirk is a marked skip with a reason inside the shared test, never a forked copy.
"""

from bookshop_adapters.testing.contract.authorization import AuthorizationContract
from bookshop_adapters.testing.contract.books import BookContract
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
from bookshop_adapters.testing.contract.properties import StoreProperties
from bookshop_adapters.testing.contract.stateful import ShopMachineContract
from bookshop_adapters.testing.contract.stock import StockContract
from bookshop_adapters.testing.contract.validation import ValidationContract

__all__ = [
    "AuthorizationContract",
    "BookContract",
    "GenreContract",
    "IdentityAccountContract",
    "IdentityAdminContract",
    "IdentityLoginContract",
    "IdentityTokenContract",
    "ListingContract",
    "OAuthGoogleIdTokenContract",
    "OAuthLoginContract",
    "OAuthStateContract",
    "ShopMachineContract",
    "StockContract",
    "StoreProperties",
    "ValidationContract",
]
