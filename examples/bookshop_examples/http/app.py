"""The app factory: one FastAPI app serving one shop.

Run it with uvicorn's factory mode::

    uvicorn bookshop_examples.http.app:create_app --factory

Configuration comes from arguments, else the environment: ``BOOKSHOP_DATABASE_URL`` (default a
local SQLite file, ``sqlite+aiosqlite:///bookshop.db``) and ``BOOKSHOP_CORS_ORIGINS``
(comma-separated; default the web client's dev origins).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import bookshop_core
from bookshop_adapters.bootstrap import DATABASE_URL_ENV, DEFAULT_DATABASE_URL, Shop, build_shop
from bookshop_examples.http.errors import (
    CatchAllMiddleware,
    error_responses,
    install_error_handlers,
)
from bookshop_examples.http.limits import (
    DEFAULT_MAX_BODY_BYTES,
    BodyLimitMiddleware,
    document_body_limit,
)
from bookshop_examples.http.routes import ROUTERS

__all__ = ["CORS_ORIGINS_ENV", "DEFAULT_CORS_ORIGINS", "create_app", "resolve_cors_origins"]

CORS_ORIGINS_ENV = "BOOKSHOP_CORS_ORIGINS"
DEFAULT_CORS_ORIGINS: tuple[str, ...] = ("http://localhost:3000", "http://127.0.0.1:3000")
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CORS_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key")


def resolve_cors_origins(origins: Sequence[str] | None = None) -> list[str]:
    """``origins`` if given, else ``$BOOKSHOP_CORS_ORIGINS`` (comma-separated), else the
    defaults. Blank entries are dropped."""
    if origins is None:
        configured = os.environ.get(CORS_ORIGINS_ENV)
        origins = configured.split(",") if configured is not None else DEFAULT_CORS_ORIGINS
    return [origin.strip() for origin in origins if origin.strip()]


def create_app(
    database_url: str | None = None,
    *,
    shop: Shop | None = None,
    cors_origins: Sequence[str] | None = None,
    migrate: bool = True,
    public_url: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """Build the HTTP app.

    The shop is opened when the app starts (its lifespan) and closed when it stops; requests
    reach it through ``app.state.shop``.

    Args:
        database_url: The store to open: ``memory://``, ``sqlite+aiosqlite:///PATH`` or
            ``postgresql+asyncpg://...``; defaults to ``$BOOKSHOP_DATABASE_URL``, else a local
            ``bookshop.db``.
        shop: Serve this already-built shop instead of opening one; the caller keeps
            ownership and closes it (the app never does).
        cors_origins: Browser origins allowed to call the API with credentials; defaults to
            ``$BOOKSHOP_CORS_ORIGINS`` (comma-separated), else ``http://localhost:3000`` and
            ``http://127.0.0.1:3000``.
        migrate: Bring an SQL schema up to date at startup (convenient for the example; a
            production deployment runs migrations as a separate step).
        public_url: The app's public base URL (e.g. ``https://shop.example.com``), from which
            OAuth callback URLs are built; defaults to ``$BOOKSHOP_PUBLIC_URL``, else the URL
            each request arrived at (fine locally, wrong behind a proxy). Uploaded images are
            answered with absolute URLs on it too.
        max_body_bytes: The largest request body of a route without a limit of its own (the
            image upload has one: 5 MB plus the multipart envelope); a larger one is 413
            ``HTTP_413`` before it is read.

    Raises:
        ValueError: both ``database_url`` and ``shop`` were given.
    """
    if database_url is not None and shop is not None:
        raise ValueError("pass a database URL or a shop, not both")
    url = database_url or os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if shop is not None:
            app.state.shop = shop
            try:
                yield
            finally:
                app.state.shop = None
            return
        async with build_shop(url, migrate=migrate) as opened:
            app.state.shop = opened
            try:
                yield
            finally:
                app.state.shop = None

    app = FastAPI(
        title="bookshop example API",
        version=bookshop_core.__version__,
        description="The bookshop library over HTTP, wire-compatible with the seed REST API.",
        lifespan=lifespan,
    )
    app.state.shop = None
    app.state.database_url = None if shop is not None else url
    app.state.public_url = public_url
    install_error_handlers(app)
    # The last middleware added is the outermost: CORS must wrap the catch-all so that even a
    # 500 carries the CORS headers a browser needs to let the client read it.
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodyLimitMiddleware, default=max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=resolve_cors_origins(cors_origins),
        allow_credentials=True,
        allow_methods=list(CORS_METHODS),
        allow_headers=list(CORS_HEADERS),
    )
    for router in ROUTERS:
        app.include_router(router, responses=error_responses(500))
    document_body_limit(app)
    return app
