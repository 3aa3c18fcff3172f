"""Optional dependencies: one clear error naming the extra to install.

PostgreSQL (``asyncpg``), OAuth sign-in and asymmetric token keys (``httpx``,
``cryptography``: the ``oauth`` extra) and the HTTP example (``fastapi``, ``uvicorn``) are
extras of the ``bookshop`` distribution, not base dependencies. Code that needs one calls
:func:`require` first, so that a missing package is a :class:`MissingExtra` whose message is
the one line a user needs (``PostgreSQL support needs the 'postgres' extra: pip install
'bookshop[postgres]'``) rather than a traceback from deep inside SQLAlchemy or uvicorn.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingExtra", "require"]


class MissingExtra(ImportError):
    """A feature's optional dependency is not installed.

    Attributes:
        feature: What needs it (``"PostgreSQL support"``).
        extra: The extra of the ``bookshop`` distribution that installs it (``"postgres"``).
    """

    def __init__(self, feature: str, extra: str, module: str | None = None) -> None:
        super().__init__(
            f"{feature} needs the '{extra}' extra: pip install 'bookshop[{extra}]'", name=module
        )
        self.feature = feature
        self.extra = extra


def require(module: str, *, feature: str, extra: str) -> ModuleType:
    """Import ``module``, or say which extra installs it.

    Args:
        module: The module to import (``"asyncpg"``).
        feature: What needs it, as the message's subject (``"PostgreSQL support"``).
        extra: The extra that installs it (``"postgres"``).

    Returns:
        The imported module.

    Raises:
        MissingExtra: ``module`` cannot be imported (the import error is its cause).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(feature, extra, module) from exc
