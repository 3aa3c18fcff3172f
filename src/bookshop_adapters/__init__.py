"""bookshop_adapters: the ports of bookshop_core, implemented for real backends."""

from bookshop_adapters.bootstrap import (
    DATABASE_URL_ENV,
    DEFAULT_DATABASE_URL,
    Backend,
    RepositoryFactory,
    RepositoryOverrides,
    Shop,
    ShopSettings,
    ShopUnitOfWork,
    build_shop,
    open_backend,
)

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DATABASE_URL",
    "Backend",
    "RepositoryFactory",
    "RepositoryOverrides",
    "Shop",
    "ShopSettings",
    "ShopUnitOfWork",
    "build_shop",
    "open_backend",
]
