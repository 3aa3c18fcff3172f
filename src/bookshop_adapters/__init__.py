"""bookshop_adapters: the ports of bookshop_core, implemented for real backends."""

from bookshop_adapters.backend import Backend, ShopUnitOfWork
from bookshop_adapters.bootstrap import (
    Repositories,
    Shop,
    ShopSettings,
    build_shop,
    open_backend,
)

__all__ = [
    "Backend",
    "Repositories",
    "Shop",
    "ShopSettings",
    "ShopUnitOfWork",
    "build_shop",
    "open_backend",
]
