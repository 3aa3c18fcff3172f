"""bookshop_adapters: the ports of bookshop_core, implemented for real backends."""

from bookshop_adapters.backend import Backend, ShopUnitOfWork
from bookshop_adapters.bootstrap import (
    Repositories,
    Shop,
    ShopSettings,
    build_shop,
    open_backend,
)
from bookshop_adapters.payments import DemoPaymentGateway
from bookshop_adapters.stemming import SnowballStemmer

__all__ = [
    "Backend",
    "DemoPaymentGateway",
    "Repositories",
    "Shop",
    "ShopSettings",
    "ShopUnitOfWork",
    "SnowballStemmer",
    "build_shop",
    "open_backend",
]
