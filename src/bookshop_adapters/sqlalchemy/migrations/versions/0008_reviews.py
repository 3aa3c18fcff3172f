"""Reviews: users' reviews of books they bought (soft-deleted, one live per user and book),
and the accounts' public display name.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

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


def downgrade() -> None:
    op.drop_table("reviews")  # its indexes go with it
    with op.batch_alter_table("users") as batch:  # SQLite rebuilds the table
        batch.drop_column("display_name")
