"""A backend written outside the library, as a third party would: it wraps the memory backend
and reaches it only through the public :class:`~bookshop_adapters.backend.Backend` protocol.

It exists to prove the contract suite runs on any backend given through the one hook,
``bookshop_backend_factory`` (see ``conftest.py``), with no URL and nothing private.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bookshop_adapters import Backend
from bookshop_adapters.backend import ShopUnitOfWork
from bookshop_adapters.memory import MemoryBackend


class WrappingBackend:
    """Delegates every call to another backend; its own name, nothing else of its own."""

    def __init__(self, inner: Backend) -> None:
        self._inner = inner
        self.units_of_work = 0  # proof that the shop's transactions went through this object

    @property
    def dialect_name(self) -> str:
        return "thirdparty"

    def unit_of_work(self, *, read_only: bool = False, snapshot: bool = True) -> ShopUnitOfWork:
        self.units_of_work += 1
        return self._inner.unit_of_work(read_only=read_only, snapshot=snapshot)

    async def ping(self) -> bool:
        return await self._inner.ping()

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def fresh_store() -> AsyncIterator[WrappingBackend]:
    """A wrapping backend on a new, empty memory store; closed on exit."""
    backend = WrappingBackend(MemoryBackend())
    try:
        yield backend
    finally:
        await backend.aclose()
