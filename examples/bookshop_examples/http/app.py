"""The app factory: one FastAPI app serving one shop.

Run it with uvicorn's factory mode::

    uvicorn bookshop_examples.http.app:create_app --factory

Configuration comes from arguments, else from the environment through
:meth:`AppSettings.from_env <bookshop_examples.settings.AppSettings.from_env>` (the one place
the ``BOOKSHOP_*`` variables are read; the store defaults to a local SQLite file,
``sqlite+aiosqlite:///bookshop.db``).

Queued emails are sent by an outbox worker the app runs beside itself (its lifespan starts it
once the shop is open and stops it before the shop closes) when the shop has a mailer: one from
the ``BOOKSHOP_SMTP_*`` variables, or the one a shop passed in was built with. Without one,
nothing is started and emails wait in the outbox (``bookshop outbox worker`` can send them).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import attrs
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

import bookshop_core
from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_core.notifications import OutboxWorker
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
from bookshop_examples.settings import AppSettings

__all__ = ["create_app"]

CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CORS_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key")
#: Response headers a browser lets the client read beyond the simple ones (the total of the
#: order lists).
CORS_EXPOSED_HEADERS = ("X-Total-Count",)

_log = logging.getLogger("bookshop.http")


def create_app(
    database_url: str | None = None,
    *,
    settings: AppSettings | None = None,
    shop: Shop | None = None,
    cors_origins: Sequence[str] | None = None,
    migrate: bool = True,
    public_url: str | None = None,
    max_body_bytes: int | None = None,
    outbox_worker: bool = True,
) -> FastAPI:
    """Build the HTTP app.

    The shop is opened when the app starts (its lifespan) and closed when it stops; requests
    reach it through ``app.state.shop``.

    Args:
        database_url: The store to open: ``memory://``, ``sqlite+aiosqlite:///PATH`` or
            ``postgresql+asyncpg://...``; overrides ``settings.database_url``.
        settings: The app's configuration; default :meth:`AppSettings.from_env
            <bookshop_examples.settings.AppSettings.from_env>` (the ``BOOKSHOP_*`` variables).
            The arguments below override single values of it.
        shop: Serve this already-built shop instead of opening one; the caller keeps
            ownership and closes it (the app never does).
        cors_origins: Browser origins allowed to call the API with credentials (default
            ``http://localhost:3000`` and ``http://127.0.0.1:3000``).
        migrate: Bring an SQL schema up to date at startup (convenient for the example; a
            production deployment runs migrations as a separate step).
        public_url: The app's public base URL (e.g. ``https://shop.example.com``), from which
            upload and OAuth callback URLs are built; without one they are built from the
            request, and OAuth sign-in is refused (400) for a ``Host`` not in
            ``settings.allowed_hosts`` (default ``localhost``, ``127.0.0.1``). Uploaded images are
            answered with absolute URLs on it too.
        max_body_bytes: The largest request body of a route without a limit of its own (the
            image upload has one: 5 MB plus the multipart envelope); a larger one is 413
            ``HTTP_413`` before it is read. Default ``settings.max_body_bytes``
            (``BOOKSHOP_MAX_BODY_BYTES``), else 256 KiB.

    Raises:
        ValueError: both ``database_url`` and ``shop`` were given.
    """
    if database_url is not None and shop is not None:
        raise ValueError("pass a database URL or a shop, not both")
    config = _configure(
        settings or AppSettings.from_env(),
        database_url=database_url,
        cors_origins=cors_origins,
        public_url=public_url,
        max_body_bytes=max_body_bytes,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if shop is not None:
            app.state.shop = shop
            try:
                async with _outbox_worker(app, shop, enabled=outbox_worker):
                    yield
            finally:
                app.state.shop = None
            return
        config.warn_if_tokens_are_ephemeral()
        async with build_shop(
            config.database_url,
            settings=config.shop_settings(),
            mailer=config.mailer(),
            migrate=migrate,
        ) as opened:
            app.state.shop = opened
            try:
                async with _outbox_worker(app, opened, enabled=outbox_worker):
                    yield
            finally:
                app.state.shop = None

    # /docs and /redoc load their scripts and styles from this app (a package ships them), not
    # from a CDN: they work offline and behind a strict firewall.
    app = FastAPIOffline(
        title="bookshop example API",
        version=bookshop_core.__version__,
        description=(
            "The bookshop library over HTTP, wire-compatible with the existing bookstore "
            "web client."
        ),
        lifespan=lifespan,
    )
    app.state.shop = None
    app.state.outbox_worker = None
    app.state.settings = config
    app.state.database_url = None if shop is not None else config.database_url
    app.state.public_url = config.public_url
    install_error_handlers(app)
    # The last middleware added is the outermost: CORS must wrap the catch-all so that even a
    # 500 carries the CORS headers a browser needs to let the client read it.
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodyLimitMiddleware, default=config.max_body_bytes or DEFAULT_MAX_BODY_BYTES)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.cors_origins),
        allow_credentials=True,
        allow_methods=list(CORS_METHODS),
        allow_headers=list(CORS_HEADERS),
        expose_headers=list(CORS_EXPOSED_HEADERS),
    )
    for router in ROUTERS:
        app.include_router(router, responses=error_responses(500))
    document_body_limit(app)
    return app


@asynccontextmanager
async def _outbox_worker(app: FastAPI, shop: Shop, *, enabled: bool) -> AsyncIterator[None]:
    """Run ``shop``'s outbox worker inside this block when it can send (stopped cleanly on
    the way out, before the shop closes); else say once why queued emails wait."""
    if not enabled:
        yield
        return
    if not shop.dispatcher.configured:
        _log.info(
            "no mail server configured (BOOKSHOP_SMTP_HOST): emails are queued and wait for "
            "a worker that can send them (bookshop outbox worker)"
        )
        yield
        return
    worker: OutboxWorker = shop.dispatcher.worker()
    await worker.start()
    app.state.outbox_worker = worker
    _log.info("outbox worker started (polling every %g s)", worker.poll_interval)
    try:
        yield
    finally:
        app.state.outbox_worker = None
        await worker.stop()
        _log.info("outbox worker stopped after %d passes", worker.passes)


def _configure(
    settings: AppSettings,
    *,
    database_url: str | None,
    cors_origins: Sequence[str] | None,
    public_url: str | None,
    max_body_bytes: int | None,
) -> AppSettings:
    """``settings`` with the values create_app was given explicitly."""
    return attrs.evolve(
        settings,
        database_url=settings.database_url if database_url is None else database_url,
        cors_origins=settings.cors_origins if cors_origins is None else tuple(cors_origins),
        public_url=settings.public_url if public_url is None else public_url,
        max_body_bytes=settings.max_body_bytes if max_body_bytes is None else max_body_bytes,
    )
