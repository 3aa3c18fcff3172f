"""SQLAlchemy 2 asyncio adapters: SQLite (aiosqlite) and PostgreSQL (asyncpg).

Open a store with :func:`open_sql_backend`, bring its schema up to date with :func:`migrate`,
and pass ``backend.unit_of_work`` wherever the core wants a ``UnitOfWorkFactory``::

    await migrate("sqlite+aiosqlite:///shop.db")
    backend = await open_sql_backend("sqlite+aiosqlite:///shop.db")
    async with backend.unit_of_work() as uow:
        genre = await uow.genres.add("Fantasy", None)
        await uow.commit()
    await backend.aclose()
"""

from bookshop_adapters.sqlalchemy.catalog import SqlBookRepository, SqlGenreRepository
from bookshop_adapters.sqlalchemy.engine import SqlBackend, create_engine_for_url, open_sql_backend
from bookshop_adapters.sqlalchemy.errors import CONSTRAINT_ERRORS, translate_error
from bookshop_adapters.sqlalchemy.migrate import (
    alembic_config,
    current_revision,
    downgrade,
    migrate,
)
from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.statements import StatementCounter, count_statements
from bookshop_adapters.sqlalchemy.tables import Base
from bookshop_adapters.sqlalchemy.timeouts import StoreTimeouts
from bookshop_adapters.sqlalchemy.types import UTCDateTime
from bookshop_adapters.sqlalchemy.uow import SqlUnitOfWork, repository

__all__ = [
    "CONSTRAINT_ERRORS",
    "Base",
    "SqlBackend",
    "SqlBookRepository",
    "SqlGenreRepository",
    "SqlRepository",
    "SqlUnitOfWork",
    "StatementCounter",
    "StoreTimeouts",
    "UTCDateTime",
    "alembic_config",
    "count_statements",
    "create_engine_for_url",
    "current_revision",
    "downgrade",
    "migrate",
    "open_sql_backend",
    "repository",
    "translate_error",
]
