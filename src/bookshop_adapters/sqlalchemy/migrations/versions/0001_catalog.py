"""Catalog: genres (a taxonomy) and books.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    # INTEGER on SQLite so the primary key aliases the rowid (with AUTOINCREMENT: never reused).
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _code_point_string(length: int) -> sa.types.TypeEngine[str]:
    # Sort by code point like Python and SQLite, whatever the database's default collation.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    # Every name is final (op.f): env.py's target metadata carries a naming convention that
    # would otherwise prefix names again (ck_books_ck_books_...).
    op.create_table(
        "genres",
        sa.Column("id", _id(), sa.Identity(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", _code_point_string(300), nullable=False),
        sa.Column("parent_id", _id(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genres")),
        sa.UniqueConstraint("name_key", name=op.f("uq_genres_name_key")),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["genres.id"],
            name=op.f("fk_genres_parent_id_genres"),
            ondelete="RESTRICT",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_genres_parent_id"), "genres", ["parent_id"])

    op.create_table(
        "books",
        sa.Column("id", _id(), sa.Identity(), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("title_key", _code_point_string(1500), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("author_key", sa.String(765), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("isbn", sa.String(13), nullable=True),
        sa.Column("genre_id", _id(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cover_image_url", sa.String(2048), nullable=True),
        sa.Column("publish_date", sa.Date(), nullable=True),
        sa.Column("stock_quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("review_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rating_sum", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_books")),
        sa.UniqueConstraint("isbn", name=op.f("uq_books_isbn")),
        sa.ForeignKeyConstraint(
            ["genre_id"], ["genres.id"], name=op.f("fk_books_genre_id_genres"), ondelete="RESTRICT"
        ),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_books_price_positive")),
        sa.CheckConstraint("stock_quantity >= 0", name=op.f("ck_books_stock_nonnegative")),
        sa.CheckConstraint("review_count >= 0", name=op.f("ck_books_review_count_nonnegative")),
        sa.CheckConstraint("rating_sum >= 0", name=op.f("ck_books_rating_sum_nonnegative")),
        sqlite_autoincrement=True,
    )
    # The genre filter, and each sort key of the book list (author: the substring filter).
    for column in (
        "genre_id",
        "title_key",
        "author_key",
        "price_cents",
        "publish_date",
        "created_at",
    ):
        op.create_index(op.f(f"ix_books_{column}"), "books", [column])


def downgrade() -> None:
    op.drop_table("books")  # its indexes go with it
    # SQLite empties a table before dropping it; unlink sub-genres first so that the implicit
    # DELETE does not trip the (immediate, RESTRICT) self-reference.
    op.execute("UPDATE genres SET parent_id = NULL")
    op.drop_index(op.f("ix_genres_parent_id"), table_name="genres")
    op.drop_table("genres")
