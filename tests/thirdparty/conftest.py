"""A third party's conftest: its backend goes into the one hook, nothing else is overridden."""

from __future__ import annotations

import pytest

from bookshop_adapters.testing.pytest_plugin import BackendFactory
from tests.thirdparty.backend import fresh_store


@pytest.fixture
def bookshop_backend_factory() -> BackendFactory:
    """Every contract test below runs once, on the wrapping backend."""
    return fresh_store
