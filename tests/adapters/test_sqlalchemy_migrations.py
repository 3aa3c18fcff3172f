"""Alembic migrations are the one source of the SQL schema: up, down, and in step with the
declarative tables, on SQLite and PostgreSQL (when available: the shared ``postgres_url``
fixture, else ``$BOOKSHOP_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import PrimaryKeyConstraint, inspect, text
from sqlalchemy.engine import Connection

from bookshop_adapters.bootstrap import build_shop
from bookshop_adapters.sqlalchemy import (
    Base,
    SqlBackend,
    alembic_config,
    create_engine_for_url,
    current_revision,
    downgrade,
    migrate,
)
from bookshop_adapters.sqlalchemy.migrate import MIGRATIONS_DIR, VERSION_TABLE
from bookshop_adapters.sqlalchemy.tables import is_described_by_metadata
from bookshop_core.kernel.principal import Principal
from bookshop_core.search import SearchBooks


async def _inspect(url: str, fn: Any) -> Any:
    engine = create_engine_for_url(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _app_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {VERSION_TABLE, "sqlite_sequence"}


def test_migrations_ship_inside_the_package() -> None:
    """The scripts are found from the package itself; no alembic.ini is needed."""
    assert (MIGRATIONS_DIR / "env.py").is_file()
    script = ScriptDirectory.from_config(alembic_config())
    assert [rev.revision for rev in script.walk_revisions()][-1] == "0001"
    assert len(script.get_heads()) == 1  # one linear history


async def test_upgrade_creates_the_schema_and_records_the_head(url: str) -> None:
    """migrate() brings an empty database to head; running it again changes nothing."""
    assert await current_revision(url) is None
    await migrate(url)
    await migrate(url)
    assert await current_revision(url) == _head()
    assert {"books", "genres"} <= await _inspect(url, _app_tables)


async def test_migrated_schema_matches_the_declarative_tables(url: str) -> None:
    """tables.py and the migrations agree: autogenerate finds nothing to change."""
    await migrate(url)

    def differences(conn: Connection) -> list[Any]:
        opts = {
            "compare_type": True,
            "version_table": VERSION_TABLE,
            "include_name": is_described_by_metadata,  # the search index: checked elsewhere
        }
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, Base.metadata))

    assert await _inspect(url, differences) == []


async def test_every_constraint_and_index_is_named_as_in_the_tables(url: str) -> None:
    """Each migrated table has exactly the check, unique, foreign-key and index names that
    tables.py declares (errors are translated by these names; none doubly prefixed)."""
    await migrate(url)

    def named(conn: Connection) -> dict[str, set[str]]:
        inspector = inspect(conn)
        found: dict[str, set[str]] = {}
        for table in Base.metadata.tables:
            indexes = [i for i in inspector.get_indexes(table) if "duplicates_constraint" not in i]
            found[table] = {
                str(item["name"])
                for item in (
                    *inspector.get_check_constraints(table),
                    *inspector.get_unique_constraints(table),
                    *inspector.get_foreign_keys(table),
                    *indexes,
                )
            }
        return found

    declared = {
        name: {
            str(item.name)
            for item in (*table.constraints, *table.indexes)
            if not isinstance(item, PrimaryKeyConstraint)
        }
        for name, table in Base.metadata.tables.items()
    }
    assert await _inspect(url, named) == declared


async def test_constraints_have_their_stable_names(url: str) -> None:
    """Error translation relies on these exact names."""
    await migrate(url)

    def names(conn: Connection) -> dict[str, set[str]]:
        inspector = inspect(conn)
        found: dict[str, set[str]] = {}
        for table in ("books", "genres"):
            found[table] = (
                {c["name"] for c in inspector.get_check_constraints(table)}
                | {c["name"] for c in inspector.get_unique_constraints(table)}
                | {c["name"] for c in inspector.get_foreign_keys(table)}
                | {i["name"] for i in inspector.get_indexes(table)}
            )
        return found

    found = await _inspect(url, names)
    assert {
        "ck_books_price_positive",
        "ck_books_stock_nonnegative",
        "ck_books_review_count_nonnegative",
        "ck_books_rating_sum_nonnegative",
        "uq_books_isbn",
        "fk_books_genre_id_genres",
        "ix_books_genre_id",
        "ix_books_price_cents",
        "ix_books_created_at",
        "ix_books_title_key",
        "ix_books_author_key",
    } <= found["books"]
    assert {"uq_genres_name_key", "fk_genres_parent_id_genres"} <= found["genres"]


async def test_downgrade_to_base_and_back_up_with_data(url: str) -> None:
    """downgrade() removes every table (even with rows and sub-genres); upgrade restores."""
    await migrate(url)
    engine = create_engine_for_url(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO genres (id, name, name_key) VALUES (1, 'A', 'a')"))
            await conn.execute(
                text("INSERT INTO genres (id, name, name_key, parent_id) VALUES (2, 'B', 'b', 1)")
            )
    finally:
        await engine.dispose()
    await downgrade(url)
    assert await current_revision(url) is None
    assert await _inspect(url, _app_tables) == set()
    await migrate(url)
    assert await current_revision(url) == _head()


async def test_concurrent_migrations_are_serialised(url: str) -> None:
    """Several processes starting at once all succeed and migrate exactly once."""
    await asyncio.gather(*(migrate(url) for _ in range(4)))
    assert await current_revision(url) == _head()


async def test_postgres_sort_keys_use_code_point_collation(url: str) -> None:
    """On PostgreSQL the sort keys are COLLATE "C", like Python's str order."""
    if not url.startswith("postgresql"):
        pytest.skip("SQLite's BINARY collation already orders by code point")
    await migrate(url)

    def collations(conn: Connection) -> dict[str, Any]:
        rows = conn.execute(
            text(
                "SELECT table_name || '.' || column_name, collation_name "
                "FROM information_schema.columns "
                "WHERE column_name IN ('title_key', 'name_key')"
            )
        )
        return {row[0]: row[1] for row in rows}

    assert await _inspect(url, collations) == {"books.title_key": "C", "genres.name_key": "C"}


async def test_upgrading_to_search_indexes_the_books_already_stored(url: str) -> None:
    """A database upgraded from 0003 with books in it finds them at once, in every batch,
    as a reindex would index them (no ``search-reindex`` needed)."""
    await migrate(url, "0003")
    rows = [
        {
            "id": n,
            "title": f"Volume {n}" if n != 777 else "Cien años de soledad",
            "key": f"volume {n}",
            "author": "García Márquez" if n == 777 else "Someone",
            "author_key": "garcía márquez" if n == 777 else "someone",
            "description": "running whales" if n % 500 == 0 else None,
        }
        for n in range(1, 1203)
    ]
    engine = create_engine_for_url(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO books (id, title, title_key, author, author_key, price_cents, "
                    "description, created_at, updated_at) VALUES (:id, :title, :key, :author, "
                    ":author_key, 999, :description, '2024-01-01T00:00:00+00:00', "
                    "'2024-01-01T00:00:00+00:00')"
                ),
                rows,
            )
    finally:
        await engine.dispose()
    await migrate(url)
    async with build_shop(url) as shop:
        found = await shop.search.search(SearchBooks(q="garcia marquez"))
        assert [hit.book.id for hit in found.page.items] == [777]
        stemmed = await shop.search.search(SearchBooks(q="run "))
        assert [hit.book.id for hit in stemmed.page.items] == [500, 1000]
        assert (await shop.search.search(SearchBooks(q="volume"))).page.total == 1201
        before = await shop.search.search(SearchBooks(q="volum", size=100, page=3))
        assert await shop.search.reindex(Principal.system()) == 1202
        assert await shop.search.search(SearchBooks(q="volum", size=100, page=3)) == before


async def test_triggers_keep_each_books_review_counters(backend: SqlBackend) -> None:
    """Migration 0008's triggers count each book's live reviews in ``review_count`` and
    ``rating_sum`` on any write to ``reviews``, even one past the repository: insert, re-rate,
    soft delete, undelete, a move to another book, a hard delete, a text-only edit, and a
    deleted book's cascade."""
    from datetime import UTC, datetime

    from sqlalchemy import delete, insert, select, update

    from bookshop_adapters.sqlalchemy.tables import BookRow, ReviewRow, table_of
    from bookshop_core.catalog.entities import NewBook
    from bookshop_core.identity.entities import NewUser
    from bookshop_core.kernel.principal import Role

    when = datetime(2024, 1, 1, tzinfo=UTC)
    reviews, books = table_of(ReviewRow), table_of(BookRow)
    async with backend.unit_of_work() as uow:
        users = [
            await uow.users.add(NewUser(f"r{n}@example.com", None, Role.USER, when))
            for n in range(3)
        ]
        one, two = [
            await uow.books.add(
                NewBook(
                    title=title,
                    author="A",
                    price=Decimal("5.00"),
                    isbn=None,
                    genre_id=None,
                    description=None,
                    cover_image_url=None,
                    publish_date=None,
                    stock_quantity=1,
                    created_at=when,
                )
            )
            for title in ("One", "Two")
        ]
        run = uow.connection.execute

        async def counters() -> dict[int, tuple[int, int]]:
            rows = await run(select(books.c.id, books.c.review_count, books.c.rating_sum))
            return {row.id: (row.review_count, row.rating_sum) for row in rows}

        written = await run(
            insert(reviews).returning(reviews.c.id),
            [
                {
                    "user_id": user.id,
                    "book_id": one.id,
                    "rating": rating,
                    "created_at": when,
                    "updated_at": when,
                    "deleted_at": deleted,
                }
                for user, rating, deleted in zip(users, [4, 2, 5], [None, None, when], strict=True)
            ],
        )
        first, second, third = [row.id for row in written]
        assert await counters() == {one.id: (2, 6), two.id: (0, 0)}
        steps: list[tuple[int, dict[str, Any], dict[int, tuple[int, int]]]] = [
            (second, {"rating": 5}, {one.id: (2, 9), two.id: (0, 0)}),
            (first, {"deleted_at": when}, {one.id: (1, 5), two.id: (0, 0)}),
            (second, {"book_id": two.id}, {one.id: (0, 0), two.id: (1, 5)}),
            (third, {"deleted_at": None}, {one.id: (1, 5), two.id: (1, 5)}),
            (third, {"text": "Fine"}, {one.id: (1, 5), two.id: (1, 5)}),
        ]
        for review_id, values, expected in steps:
            await run(update(reviews).where(reviews.c.id == review_id).values(**values))
            assert await counters() == expected, values
        await run(delete(reviews).where(reviews.c.id == second))
        assert await counters() == {one.id: (1, 5), two.id: (0, 0)}
        await run(delete(books).where(books.c.id == one.id))
        assert await counters() == {two.id: (0, 0)}
        assert (await run(select(reviews.c.id))).all() == []  # gone with their book
