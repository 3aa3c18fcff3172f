"""Commerce: orders and their lines, cart lines, wishlist entries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
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
    op.create_table(
        "orders",
        sa.Column("id", _id_type(), sa.Identity(), nullable=False),
        sa.Column("user_id", _id_type(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("cart_fingerprint", sa.String(64), nullable=False),
        sa.Column("payment_reference", sa.String(255), nullable=True),
        sa.Column("failure_reason", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_orders_user_id_users"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name=op.f("uq_orders_user_id_idempotency_key")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'payment_failed', 'shipped', 'delivered', "
            "'cancelled')",
            name=op.f("ck_orders_status_valid"),
        ),
        sa.CheckConstraint("total_cents >= 0", name=op.f("ck_orders_total_nonnegative")),
        sqlite_autoincrement=True,
    )
    # A user's orders and every order, newest first; sales by status over a period.
    op.create_index(op.f("ix_orders_user_id_created_at"), "orders", ["user_id", "created_at"])
    op.create_index(op.f("ix_orders_status_created_at"), "orders", ["status", "created_at"])
    op.create_index(op.f("ix_orders_created_at"), "orders", ["created_at"])

    op.create_table(
        "order_items",
        sa.Column("id", _id_type(), sa.Identity(), nullable=False),
        sa.Column("order_id", _id_type(), nullable=False),
        sa.Column("book_id", _id_type(), nullable=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_order_items_book_id_books"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_items_quantity_positive")),
        sa.CheckConstraint("unit_price_cents > 0", name=op.f("ck_order_items_unit_price_positive")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_order_items_order_id"), "order_items", ["order_id"])
    op.create_index(op.f("ix_order_items_book_id"), "order_items", ["book_id"])

    op.create_table(
        "cart_items",
        sa.Column("id", _id_type(), sa.Identity(), nullable=False),
        sa.Column("user_id", _id_type(), nullable=False),
        sa.Column("book_id", _id_type(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        _at("added_at"),
        sa.Column("held_by_order_id", _id_type(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_items")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cart_items_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["book_id"], ["books.id"], name=op.f("fk_cart_items_book_id_books"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["held_by_order_id"],
            ["orders.id"],
            name=op.f("fk_cart_items_held_by_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("user_id", "book_id", name=op.f("uq_cart_items_user_id_book_id")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_items_quantity_positive")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_cart_items_book_id"), "cart_items", ["book_id"])
    op.create_index(op.f("ix_cart_items_held_by_order_id"), "cart_items", ["held_by_order_id"])

    op.create_table(
        "wishlist_items",
        sa.Column("id", _id_type(), sa.Identity(), nullable=False),
        sa.Column("user_id", _id_type(), nullable=False),
        sa.Column("book_id", _id_type(), nullable=False),
        _at("added_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wishlist_items")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wishlist_items_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_wishlist_items_book_id_books"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("user_id", "book_id", name=op.f("uq_wishlist_items_user_id_book_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_wishlist_items_book_id"), "wishlist_items", ["book_id"])


def downgrade() -> None:
    for table in ("wishlist_items", "cart_items", "order_items", "orders"):
        op.drop_table(table)  # their indexes go with them
