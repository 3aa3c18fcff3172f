"""Pre-booking: users' pre-bookings of out-of-stock books.

Revision ID: 0006
Revises: 0005
Create Date: 2024-06-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id_type() -> sa.types.TypeEngine[int]:
    # BIGINT ids; INTEGER on SQLite, so that the primary key aliases the rowid.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Names are final (op.f): env.py's metadata carries a naming convention that would
    # otherwise apply again.
    op.create_table(
        "prebookings",
        sa.Column("id", _id_type(), sa.Identity(), nullable=False),
        sa.Column("user_id", _id_type(), nullable=False),
        sa.Column("book_id", _id_type(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prebookings")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_prebookings_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["book_id"], ["books.id"], name=op.f("fk_prebookings_book_id_books"), ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "status IN ('waiting', 'notified', 'cancelled')",
            name=op.f("ck_prebookings_status_valid"),
        ),
        sqlite_autoincrement=True,
    )
    # One waiting pre-booking per user and book, race-safe (a partial unique index).
    waiting = sa.text("status = 'waiting'")
    op.create_index(
        op.f("uq_prebookings_waiting"),
        "prebookings",
        ["user_id", "book_id"],
        unique=True,
        sqlite_where=waiting,
        postgresql_where=waiting,
    )
    # A user's list; a restock's broadcast (the book's waiting ones).
    op.create_index(op.f("ix_prebookings_user_id"), "prebookings", ["user_id"])
    op.create_index(op.f("ix_prebookings_book_id_status"), "prebookings", ["book_id", "status"])


def downgrade() -> None:
    op.drop_table("prebookings")  # its indexes go with it
