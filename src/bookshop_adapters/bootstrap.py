"""The composition root: builds a whole shop from a database URL and optional overrides.

Usage::

    async with build_shop("sqlite+aiosqlite:///shop.db") as shop:
        page = await shop.catalog.list_books()

    shop = await build_shop("memory://", clock=ManualClock())
    ...
    await shop.aclose()

Nothing here is global: each shop owns its engine and pool, and closing it releases them.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Generator, Mapping
from types import TracebackType
from typing import Any

from attrs import field, frozen
from attrs.validators import matches_re

from bookshop_adapters.argon2 import Argon2PasswordHasher
from bookshop_adapters.backend import Backend, ShopUnitOfWork
from bookshop_adapters.images import LocalDirectoryImageStore, MemoryImageStore
from bookshop_adapters.jwt import PyJwtTokenCodec
from bookshop_adapters.memory import MemoryBackend
from bookshop_adapters.oauth import OAuthAdapters, OAuthSettings
from bookshop_core.catalog.images import CoverImages, ImageStore
from bookshop_core.catalog.use_cases import Catalog
from bookshop_core.identity.oauth import (
    GoogleIdTokenVerifier,
    OAuthLogin,
    OAuthProvider,
)
from bookshop_core.identity.ports import PasswordHasher, TokenCodec
from bookshop_core.identity.settings import IdentitySettings
from bookshop_core.identity.use_cases import Identity
from bookshop_core.kernel.clock import Clock, SystemClock
from bookshop_core.kernel.events import EventBus
from bookshop_core.kernel.uow import Transactions, UnitOfWorkFactory

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DATABASE_URL",
    "JWT_SECRET_ENV",
    "Backend",
    "RepositoryFactory",
    "RepositoryOverrides",
    "Shop",
    "ShopSettings",
    "ShopUnitOfWork",
    "build_shop",
    "open_backend",
]

DATABASE_URL_ENV = "BOOKSHOP_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///bookshop.db"
#: The environment variable holding the HS256 secret of access tokens (>= 32 bytes).
JWT_SECRET_ENV = "BOOKSHOP_JWT_SECRET"

_log = logging.getLogger("bookshop.bootstrap")


RepositoryFactory = Callable[[Any], object]
"""Builds one repository for one unit of work, from the backend's own unit of work: wrap its
default (``lambda uow: Audited(uow.books)``) or build on its transaction (SQL backends expose
``uow.connection``)."""


class RepositoryOverrides:
    """A unit-of-work factory that serves some repositories from factories of yours and the
    rest, and the transaction itself, from the backend's.

    Args:
        inner: The backend's unit-of-work factory.
        factories: Repository attribute name (``"books"``, ``"users"``, ...) to its factory.

    Raises:
        ValueError: a name that is not a repository of the backend's unit of work.
    """

    def __init__(
        self, inner: UnitOfWorkFactory[Any], factories: Mapping[str, RepositoryFactory]
    ) -> None:
        self._inner = inner
        self._factories = dict(factories)
        probe = inner(read_only=True)
        unknown = sorted(
            name
            for name in self._factories
            if not hasattr(type(probe), name) and name not in vars(probe)
        )
        if unknown:
            raise ValueError(f"no such repositories on the unit of work: {', '.join(unknown)}")

    def __call__(self, *, read_only: bool = False) -> Any:
        return _OverriddenUnitOfWork(self._inner(read_only=read_only), self._factories)


class _OverriddenUnitOfWork:
    def __init__(self, inner: Any, factories: Mapping[str, RepositoryFactory]) -> None:
        self._inner = inner
        self._factories = factories
        self._built: dict[str, object] = {}

    def __getattr__(self, name: str) -> Any:
        factory = self._factories.get(name)
        if factory is None:
            return getattr(self._inner, name)
        if name not in self._built:  # one instance per transaction, like the backend's own
            self._built[name] = factory(self._inner)
        return self._built[name]

    async def __aenter__(self) -> _OverriddenUnitOfWork:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._built.clear()
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._inner.commit()

    async def rollback(self) -> None:
        await self._inner.rollback()


@frozen
class ShopSettings:
    """Shop-wide configuration.

    Args:
        currency: ISO 4217 code of the shop's one currency (three capital letters).
        upload_dir: Where uploaded cover images are written (SQL-backed shops).
        identity: Token lifetimes, issuer/audience, password policy, login throttling.
        jwt_secret: The HS256 secret signing access tokens (at least 32 bytes); defaults to
            ``$BOOKSHOP_JWT_SECRET``. Without either, each shop makes a random one, so tokens
            die with the process and are not shared between processes (a warning is logged
            for SQL stores). For asymmetric keys pass ``token_codec=`` to :func:`build_shop`.
        oauth: The GitHub/Google OAuth providers to offer; ``None`` reads the
            ``BOOKSHOP_GITHUB_*`` / ``BOOKSHOP_GOOGLE_*`` environment variables (see
            :mod:`bookshop_adapters.oauth.settings`); ``OAuthSettings()`` offers none.
    """

    currency: str = field(default="USD", validator=matches_re(r"[A-Z]{3}"))
    upload_dir: str = "uploads"
    identity: IdentitySettings = field(factory=IdentitySettings)
    jwt_secret: str | None = field(default=None, repr=False)
    oauth: OAuthSettings | None = None


class Shop:
    """A running shop: one attribute per bounded context, plus what they share.

    Build it with :func:`build_shop`; close it with ``aclose()`` or ``async with``.
    """

    def __init__(
        self,
        *,
        backend: Backend,
        clock: Clock,
        events: EventBus,
        settings: ShopSettings,
        unit_of_work: UnitOfWorkFactory[ShopUnitOfWork] | None = None,
        image_store: ImageStore | None = None,
        password_hasher: PasswordHasher | None = None,
        token_codec: TokenCodec | None = None,
        oauth_providers: Mapping[str, OAuthProvider] | None = None,
        google_id_tokens: GoogleIdTokenVerifier | None = None,
        owns_backend: bool = True,
    ) -> None:
        self.backend = backend
        self._owns_backend = owns_backend
        self.clock = clock
        self.events = events
        self.settings = settings
        self.unit_of_work: UnitOfWorkFactory[ShopUnitOfWork] = unit_of_work or backend.unit_of_work
        # One Transactions per context, typed with that context's own unit-of-work protocol
        # (the factory is covariant, Transactions is not).
        self.catalog = Catalog(Transactions(self.unit_of_work, events), clock)
        if image_store is None:
            image_store = (
                MemoryImageStore()
                if backend.dialect_name == "memory"
                else LocalDirectoryImageStore(settings.upload_dir)
            )
        self.images = CoverImages(image_store)
        self.identity = Identity(
            Transactions(self.unit_of_work, events),
            clock,
            hasher=password_hasher or Argon2PasswordHasher(),
            codec=token_codec or _default_token_codec(settings, backend),
            settings=settings.identity,
        )
        oauth = settings.oauth if settings.oauth is not None else OAuthSettings.from_env()
        self._oauth_adapters = OAuthAdapters.from_settings(oauth, clock=clock)
        self.oauth = OAuthLogin(
            Transactions(self.unit_of_work, events),
            self.identity,
            clock,
            providers={**self._oauth_adapters.providers, **(oauth_providers or {})},
            google_id_tokens=google_id_tokens or self._oauth_adapters.google_id_tokens,
        )

    async def ping(self) -> bool:
        """Whether the store answers (for health checks)."""
        return await self.backend.ping()

    async def aclose(self) -> None:
        """Release the store's connections; the shop is unusable afterwards."""
        await self._oauth_adapters.aclose()
        if self._owns_backend:
            await self.backend.aclose()

    async def __aenter__(self) -> Shop:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _default_token_codec(settings: ShopSettings, backend: Backend) -> TokenCodec:
    """HS256 with the configured secret, else a random per-shop secret.

    Raises:
        ValueError: a configured secret shorter than 32 bytes.
    """
    secret = settings.jwt_secret or os.environ.get(JWT_SECRET_ENV)
    if not secret:
        if backend.dialect_name != "memory":
            _log.warning(
                "no JWT secret configured (set %s or ShopSettings.jwt_secret): using a random "
                "one, so access tokens will not survive a restart or work across processes",
                JWT_SECRET_ENV,
            )
        return PyJwtTokenCodec(secrets.token_bytes(32))
    return PyJwtTokenCodec(secret)


async def open_backend(url: str, *, migrate: bool = False) -> Backend:
    """Open the store a URL names: ``memory://``, ``sqlite+aiosqlite:///...`` or
    ``postgresql+asyncpg://...``.

    Args:
        migrate: Bring an SQL schema up to date first (Alembic ``upgrade head``).

    Raises:
        ValueError: an unsupported URL scheme.
    """
    if url == "memory://" or url.startswith("memory:"):
        return MemoryBackend()
    if url.startswith(("sqlite+aiosqlite:", "postgresql+asyncpg:")):
        from bookshop_adapters.sqlalchemy import migrate as run_migrations
        from bookshop_adapters.sqlalchemy import open_sql_backend

        if migrate:
            await run_migrations(url)
        return await open_sql_backend(url)
    raise ValueError(
        "unsupported database URL; use memory://, sqlite+aiosqlite:///PATH "
        "or postgresql+asyncpg://USER:PASSWORD@HOST/DB"
    )


class _ShopOpener:
    """What :func:`build_shop` returns: await it, or use it as an async context manager."""

    def __init__(self, open_shop: Callable[[], Awaitable[Shop]]) -> None:
        self._open = open_shop
        self._shop: Shop | None = None

    def __await__(self) -> Generator[Any, None, Shop]:
        return self._open().__await__()

    async def __aenter__(self) -> Shop:
        self._shop = await self._open()
        return self._shop

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._shop is not None:
            await self._shop.aclose()


def build_shop(
    url: str | None = None,
    *,
    backend: Backend | None = None,
    clock: Clock | None = None,
    events: EventBus | None = None,
    settings: ShopSettings | None = None,
    unit_of_work: UnitOfWorkFactory[ShopUnitOfWork] | None = None,
    repositories: Mapping[str, RepositoryFactory] | None = None,
    image_store: ImageStore | None = None,
    password_hasher: PasswordHasher | None = None,
    token_codec: TokenCodec | None = None,
    oauth_providers: Mapping[str, OAuthProvider] | None = None,
    google_id_tokens: GoogleIdTokenVerifier | None = None,
    migrate: bool = False,
) -> _ShopOpener:
    """Build a shop on the store ``url`` names, swapping any port by keyword.

    Args:
        url: ``memory://``, ``sqlite+aiosqlite:///PATH`` or ``postgresql+asyncpg://...``;
            defaults to ``$BOOKSHOP_DATABASE_URL``, else a ``bookshop.db`` file here.
        backend: A :class:`~bookshop_adapters.backend.Backend` object instead of a URL (yours,
            or a shipped one); the shop does not close it, its opener does.
        clock: The source of "now" (default: the system clock).
        events: The event bus (default: a new one); subscribe handlers on ``shop.events``.
        settings: Shop-wide configuration.
        unit_of_work: Your own unit-of-work factory (the whole transaction layer).
        repositories: Swap single repositories, by attribute name, keeping the backend's
            transaction: ``{"books": lambda uow: CachedBooks(uow.books)}``.
        image_store: Where cover images go (default: memory for ``memory://``, else the
            ``settings.upload_dir`` directory).
        password_hasher: Hashes passwords (default: argon2id with the RFC 9106 low-memory
            parameters).
        token_codec: Signs and verifies access tokens (default: HS256 with
            ``settings.jwt_secret`` or ``$BOOKSHOP_JWT_SECRET``).
        oauth_providers: OAuth providers by name, added to (or replacing) the ones built from
            ``settings.oauth`` / the environment; ``shop.oauth`` signs in with them.
        google_id_tokens: Verifies Google ID tokens for ``shop.oauth.exchange_google_id_token``
            (default: the JWKS verifier of the configured Google provider).
        migrate: Bring an SQL schema up to date before opening.

    Returns:
        An object to ``await`` (giving a :class:`Shop`) or to use with ``async with``.
    """
    if url is not None and backend is not None:
        raise TypeError("build_shop takes a URL or a backend=, not both")
    resolved = url or os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL
    given = backend

    async def open_shop() -> Shop:
        backend = given if given is not None else await open_backend(resolved, migrate=migrate)
        transactions = unit_of_work
        if repositories:
            try:
                transactions = RepositoryOverrides(
                    transactions or backend.unit_of_work, repositories
                )
            except BaseException:
                if given is None:
                    await backend.aclose()
                raise
        return Shop(
            backend=backend,
            clock=clock or SystemClock(),
            events=events or EventBus(),
            settings=settings or ShopSettings(),
            unit_of_work=transactions,
            image_store=image_store,
            password_hasher=password_hasher,
            token_codec=token_codec,
            oauth_providers=oauth_providers,
            google_id_tokens=google_id_tokens,
            owns_backend=given is None,
        )

    return _ShopOpener(open_shop)
