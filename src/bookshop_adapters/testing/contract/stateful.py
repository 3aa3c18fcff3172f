"""Contract: the stateful machine of the whole shop (:class:`ShopMachine`) on the backend under
test: random sequences of catalog, identity, pre-booking, commerce and review calls, the domain
invariants checked after each.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable
from contextlib import AsyncExitStack

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from bookshop_adapters.backend import Backend
from bookshop_adapters.bootstrap import Shop, ShopSettings, build_shop
from bookshop_adapters.images import MemoryImageStore
from bookshop_adapters.testing.contract.properties import _dialect_of, property_settings
from bookshop_adapters.testing.identity import fast_password_hasher, fixed_token_codec
from bookshop_adapters.testing.pytest_plugin import BackendFactory, ShopFactory
from bookshop_adapters.testing.stateful import ShopMachine
from bookshop_core.identity.settings import IdentitySettings, LoginThrottling
from bookshop_core.kernel.clock import ManualClock

__all__ = ["ShopMachineContract"]

#: Runs per backend; a run opens a fresh store and makes up to ``STEPS`` calls.
EXAMPLES = {"memory": 100}
SQL_EXAMPLES = 25
STEPS = 15


class _MachineStores:
    """Gives :class:`ShopMachine` its stores from a backend factory: each run enters the
    factory once (a fresh store), opens its shop on that backend, and leaves it at teardown.
    The machine names stores by string, so each backend gets a key."""

    def __init__(self, backends: BackendFactory) -> None:
        self._backends = backends
        self._keys = itertools.count(1)
        self._open: dict[str, tuple[Backend, AsyncExitStack]] = {}

    async def new_store(self) -> str:
        stack = AsyncExitStack()
        backend = await stack.enter_async_context(self._backends())
        key = f"store-{next(self._keys)}"
        self._open[key] = (backend, stack)
        return key

    def open_shop(self, key: str, clock: ManualClock) -> Awaitable[Shop]:
        # Throttling has its own tests; here it would only lock accounts at random.
        throttling = LoginThrottling(free_failures=1_000_000)
        opener: Awaitable[Shop] = build_shop(
            backend=self._open[key][0],
            clock=clock,
            settings=ShopSettings(identity=IdentitySettings(login_throttling=throttling)),
            password_hasher=fast_password_hasher(),
            token_codec=fixed_token_codec(),
            image_store=MemoryImageStore(),
        )
        return opener

    async def discard(self, key: str) -> None:
        _, stack = self._open.pop(key)
        await stack.aclose()


def _settings(dialect: str) -> settings:
    return property_settings(dialect, EXAMPLES, SQL_EXAMPLES, stateful_step_count=STEPS)


class ShopMachineContract:
    """The whole shop under random calls keeps every invariant :class:`ShopMachine` checks."""

    def test_the_shop_keeps_its_invariants_under_random_calls(
        self, shop_factory: ShopFactory
    ) -> None:
        """A plain ``def``: the machine runs the shop on its own event loop, and so opens its
        stores there too."""
        stores = _MachineStores(shop_factory.backends)
        run_state_machine_as_test(
            ShopMachine.bind(stores.new_store, discard=stores.discard, open_shop=stores.open_shop),
            settings=_settings(_dialect_of(shop_factory)),
        )
