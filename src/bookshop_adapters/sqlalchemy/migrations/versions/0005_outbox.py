"""Notifications: the transactional outbox (queued emails and their delivery state).

Revision ID: 0005
Revises: 0004
Create Date: 2024-06-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id_type() -> sa.types.TypeEngine[int]:
    # BIGINT ids; INTEGER on SQLite, so that the primary key aliases the rowid.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Names are final (op.f): env.py's metadata carries a naming convention that would
    # otherwise apply again.
    op.create_table(
        "outbox_messages",
        sa.Column("id", _id_type(), sa.Identity(), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_messages_message_id")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'dead')",
            name=op.f("ck_outbox_messages_status_valid"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_messages_attempts_nonnegative")),
        sqlite_autoincrement=True,
    )
    # A claim reads due pending messages and expired sending ones; the admin list filters by
    # status.
    op.create_index(
        op.f("ix_outbox_messages_status_next_attempt_at"),
        "outbox_messages",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        op.f("ix_outbox_messages_status_claimed_until"),
        "outbox_messages",
        ["status", "claimed_until"],
    )


def downgrade() -> None:
    op.drop_table("outbox_messages")  # its indexes go with it
