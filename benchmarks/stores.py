"""The stores the benchmark runs on, and the data it seeds into them.

SQLite is a fresh file in a temporary directory. PostgreSQL is a fresh database on the server
``$BOOKSHOP_TEST_POSTGRES_URL`` names (dropped afterwards), or on a throwaway server started
from the local binaries (``bookshop_adapters.testing.postgres``).
"""

from __future__ import annotations

import os
import random
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from attrs import frozen
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bookshop_adapters.bootstrap import Shop, ShopSettings, build_shop
from bookshop_adapters.demo.seed import demo_rows, seed_demo
from bookshop_adapters.sqlalchemy.tables import BookRow
from bookshop_adapters.testing.postgres import (
    POSTGRES_URL_ENV,
    ThrowawayPostgres,
    asyncpg_url,
)
from bookshop_core.catalog.entities import NewBook
from bookshop_core.identity.commands import Register
from bookshop_core.identity.settings import IdentitySettings

__all__ = ["Seeded", "open_store", "seed"]

#: Signs the benchmark's access tokens; the raw baseline verifies them with the same secret.
JWT_SECRET = secrets.token_urlsafe(32)
#: Long enough for any run: an access token must not expire mid-benchmark.
SETTINGS = ShopSettings(
    jwt_secret=JWT_SECRET, identity=IdentitySettings(access_ttl=timedelta(hours=6))
)


@frozen
class Seeded:
    """What the benchmark needs to know about the seeded data."""

    book_ids: list[int]
    top_genre_ids: list[int]  # genres without a parent (their lists include sub-genres)
    access_token: str


def _to_dsn(url: str) -> str:
    """The asyncpg DSN of an SQLAlchemy ``postgresql+asyncpg`` URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def open_store(backend: str) -> AsyncIterator[tuple[str, str]]:
    """``(SQLAlchemy URL, raw driver target)`` of an empty store: a file path for SQLite, a
    DSN for PostgreSQL."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bookshop-bench-") as directory:
            path = Path(directory, "bench.db")
            yield f"sqlite+aiosqlite:///{path}", str(path)
        return
    given = os.environ.get(POSTGRES_URL_ENV)
    server = None if given else ThrowawayPostgres.start()
    admin_url = asyncpg_url(given) if given else server.url()  # type: ignore[union-attr]
    name = f"bookshop_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_to_dsn(admin_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        try:
            yield url, _to_dsn(url)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
        if server is not None:
            server.stop()


async def seed(shop: Shop, books: int, rng: random.Random) -> Seeded:
    """The demo catalog (genres and books), topped up to ``books`` books spread over the demo
    genres, plus one registered customer with a fresh access token."""
    await seed_demo(shop)
    genres = await shop.catalog.list_genres()
    rows = demo_rows()
    now = shop.clock.now()
    drafts = []
    for n in range(max(books - len(rows), 0)):
        row = rng.choice(rows)
        drafts.append(
            NewBook(
                title=f"{row['title']} ({n})",
                author=row["author"],
                price=Decimal(rng.randint(299, 9999)).scaleb(-2),
                isbn=None,
                genre_id=rng.choice(genres).id,
                description=row["description"],
                cover_image_url=None,
                publish_date=date(1950, 1, 1) + timedelta(days=rng.randint(0, 27_000)),
                stock_quantity=rng.randint(1, 100),
                created_at=now,
            )
        )
    async with shop.unit_of_work() as uow:
        await uow.books.add_many(drafts)
        await uow.commit()
    async with shop.backend.engine.connect() as connection:  # type: ignore[attr-defined]
        book_ids = list((await connection.execute(select(BookRow.id))).scalars())
        # Fresh statistics, so that both sides get the plans a live database would.
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    pair = await shop.identity.register(
        Register(email="bench@example.com", password=secrets.token_urlsafe(18))
    )
    return Seeded(
        book_ids=book_ids,
        top_genre_ids=[g.id for g in genres if g.parent_id is None],
        access_token=pair.access_token,
    )


async def build(url: str) -> Shop:
    """A migrated shop on ``url`` with the benchmark's settings."""
    return await build_shop(url, migrate=True, settings=SETTINGS)
