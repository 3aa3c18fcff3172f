"""The one hook for plugging a store into a shop: the :class:`Backend` protocol.

A backend is an object that makes units of work and answers for its store; ``build_shop``
accepts one directly (``build_shop(backend=MyBackend())``), and the URL schemes it also accepts
(``memory://``, ``sqlite+aiosqlite:///...``, ``postgresql+asyncpg://...``) are a convenience
that builds one of the two shipped backends,
:class:`~bookshop_adapters.memory.MemoryBackend` and
:class:`~bookshop_adapters.sqlalchemy.SqlBackend`.

A third-party backend implements :class:`Backend` (structurally: no base class to inherit)
and its unit of work implements :class:`ShopUnitOfWork`; the contract suite in
:mod:`bookshop_adapters.testing` then checks that it behaves like the shipped ones.
"""

from __future__ import annotations

from typing import Protocol

from bookshop_core.analytics.ports import AnalyticsUnitOfWork
from bookshop_core.catalog.ports import CatalogUnitOfWork
from bookshop_core.commerce.ports import CommerceUnitOfWork
from bookshop_core.identity.oauth import OAuthStateUnitOfWork
from bookshop_core.identity.ports import IdentityUnitOfWork
from bookshop_core.notifications.outbox import OutboxUnitOfWork
from bookshop_core.prebooking.ports import PreBookingUnitOfWork
from bookshop_core.reviews.ports import ReviewUnitOfWork
from bookshop_core.search.ports import SearchUnitOfWork

__all__ = ["Backend", "ShopUnitOfWork"]


class ShopUnitOfWork(
    SearchUnitOfWork,
    CatalogUnitOfWork,
    IdentityUnitOfWork,
    OAuthStateUnitOfWork,
    PreBookingUnitOfWork,
    CommerceUnitOfWork,
    ReviewUnitOfWork,
    AnalyticsUnitOfWork,
    OutboxUnitOfWork,
    Protocol,
):
    """One transaction with every repository the shop's contexts use.

    The union of each context's own unit-of-work protocol: ``books`` and ``genres``
    (catalog), ``users``, ``refresh_tokens``, ``login_throttles`` and ``external_identities``
    (identity), ``oauth_states`` (OAuth sign-in), ``search_index`` (search), ``outbox``
    (notifications: queued emails), ``prebookings`` (pre-booking), ``carts``, ``orders``
    and ``wishlist`` (commerce), ``reviews`` (reviews), ``reports`` (analytics), plus ``async
    with``, ``commit()`` and ``rollback()``. A new context adds its protocol to the bases
    (before the protocols it extends: search's extends the catalog's).
    """


class Backend(Protocol):
    """A store a shop runs on.

    The shop uses a backend for exactly these four things; nothing else is read from it.
    Whoever opens a backend closes it: ``build_shop(url)`` closes the backend it opened from the
    URL when the shop closes, while a backend passed as ``build_shop(backend=...)`` stays open
    (several shops may share it) until you call its ``aclose()``.
    """

    @property
    def dialect_name(self) -> str:
        """A short name of the store's kind, for logs and health output (``"memory"``,
        ``"sqlite"``, ``"postgresql"``, or your own)."""
        ...

    def unit_of_work(self, *, read_only: bool = False, snapshot: bool = True) -> ShopUnitOfWork:
        """A new, not yet entered unit of work (``backend.unit_of_work`` is a
        ``UnitOfWorkFactory[ShopUnitOfWork]``).

        Args:
            read_only: A promise not to write, so the store may skip write locks; its
                statements read one snapshot.
            snapshot: Only with ``read_only``: ``False`` lets each statement read its own
                snapshot (the data committed when it starts), so the store may run them
                without a transaction; ignoring it (keeping one snapshot) is always correct.
                The core asks for it for reads whose statements need not agree, such as a
                search without facets.
        """
        ...

    async def ping(self) -> bool:
        """Whether the store answers now (for health checks); ``False`` rather than raise."""
        ...

    async def aclose(self) -> None:
        """Release the store's connections; the backend is unusable afterwards."""
        ...
