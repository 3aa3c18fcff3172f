"""The stateful machine of the whole shop on every backend: the shared contract in
``bookshop_adapters.testing.contract``; and the machine's own default, on memory."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from bookshop_adapters.testing.contract import ShopMachineContract
from bookshop_adapters.testing.stateful import ShopMachine


class TestShopMachine(ShopMachineContract):
    """Random sequences of catalog, identity, pre-booking, commerce and review calls,
    invariants checked after each."""


def test_the_default_machine_runs_on_memory() -> None:
    """``ShopMachine.TestCase`` needs no set-up: it runs on ``memory://``."""
    run_state_machine_as_test(ShopMachine, settings=settings(max_examples=3, deadline=None))
