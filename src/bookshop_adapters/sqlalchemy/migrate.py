"""Schema migrations: Alembic, driven from code, on SQLite and PostgreSQL alike.

The migration scripts live inside the package (``migrations/versions``), so an installed
bookshop migrates without an ``alembic.ini``: :func:`alembic_config` builds the configuration.
The version is kept in its own table, :data:`VERSION_TABLE`, so an embedding app's own Alembic
history in the same database does not collide with ours.

Each run is one transaction (DDL is transactional on both backends): a failing migration
leaves the schema as it was. Concurrent runs are serialised (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: a transaction-scoped advisory lock).

Adding a migration: write ``versions/NNNN_<context>.py`` in the shape of
``versions/0001_catalog.py`` (``revision = "NNNN"``, ``down_revision`` the previous one),
naming every constraint and index explicitly with the names ``tables.py``'s convention gives
(errors are translated by name); keep ``tables.py`` in step (a test compares the migrated
schema with it) and write ``downgrade()``. On SQLite, change existing tables through
``op.batch_alter_table``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bookshop_adapters.sqlalchemy.engine import create_engine_for_url

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where it is used: opening a shop does not need it, and it is the
# costliest import of a command-line run.

__all__ = [
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "downgrade",
    "migrate",
]

#: Where the Alembic environment and the revision scripts are, inside the installed package.
MIGRATIONS_DIR: Final = Path(__file__).resolve().with_name("migrations")
#: The table that records which revision a database is at.
VERSION_TABLE: Final = "bookshop_alembic_version"
#: ``pg_advisory_xact_lock`` key serialising concurrent migrations ("bookshop" in ASCII).
_POSTGRES_LOCK_KEY: Final = 0x626F6F6B73686F70


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for bookshop's migrations, built in code.

    Args:
        url: Stored as ``sqlalchemy.url`` (for running ``env.py`` without a connection).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the schema at ``url`` to ``revision`` (default: the newest).

    Args:
        url: ``sqlite+aiosqlite:///PATH`` (the file is created if missing) or
            ``postgresql+asyncpg://...``.
        revision: An Alembic revision id, ``"head"``, or a relative step like ``"+1"``.

    Raises:
        ValueError: an unsupported URL.
    """
    from alembic import command

    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the schema at ``url`` to ``revision`` (default: nothing left)."""
    from alembic import command

    await _run(url, lambda config: command.downgrade(config, revision))


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; ``None`` when it was never migrated."""

    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()

    engine = create_engine_for_url(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def _run(url: str, action: Callable[[Config], None]) -> None:
    engine = create_engine_for_url(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_LOCK_KEY}
                )
            await connection.run_sync(_run_sync, action)
    finally:
        await engine.dispose()


def _run_sync(connection: Connection, action: Callable[[Config], None]) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    action(config)
