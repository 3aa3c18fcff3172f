"""Reviews: users' reviews of books they bought (soft-deleted, one live per user and book),
the triggers that keep each book's ``review_count``/``rating_sum`` counting its live reviews,
and the accounts' public display name.

The counters move in the transaction of every statement that writes ``reviews`` (insert, a
rating or ``deleted_at`` change, a delete, a cascade from a deleted book or user), so no write
path has a counter statement of its own and none can forget one:

- PostgreSQL: one statement-level trigger per event, with transition tables, runs
  ``reviews_count_in_books()``: it sums the statement's changes per book and applies them with
  one relative ``UPDATE books`` (``review_count = review_count + n``), which waits for the
  row's lock and then reads its latest committed version, so concurrent writes never lose a
  count. A statement touching several books locks them in id order first, so two concurrent
  bulk deletes queue instead of deadlocking.
- SQLite: row-level triggers with the same relative updates (writing transactions are
  serialised by ``BEGIN IMMEDIATE``).

A later SQLite batch migration that rebuilds ``reviews`` loses the triggers, and one that
rebuilds ``books`` fails while they name it: such a migration drops them first and creates
them again after, as this one's ``drop_counter_triggers``/``create_counter_triggers`` do.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id_type() -> sa.types.TypeEngine[int]:
    # BIGINT ids; INTEGER on SQLite, so that the primary key aliases the rowid.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


#: SQLite: each row's contribution (live: 1 and its rating) leaves its old book and joins its
#: new one; ``UPDATE OF`` leaves text-only edits out.
_SQLITE_TRIGGERS: Final = (
    """
    CREATE TRIGGER reviews_counted_on_insert AFTER INSERT ON reviews
    FOR EACH ROW WHEN NEW.deleted_at IS NULL BEGIN
        UPDATE books SET review_count = review_count + 1, rating_sum = rating_sum + NEW.rating
        WHERE id = NEW.book_id;
    END
    """,
    """
    CREATE TRIGGER reviews_counted_on_update AFTER UPDATE OF book_id, rating, deleted_at
    ON reviews FOR EACH ROW BEGIN
        UPDATE books SET review_count = review_count - 1, rating_sum = rating_sum - OLD.rating
        WHERE id = OLD.book_id AND OLD.deleted_at IS NULL;
        UPDATE books SET review_count = review_count + 1, rating_sum = rating_sum + NEW.rating
        WHERE id = NEW.book_id AND NEW.deleted_at IS NULL;
    END
    """,
    """
    CREATE TRIGGER reviews_counted_on_delete AFTER DELETE ON reviews
    FOR EACH ROW WHEN OLD.deleted_at IS NULL BEGIN
        UPDATE books SET review_count = review_count - 1, rating_sum = rating_sum - OLD.rating
        WHERE id = OLD.book_id;
    END
    """,
)

#: PostgreSQL: what a statement adds to each book (its new live rows) and takes away (its old
#: live rows); an event has only the transition tables it declares, hence one query each.
_PG_MOVES: Final = {
    "INSERT": "SELECT book_id, 1 AS n, rating AS s FROM new_rows WHERE deleted_at IS NULL",
    "UPDATE": (
        "SELECT book_id, 1 AS n, rating AS s FROM new_rows WHERE deleted_at IS NULL "
        "UNION ALL "
        "SELECT book_id, -1, -rating FROM old_rows WHERE deleted_at IS NULL"
    ),
    "DELETE": "SELECT book_id, -1 AS n, -rating AS s FROM old_rows WHERE deleted_at IS NULL",
}


def _pg_sum_moves(moves: str) -> str:
    """Each touched book's net change, as three arrays in book id order (NULL: none)."""
    return f"""
        SELECT array_agg(book_id ORDER BY book_id), array_agg(n ORDER BY book_id),
               array_agg(s ORDER BY book_id)
        INTO ids, counts, sums
        FROM (
            SELECT book_id, sum(n) AS n, sum(s) AS s FROM ({moves}) AS moved
            GROUP BY book_id HAVING sum(n) <> 0 OR sum(s) <> 0
        ) AS net;"""


_PG_FUNCTION: Final = f"""
CREATE FUNCTION reviews_count_in_books() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    counts bigint[];
    sums bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN {_pg_sum_moves(_PG_MOVES["INSERT"])}
    ELSIF TG_OP = 'UPDATE' THEN {_pg_sum_moves(_PG_MOVES["UPDATE"])}
    ELSE {_pg_sum_moves(_PG_MOVES["DELETE"])}
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    IF cardinality(ids) > 1 THEN
        -- Several books: lock them in id order, so that concurrent statements queue.
        PERFORM 1 FROM books WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
    END IF;
    UPDATE books
    SET review_count = review_count + net.n, rating_sum = rating_sum + net.s
    FROM unnest(ids, counts, sums) AS net (id, n, s)
    WHERE books.id = net.id;
    RETURN NULL;
END
$$
"""

#: PostgreSQL: (trigger, event, transition tables) running ``reviews_count_in_books()``.
_PG_TRIGGERS: Final = (
    ("reviews_counted_on_insert", "INSERT", "NEW TABLE AS new_rows"),
    ("reviews_counted_on_update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("reviews_counted_on_delete", "DELETE", "OLD TABLE AS old_rows"),
)

#: The triggers' names, the same on both dialects.
COUNTER_TRIGGERS: Final = tuple(name for name, _, _ in _PG_TRIGGERS)


def create_counter_triggers() -> None:
    """Create the triggers that keep ``books.review_count``/``rating_sum`` counting the live
    reviews (``reviews`` and ``books`` must exist)."""
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)
        return
    op.execute(_PG_FUNCTION)
    for name, event, tables in _PG_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON reviews REFERENCING {tables} "
            "FOR EACH STATEMENT EXECUTE FUNCTION reviews_count_in_books()"
        )


def drop_counter_triggers() -> None:
    """Drop what :func:`create_counter_triggers` created."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in COUNTER_TRIGGERS:
        op.execute(f"DROP TRIGGER {name}" if sqlite else f"DROP TRIGGER {name} ON reviews")
    if not sqlite:
        op.execute("DROP FUNCTION reviews_count_in_books()")


def upgrade() -> None:
    # Names are final (op.f): env.py's metadata carries a naming convention that would
    # otherwise apply again.
    op.add_column("users", sa.Column("display_name", sa.String(100), nullable=True))
    op.create_table(
        "reviews",
        sa.Column("id", _id_type(), sa.Identity(), nullable=False),
        sa.Column("user_id", _id_type(), nullable=False),
        sa.Column("book_id", _id_type(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _at("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reviews_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["book_id"], ["books.id"], name=op.f("fk_reviews_book_id_books"), ondelete="CASCADE"
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating_range")),
        sqlite_autoincrement=True,
    )
    # One live review per user and book, race-safe; deleted ones do not count (a partial
    # unique index).
    live = sa.text("deleted_at IS NULL")
    op.create_index(
        op.f("uq_reviews_live"),
        "reviews",
        ["user_id", "book_id"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    # A book's reviews newest first; moderation by user, by date, by rating.
    op.create_index(op.f("ix_reviews_book_id_created_at"), "reviews", ["book_id", "created_at"])
    op.create_index(op.f("ix_reviews_user_id"), "reviews", ["user_id"])
    op.create_index(op.f("ix_reviews_created_at"), "reviews", ["created_at"])
    op.create_index(op.f("ix_reviews_rating"), "reviews", ["rating"])
    create_counter_triggers()


def downgrade() -> None:
    drop_counter_triggers()
    op.drop_table("reviews")  # its indexes go with it
    with op.batch_alter_table("users") as batch:  # SQLite rebuilds the table
        batch.drop_column("display_name")
