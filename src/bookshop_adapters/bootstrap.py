"""The composition root: builds a whole shop on a store, choosing every default in one place.

Usage::

    async with build_shop("sqlite+aiosqlite:///shop.db") as shop:
        page = await shop.catalog.list_books()

    shop = await build_shop(backend=MemoryBackend(), clock=ManualClock())
    ...
    await shop.aclose()

Nothing here is global, and nothing is read from the environment or written to the working
directory unless an argument says so: the store is the URL or backend you pass, the JWT secret,
the OAuth providers and the uploads directory come in through :class:`ShopSettings` (the
example frontends read them from ``BOOKSHOP_*`` variables, the library never does). Each shop
owns what it opened (an engine and pool from a URL, an OAuth HTTP client) and closing it
releases them.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast, overload

from attrs import field, frozen
from attrs.validators import matches_re

from bookshop_adapters.argon2 import Argon2PasswordHasher
from bookshop_adapters.backend import Backend, ShopUnitOfWork
from bookshop_adapters.images import LocalDirectoryImageStore, MemoryImageStore
from bookshop_adapters.jwt import PyJwtTokenCodec
from bookshop_adapters.memory import MemoryBackend
from bookshop_adapters.oauth import OAuthAdapters, OAuthSettings, require_oauth_extra
from bookshop_adapters.payments import DemoPaymentGateway
from bookshop_adapters.stemming import SnowballStemmer
from bookshop_core.analytics.ports import ReportRepository
from bookshop_core.analytics.use_cases import Analytics, AnalyticsSettings
from bookshop_core.catalog.entities import BookRestocked
from bookshop_core.catalog.images import CoverImages, ImageStore
from bookshop_core.catalog.ports import BookRepository, GenreRepository
from bookshop_core.catalog.use_cases import Catalog
from bookshop_core.commerce.ports import (
    CartRepository,
    OrderRepository,
    PaymentGateway,
    WishlistRepository,
)
from bookshop_core.commerce.use_cases import Carts, CommerceSettings, Orders, Wishlists
from bookshop_core.identity.oauth import (
    GoogleIdTokenVerifier,
    OAuthLogin,
    OAuthProvider,
    OAuthStateRepository,
)
from bookshop_core.identity.ports import (
    ExternalIdentityRepository,
    LoginThrottleRepository,
    PasswordHasher,
    RefreshTokenRepository,
    TokenCodec,
    UserRepository,
)
from bookshop_core.identity.settings import IdentitySettings
from bookshop_core.identity.use_cases import Identity
from bookshop_core.kernel.clock import Clock, SystemClock
from bookshop_core.kernel.events import EventBus
from bookshop_core.kernel.uow import Transactions, UnitOfWorkFactory
from bookshop_core.notifications.admin import OutboxAdmin
from bookshop_core.notifications.dispatch import Dispatcher
from bookshop_core.notifications.outbox import OutboxRepository, OutboxSettings
from bookshop_core.notifications.ports import Mailer, MessageRenderer
from bookshop_core.prebooking.ports import PreBookingRepository
from bookshop_core.prebooking.use_cases import PreBookings
from bookshop_core.reviews.ports import ReviewRepository
from bookshop_core.reviews.use_cases import Reviews
from bookshop_core.search.analysis import Analyzer, Stemmer
from bookshop_core.search.ports import SearchIndex
from bookshop_core.search.use_cases import Search, SearchIndexing

if TYPE_CHECKING:  # the SQL adapter is imported only when a SQL store is opened
    from bookshop_adapters.mail.settings import MailTemplateSettings
    from bookshop_adapters.sqlalchemy.timeouts import StoreTimeouts

__all__ = [
    "Repositories",
    "Shop",
    "ShopSettings",
    "build_shop",
    "open_backend",
]

R = TypeVar("R")


@frozen
class ShopSettings:
    """Shop-wide configuration; every value is used as given (nothing is read from the
    environment).

    Args:
        currency: ISO 4217 code of the shop's one currency (three capital letters).
        upload_dir: The directory uploaded cover images are written to (created on the first
            upload). ``None`` (the default) keeps them in process memory, so a library user's
            shop never writes to the disk unasked; pass ``image_store=`` to
            :func:`build_shop` for any other store.
        identity: Token lifetimes, issuer/audience, password policy, login throttling.
        jwt_secret: The HS256 secret signing access tokens (at least 32 bytes). ``None`` makes
            a random secret per shop: its tokens die with it and are not accepted by another
            process. For asymmetric keys pass ``token_codec=`` to :func:`build_shop`.
        oauth: The GitHub/Google OAuth providers to offer (default: none). Frontends that read
            the ``BOOKSHOP_GITHUB_*``/``BOOKSHOP_GOOGLE_*`` variables pass
            ``OAuthSettings.from_env(os.environ)`` here.
        store_timeouts: The bounds on every wait for an SQL store opened from a URL
            (:class:`~bookshop_adapters.sqlalchemy.StoreTimeouts`; default: its defaults).
        outbox: How queued emails are dispatched: batch size, lease, retries with backoff,
            the worker's polling interval
            (:class:`~bookshop_core.notifications.outbox.OutboxSettings`).
        checkout: Checkout's timeouts: when a pending order counts as abandoned (for
            ``shop.orders.recover_pending``), how long a retried idempotency key waits
            (:class:`~bookshop_core.commerce.CommerceSettings`).
        mail_templates: The shop's public URL, currency and time zone as emails show them
            (:class:`~bookshop_adapters.mail.MailTemplateSettings`). With it, a shop given a
            ``mailer=`` renders with the shipped Jinja2 templates (the ``mail`` extra);
            without it, pass ``renderer=`` too.
        analytics: The time zone whose midnight, Monday and 1st begin the report periods
            (:class:`~bookshop_core.analytics.AnalyticsSettings`; default UTC).
    """

    currency: str = field(default="USD", validator=matches_re(r"[A-Z]{3}"))
    upload_dir: str | None = None
    identity: IdentitySettings = field(factory=IdentitySettings)
    jwt_secret: str | None = field(default=None, repr=False)
    oauth: OAuthSettings = field(factory=OAuthSettings)
    store_timeouts: StoreTimeouts | None = None
    outbox: OutboxSettings = field(factory=OutboxSettings)
    checkout: CommerceSettings = field(factory=CommerceSettings)
    mail_templates: MailTemplateSettings | None = None
    analytics: AnalyticsSettings = field(factory=AnalyticsSettings)


@frozen(kw_only=True)
class Repositories:
    """Single repositories of yours, served inside the backend's own transactions.

    Each field is a factory called once per unit of work with the backend's unit of work, so
    it can wrap the backend's repository (``books=lambda uow: Audited(uow.books)``) or build
    on its transaction (an SQL unit of work is a
    :class:`~bookshop_adapters.sqlalchemy.SqlUnitOfWork`, with ``uow.connection``). ``None``
    keeps the backend's. A factory that does not return the port's type is a type error.
    """

    books: Callable[[ShopUnitOfWork], BookRepository] | None = None
    genres: Callable[[ShopUnitOfWork], GenreRepository] | None = None
    users: Callable[[ShopUnitOfWork], UserRepository] | None = None
    refresh_tokens: Callable[[ShopUnitOfWork], RefreshTokenRepository] | None = None
    login_throttles: Callable[[ShopUnitOfWork], LoginThrottleRepository] | None = None
    external_identities: Callable[[ShopUnitOfWork], ExternalIdentityRepository] | None = None
    oauth_states: Callable[[ShopUnitOfWork], OAuthStateRepository] | None = None
    search_index: Callable[[ShopUnitOfWork], SearchIndex] | None = None
    outbox: Callable[[ShopUnitOfWork], OutboxRepository] | None = None
    prebookings: Callable[[ShopUnitOfWork], PreBookingRepository] | None = None
    carts: Callable[[ShopUnitOfWork], CartRepository] | None = None
    orders: Callable[[ShopUnitOfWork], OrderRepository] | None = None
    wishlist: Callable[[ShopUnitOfWork], WishlistRepository] | None = None
    reports: Callable[[ShopUnitOfWork], ReportRepository] | None = None
    reviews: Callable[[ShopUnitOfWork], ReviewRepository] | None = None

    def around(
        self, factory: UnitOfWorkFactory[ShopUnitOfWork]
    ) -> UnitOfWorkFactory[ShopUnitOfWork]:
        """A unit-of-work factory serving these repositories and the rest from ``factory``."""

        def unit_of_work(*, read_only: bool = False, snapshot: bool = True) -> ShopUnitOfWork:
            # As Transactions.read: the keyword only when it changes something.
            inner = (
                factory(read_only=read_only)
                if snapshot
                else factory(read_only=read_only, snapshot=False)
            )
            return _OverriddenUnitOfWork(inner, self)

        return unit_of_work


class _Served(Generic[R]):
    """One repository of an :class:`_OverriddenUnitOfWork`: built by the factory
    :class:`Repositories` holds under the same name (once per transaction), else the backend's
    own."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Self: ...

    @overload
    def __get__(self, uow: _OverriddenUnitOfWork, owner: type) -> R: ...

    def __get__(self, uow: _OverriddenUnitOfWork | None, owner: type) -> Self | R:
        if uow is None:
            return self
        factory: Callable[[ShopUnitOfWork], R] | None = getattr(uow._repositories, self._name)
        if factory is None:
            return cast(R, getattr(uow._inner, self._name))
        if self._name not in uow._built:
            uow._built[self._name] = factory(uow._inner)
        return cast(R, uow._built[self._name])


class _OverriddenUnitOfWork:
    """The backend's unit of work with some repositories replaced (one instance of each per
    transaction, like the backend's own)."""

    books = _Served[BookRepository]()
    genres = _Served[GenreRepository]()
    users = _Served[UserRepository]()
    refresh_tokens = _Served[RefreshTokenRepository]()
    login_throttles = _Served[LoginThrottleRepository]()
    external_identities = _Served[ExternalIdentityRepository]()
    oauth_states = _Served[OAuthStateRepository]()
    search_index = _Served[SearchIndex]()
    outbox = _Served[OutboxRepository]()
    prebookings = _Served[PreBookingRepository]()
    carts = _Served[CartRepository]()
    orders = _Served[OrderRepository]()
    wishlist = _Served[WishlistRepository]()
    reports = _Served[ReportRepository]()
    reviews = _Served[ReviewRepository]()

    def __init__(self, inner: ShopUnitOfWork, repositories: Repositories) -> None:
        self._inner = inner
        self._repositories = repositories
        self._built: dict[str, object] = {}

    async def __aenter__(self) -> Self:
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


class Shop:
    """A running shop: one attribute per bounded context, plus what they share.

    A plain container: :func:`build_shop` chooses every default and wires the parts; build
    it there. Close it with ``aclose()`` or ``async with``.

    Args:
        backend: The store.
        unit_of_work: The unit-of-work factory every context uses (the backend's, or yours).
        clock: The source of "now".
        events: The event bus; subscribe handlers on it.
        settings: The configuration the shop was built with.
        catalog: Books, genres and stock.
        images: Cover image uploads.
        identity: Accounts, sessions and tokens.
        oauth: Sign-in with the configured OAuth providers.
        search: Full-text search of the catalog.
        outbox: Admin use cases on queued emails (list, retry dead ones).
        dispatcher: Sends queued emails: ``dispatch_pending()`` for one pass,
            ``dispatcher.worker()`` for a background worker.
        prebookings: Users' pre-bookings of out-of-stock books; a restock emails every
            waiting pre-booker (through the outbox).
        cart: Users' carts.
        orders: Checkout (through the payment gateway), orders and their status, recovery
            of abandoned checkouts.
        wishlist: Users' wishlists.
        analytics: Admin reports: sales of today / this week / this month, best sellers,
            low stock.
        reviews: Buyers' reviews of books (books carry their rating), and moderation.
        on_close: Called in order by :meth:`aclose` (what the shop opened and must release).
    """

    def __init__(
        self,
        *,
        backend: Backend,
        unit_of_work: UnitOfWorkFactory[ShopUnitOfWork],
        clock: Clock,
        events: EventBus,
        settings: ShopSettings,
        catalog: Catalog,
        images: CoverImages,
        identity: Identity,
        oauth: OAuthLogin,
        search: Search,
        outbox: OutboxAdmin,
        dispatcher: Dispatcher,
        prebookings: PreBookings,
        cart: Carts,
        orders: Orders,
        wishlist: Wishlists,
        analytics: Analytics,
        reviews: Reviews,
        on_close: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.backend = backend
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.events = events
        self.settings = settings
        self.catalog = catalog
        self.images = images
        self.identity = identity
        self.oauth = oauth
        self.search = search
        self.outbox = outbox
        self.dispatcher = dispatcher
        self.prebookings = prebookings
        self.cart = cart
        self.orders = orders
        self.wishlist = wishlist
        self.analytics = analytics
        self.reviews = reviews
        self._on_close = tuple(on_close)

    async def ping(self) -> bool:
        """Whether the store answers (for health checks)."""
        return await self.backend.ping()

    async def aclose(self) -> None:
        """Release what the shop opened; the shop is unusable afterwards."""
        for close in self._on_close:
            await close()

    async def __aenter__(self) -> Shop:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def open_backend(
    url: str, *, migrate: bool = False, timeouts: StoreTimeouts | None = None
) -> Backend:
    """Open the store a URL names: ``memory://``, ``sqlite+aiosqlite:///...`` or
    ``postgresql+asyncpg://...``. The caller closes it (``await backend.aclose()``).

    Args:
        url: The store's URL.
        migrate: Bring an SQL schema up to date first (Alembic ``upgrade head``).
        timeouts: The bounds on every wait for an SQL store (default: ``StoreTimeouts()``).

    Returns:
        A :class:`~bookshop_adapters.memory.MemoryBackend` or a
        :class:`~bookshop_adapters.sqlalchemy.SqlBackend`.

    Raises:
        ValueError: an unsupported URL scheme.
    """
    if url.startswith("memory:"):
        return MemoryBackend()
    if url.startswith(("sqlite+aiosqlite:", "postgresql+asyncpg:")):
        from bookshop_adapters.sqlalchemy import migrate as run_migrations
        from bookshop_adapters.sqlalchemy import open_sql_backend

        if migrate:
            await run_migrations(url)
        return await open_sql_backend(url, timeouts=timeouts)
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
    repositories: Repositories | None = None,
    image_store: ImageStore | None = None,
    password_hasher: PasswordHasher | None = None,
    token_codec: TokenCodec | None = None,
    oauth_providers: Mapping[str, OAuthProvider] | None = None,
    google_id_tokens: GoogleIdTokenVerifier | None = None,
    stemmer: Stemmer | None = None,
    mailer: Mailer | None = None,
    renderer: MessageRenderer | None = None,
    payment_gateway: PaymentGateway | None = None,
    migrate: bool = False,
) -> _ShopOpener:
    """Build a shop on the store ``url`` names or on ``backend``, swapping any port by keyword.

    Args:
        url: ``memory://``, ``sqlite+aiosqlite:///PATH`` or ``postgresql+asyncpg://...``: a
            convenience that opens the matching shipped backend, which the shop closes.
        backend: Any :class:`~bookshop_adapters.backend.Backend` instead of a URL (yours, or a
            shipped one); the shop does not close it, whoever opened it does.
        clock: The source of "now" (default: the system clock).
        events: The event bus (default: a new one); subscribe handlers on ``shop.events``.
        settings: Shop-wide configuration (default: ``ShopSettings()``).
        unit_of_work: Your own unit-of-work factory (the whole transaction layer) instead of
            ``backend.unit_of_work``.
        repositories: Single repositories of yours, kept inside the backend's transactions:
            ``Repositories(books=lambda uow: CachedBooks(uow.books))``.
        image_store: Where cover images go (default: the ``settings.upload_dir`` directory
            when set, else process memory).
        password_hasher: Hashes passwords (default: argon2id with the RFC 9106 low-memory
            parameters).
        token_codec: Signs and verifies access tokens (default: HS256 with
            ``settings.jwt_secret``, else a random per-shop secret).
        oauth_providers: OAuth providers by name, added to (or replacing) the ones built from
            ``settings.oauth``; ``shop.oauth`` signs in with them.
        google_id_tokens: Verifies Google ID tokens for ``shop.oauth.exchange_google_id_token``
            (default: the JWKS verifier of the configured Google provider).
        stemmer: Stems words for search (default: English Snowball, PyStemmer); the index
            must be rebuilt (``shop.search.reindex``) when it changes.
        mailer: Sends queued emails (``SmtpMailer``, ``MemoryMailer`` or yours). Default:
            none; emails are still queued, and dispatching raises ``MAIL_NOT_CONFIGURED``.
        renderer: Renders each email's subject, text and HTML (default: the shipped Jinja2
            templates with ``settings.mail_templates``, when both are available).
        payment_gateway: Charges orders at checkout (default: the demo gateway, which
            approves unless the checkout asks it to decline).
        migrate: Bring an SQL schema up to date before opening (with ``url`` only).

    Returns:
        An object to ``await`` (giving a :class:`Shop`) or to use with ``async with``.

    Raises:
        TypeError: neither or both of ``url`` and ``backend``; ``migrate`` with ``backend``.
        ValueError: an unsupported URL; a JWT secret shorter than 32 bytes.
        MissingExtra: ``settings.oauth`` configures a provider without the ``oauth`` extra
            installed; ``settings.mail_templates`` without the ``mail`` extra.
    """
    if url is not None and backend is not None:
        raise TypeError("build_shop takes a URL or backend=, not both")
    if url is None and backend is None:
        raise TypeError(
            "build_shop needs a store: a URL ('sqlite+aiosqlite:///shop.db', 'memory://', "
            "'postgresql+asyncpg://...') or backend=<a Backend object>"
        )
    if migrate and backend is not None:
        raise TypeError("migrate=True needs a URL; migrate a backend you opened yourself")
    chosen = settings or ShopSettings()
    # Built now, so that a bad secret fails before any store is opened.
    codec = token_codec or _token_codec(chosen)
    if chosen.oauth.any_configured:  # the providers' adapters import the oauth extra
        require_oauth_extra(chosen.oauth)

    async def open_shop() -> Shop:
        if backend is not None:
            return _assemble(backend, owned=False)
        opened = await open_backend(str(url), migrate=migrate, timeouts=chosen.store_timeouts)
        try:
            return _assemble(opened, owned=True)
        except BaseException:
            await opened.aclose()
            raise

    def _assemble(store: Backend, *, owned: bool) -> Shop:
        transactions = unit_of_work or store.unit_of_work
        if repositories is not None:
            transactions = repositories.around(transactions)
        shop_clock = clock or SystemClock()
        bus = events or EventBus()
        identity = Identity(
            Transactions(transactions, bus),
            shop_clock,
            hasher=password_hasher or Argon2PasswordHasher(),
            codec=codec,
            settings=chosen.identity,
        )
        adapters = OAuthAdapters.from_settings(chosen.oauth, clock=shop_clock)
        oauth = OAuthLogin(
            Transactions(transactions, bus),
            identity,
            shop_clock,
            providers={**adapters.providers, **(oauth_providers or {})},
            google_id_tokens=google_id_tokens or adapters.google_id_tokens,
        )
        analyzer = Analyzer(stemmer or SnowballStemmer())
        indexing = SearchIndexing(analyzer)
        indexing.subscribe(bus)
        dispatcher = Dispatcher(
            Transactions(transactions, bus),
            shop_clock,
            mailer=mailer,
            renderer=renderer or _default_renderer(chosen),
            settings=chosen.outbox,
        )
        dispatcher.subscribe(bus)
        prebookings = PreBookings(Transactions(transactions, bus), shop_clock)
        prebookings.subscribe(bus)
        # The restock broadcast queues back-in-stock mail inside the catalog's transaction.
        dispatcher.wake_after(bus, BookRestocked)
        return Shop(
            backend=store,
            unit_of_work=transactions,
            clock=shop_clock,
            events=bus,
            settings=chosen,
            # One Transactions per context, typed with that context's own unit-of-work
            # protocol (the factory is covariant, Transactions is not).
            catalog=Catalog(Transactions(transactions, bus), shop_clock),
            images=CoverImages(image_store or _image_store(chosen)),
            identity=identity,
            oauth=oauth,
            search=Search(Transactions(transactions, bus), analyzer),
            outbox=OutboxAdmin(Transactions(transactions, bus), shop_clock),
            dispatcher=dispatcher,
            prebookings=prebookings,
            cart=Carts(Transactions(transactions, bus), shop_clock),
            orders=Orders(
                Transactions(transactions, bus),
                shop_clock,
                payment_gateway or DemoPaymentGateway(),
                currency=chosen.currency,
                settings=chosen.checkout,
            ),
            wishlist=Wishlists(Transactions(transactions, bus), shop_clock),
            analytics=Analytics(
                Transactions(transactions, bus), shop_clock, settings=chosen.analytics
            ),
            reviews=Reviews(Transactions(transactions, bus), shop_clock),
            on_close=(adapters.aclose, store.aclose) if owned else (adapters.aclose,),
        )

    return _ShopOpener(open_shop)


def _default_renderer(settings: ShopSettings) -> MessageRenderer | None:
    """The shipped Jinja2 templates when the shop's mail settings are given; else none (a
    dispatcher then says which port is missing).

    Raises:
        MissingExtra: mail settings without the ``mail`` extra (Jinja2) installed.
    """
    if settings.mail_templates is None:
        return None
    from bookshop_adapters.mail.templates import JinjaRenderer

    return JinjaRenderer(settings.mail_templates)


def _image_store(settings: ShopSettings) -> ImageStore:
    """The configured uploads directory, else memory: nothing is written unless asked."""
    if settings.upload_dir is None:
        return MemoryImageStore()
    return LocalDirectoryImageStore(settings.upload_dir)


def _token_codec(settings: ShopSettings) -> TokenCodec:
    """HS256 with the configured secret, else with a random secret of this shop's own.

    Raises:
        ValueError: a configured secret shorter than 32 bytes.
    """
    if settings.jwt_secret:
        return PyJwtTokenCodec(settings.jwt_secret)
    return PyJwtTokenCodec(secrets.token_bytes(32))
