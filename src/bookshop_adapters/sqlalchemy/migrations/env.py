"""Alembic environment of bookshop's SQL schema.

Normally run through ``bookshop_adapters.sqlalchemy.migrate`` (``migrate(url)``), which hands
this script an open connection inside one transaction in ``config.attributes["connection"]``.
Run with the ``alembic`` command, it reads the URL from the ``sqlalchemy.url`` option (the
library reads no environment variable) and connects itself; ``--sql`` (offline) mode renders
the DDL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bookshop_adapters.sqlalchemy.migrate import VERSION_TABLE
from bookshop_adapters.sqlalchemy.tables import Base, is_described_by_metadata

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set the sqlalchemy.url option to the database URL")
    return url


def _run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        include_name=is_described_by_metadata,  # not the search index's per-dialect tables
        # SQLite alters tables by copying them; autogenerate should write batch operations.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online_from_url(url: str) -> None:
    from bookshop_adapters.sqlalchemy.engine import create_engine_for_url

    engine = create_engine_for_url(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_with)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run_with(connection)
    else:
        asyncio.run(_run_online_from_url(_url()))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
