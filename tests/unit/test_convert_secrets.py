"""The converter never turns a stored account, with its password hash, into data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bookshop_core import unstructure
from bookshop_core.identity.entities import User
from bookshop_core.kernel.principal import Role


def test_unstructuring_a_user_is_refused() -> None:
    """A ``User`` carries its hash; only ``UserView`` may be unstructured."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    user = User(1, "a@example.com", "$argon2id$secret", Role.USER, True, now, now)
    with pytest.raises(TypeError, match="UserView"):
        unstructure(user)
