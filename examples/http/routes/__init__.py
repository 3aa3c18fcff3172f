"""One router per bounded context; the app includes every router of :data:`ROUTERS`.

To add a context, write ``routes/<context>.py`` with a ``router = APIRouter(tags=[...])``,
its wire models and its routes, and append that router here.
"""

from __future__ import annotations

from fastapi import APIRouter

from examples.http.routes import catalog, health

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (health.router, catalog.router)
