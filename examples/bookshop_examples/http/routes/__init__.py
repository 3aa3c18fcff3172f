"""One router per bounded context; the app includes every router of :data:`ROUTERS`.

To add a context, write ``routes/<context>.py`` with a ``router = APIRouter(tags=[...])``,
its wire models and its routes, and append that router here.
"""

from __future__ import annotations

from fastapi import APIRouter

from bookshop_examples.http.routes import (
    analytics,
    auth,
    cart,
    catalog,
    catalog_admin,
    health,
    orders,
    orders_admin,
    outbox_admin,
    prebooking,
    reviews,
    uploads,
    users,
    wishlist,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    auth.router,
    users.router,
    catalog.router,
    catalog_admin.router,
    uploads.router,
    prebooking.router,
    reviews.router,
    outbox_admin.router,
    cart.router,
    orders.router,
    orders_admin.router,
    wishlist.router,
    analytics.router,
)
