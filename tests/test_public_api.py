"""The public API is frozen: growing or shrinking it is a visible, deliberate change.

Update the lists below (and the CHANGELOG) when you add or remove a public name.
"""

from __future__ import annotations

import importlib

import pytest

CORE = [
    "IMPORT_COLUMNS",
    "UNSET",
    "AccessClaims",
    "AdjustStock",
    "AuthenticationError",
    "Book",
    "BookQuery",
    "BookRepository",
    "BookRestocked",
    "BookSort",
    "Catalog",
    "CatalogUnitOfWork",
    "ChangeRole",
    "Clock",
    "Conflict",
    "CoverImages",
    "CreateBook",
    "CreateGenre",
    "DomainError",
    "DomainEvent",
    "EventBus",
    "ExternalIdentity",
    "ExternalIdentityRepository",
    "FieldError",
    "Genre",
    "GenreNode",
    "GenreRepository",
    "GoogleIdTokenVerifier",
    "Identity",
    "IdentitySettings",
    "IdentityUnitOfWork",
    "ImageStore",
    "ImportReport",
    "ListBooks",
    "ListUsers",
    "Login",
    "LoginThrottling",
    "ManualClock",
    "NewBook",
    "NotFound",
    "OAuthLogin",
    "OAuthProvider",
    "OAuthStateRepository",
    "OAuthUserInfo",
    "Page",
    "PageRequest",
    "PasswordHasher",
    "PasswordPolicy",
    "PermissionDenied",
    "Principal",
    "RateLimited",
    "RefreshTokenRepository",
    "Register",
    "Role",
    "RowError",
    "SetStock",
    "SortDirection",
    "StockChange",
    "StoredImage",
    "SystemClock",
    "TokenCodec",
    "TokenPair",
    "Transaction",
    "Transactions",
    "Unavailable",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "Unset",
    "UpdateBook",
    "UpdateGenre",
    "UploadRejected",
    "UserRepository",
    "UserView",
    "ValidationError",
    "__version__",
    "converter",
    "normalize_email",
    "normalize_isbn",
    "require_admin",
    "structure",
    "unstructure",
]

ADAPTERS = [
    "DATABASE_URL_ENV",
    "DEFAULT_DATABASE_URL",
    "Backend",
    "RepositoryFactory",
    "RepositoryOverrides",
    "Shop",
    "ShopSettings",
    "build_shop",
    "open_backend",
]


@pytest.mark.parametrize(
    ("package", "expected"), [("bookshop_core", CORE), ("bookshop_adapters", ADAPTERS)]
)
def test_package_root_exports_exactly_the_public_api(package: str, expected: list[str]) -> None:
    """Each package root re-exports exactly these names, in a sorted ``__all__``."""
    module = importlib.import_module(package)
    assert module.__all__ == expected
    for name in module.__all__:
        assert hasattr(module, name), name
