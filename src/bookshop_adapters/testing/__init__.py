"""The public testing kit (install the ``testing`` extra).

- :func:`snapshot`: a comparable picture of a whole store, to assert a failure changed nothing.
- :func:`add_book`, :func:`add_genre`, :data:`ADMIN`, :data:`CUSTOMER`: short test set-up.
- :class:`ThrowawayPostgres`, :class:`TestDatabases`: a private PostgreSQL server, and cheap
  fresh databases on any server.
- ``bookshop_adapters.testing.pytest_plugin``: fixtures that run a test on every backend
  (``pytest_plugins = ["bookshop_adapters.testing.pytest_plugin"]``).
- ``bookshop_adapters.testing.contract``: the contract suite every backend must pass, as
  classes to subclass in your own test modules.
- ``bookshop_adapters.testing.strategies``: Hypothesis strategies for ISBNs, prices and commands.
- :class:`ShopMachine`: a Hypothesis state machine of the whole shop that checks the domain
  rules after every step, on any backend (``bookshop_adapters.testing.stateful``).
"""

from bookshop_adapters.testing.builders import ADMIN, CUSTOMER, add_book, add_genre
from bookshop_adapters.testing.postgres import (
    POSTGRES_URL_ENV,
    PostgresUnavailable,
    TestDatabases,
    ThrowawayPostgres,
    find_postgres_bindir,
)
from bookshop_adapters.testing.snapshot import StoreSnapshot, snapshot
from bookshop_adapters.testing.stateful import ShopMachine

__all__ = [
    "ADMIN",
    "CUSTOMER",
    "POSTGRES_URL_ENV",
    "PostgresUnavailable",
    "ShopMachine",
    "StoreSnapshot",
    "TestDatabases",
    "ThrowawayPostgres",
    "add_book",
    "add_genre",
    "find_postgres_bindir",
    "snapshot",
]
