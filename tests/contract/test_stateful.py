"""The stateful machine of the whole shop (``bookshop_adapters.testing.stateful``), on every
backend: random sequences of catalog and identity calls, invariants checked after each."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from bookshop_adapters.testing.pytest_plugin import ShopFactory
from bookshop_adapters.testing.stateful import ShopMachine

#: Runs per backend; a run opens a fresh store and makes up to ``STEPS`` calls.
EXAMPLES = {"memory": 100, "sqlite": 25, "postgres": 25}
STEPS = 15


def _settings(backend: str) -> settings:
    # Shrinking replays a failing run many times on fresh stores: cheap in memory only.
    phases = tuple(Phase) if backend == "memory" else tuple(p for p in Phase if p != Phase.shrink)
    return settings(
        max_examples=EXAMPLES.get(backend, 25),
        stateful_step_count=STEPS,
        deadline=None,
        phases=phases,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def test_the_shop_keeps_its_invariants_under_random_calls(
    shop_factory: ShopFactory, backend_name: str
) -> None:
    """A plain ``def``: the machine runs the shop on its own event loop, and so obtains
    its stores (``shop_factory.new_url``) there too."""
    run_state_machine_as_test(
        lambda: ShopMachine(shop_factory.new_url, discard=shop_factory.discard),
        settings=_settings(backend_name),
    )


def test_the_default_machine_runs_on_memory() -> None:
    """``ShopMachine.TestCase`` needs no set-up: it runs on ``memory://``."""
    run_state_machine_as_test(ShopMachine, settings=settings(max_examples=3, deadline=None))
