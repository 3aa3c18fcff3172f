"""Search postings: a narrow B-tree of (term, book) rows beside the full-text index.

``search_postings`` holds one row per distinct term of a book (its lexemes and its folded
surface words), with the bits of the fields holding it and a copy of the book's filter
attributes (``genre_id``, ``price_cents``, ``in_stock``), so that counting, scoring, filtering
and faceting a term's matches are index-only range scans (see ``tables.search_postings``).
The tsvector / FTS5 tables of 0004 stay: phrases are matched there.

``SqlSearchIndex.put`` writes a book's rows, reading the attributes from ``books``; afterwards
a trigger on ``books`` keeps them in step when the genre or the price changes, or the stock
crosses 0 (a stock change that keeps the book in or out of stock rewrites nothing):

- PostgreSQL: a row-level ``AFTER UPDATE OF`` trigger, its ``WHEN`` condition filtering the
  changes, runs ``search_postings_follow_book()``. It writes rows keyed by the book whose row
  the triggering statement has just locked, as every other writer of these rows does: no new
  lock order.
- SQLite: a row-level trigger with the same condition.

A later SQLite batch migration that rebuilds ``books`` fails while the trigger names it: such a
migration drops it first and creates it again after (``drop_follow_trigger`` /
``create_follow_trigger``).

The upgrade fills the table from the books already stored, with the shipped analyzer (English
Snowball), as 0004 filled the full-text index; a shop built with another stemmer runs
``bookshop search-reindex`` afterwards. Offline (``--sql``) scripts only create the schema.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import context, op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The trigger's name, the same on both dialects (and the PostgreSQL function's).
FOLLOW_TRIGGER: Final = "search_postings_follow_book"

#: The changes of a book that its postings follow.
_CHANGED: Final = (
    "OLD.genre_id IS DISTINCT FROM NEW.genre_id "
    "OR OLD.price_cents <> NEW.price_cents "
    "OR (OLD.stock_quantity > 0) <> (NEW.stock_quantity > 0)"
)
_SQLITE_CHANGED: Final = _CHANGED.replace("IS DISTINCT FROM", "IS NOT")
_FOLLOW: Final = (
    "UPDATE search_postings "
    "SET genre_id = NEW.genre_id, price_cents = NEW.price_cents, "
    "in_stock = NEW.stock_quantity > 0 "
    "WHERE book_id = NEW.id;"
)

_SQLITE_TRIGGER: Final = f"""
CREATE TRIGGER {FOLLOW_TRIGGER}
AFTER UPDATE OF genre_id, price_cents, stock_quantity ON books
FOR EACH ROW WHEN {_SQLITE_CHANGED} BEGIN
    {_FOLLOW}
END
"""

_PG_FUNCTION: Final = f"""
CREATE FUNCTION {FOLLOW_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_FOLLOW}
    RETURN NULL;
END
$$
"""

_PG_TRIGGER: Final = f"""
CREATE TRIGGER {FOLLOW_TRIGGER}
AFTER UPDATE OF genre_id, price_cents, stock_quantity ON books
FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION {FOLLOW_TRIGGER}()
"""


def create_follow_trigger() -> None:
    """Create the trigger that keeps the postings' attributes those of their book
    (``books`` and ``search_postings`` must exist)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_SQLITE_TRIGGER)
        return
    op.execute(_PG_FUNCTION)
    op.execute(_PG_TRIGGER)


def drop_follow_trigger() -> None:
    """Drop what :func:`create_follow_trigger` created."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER {FOLLOW_TRIGGER}")
        return
    op.execute(f"DROP TRIGGER {FOLLOW_TRIGGER} ON books")
    op.execute(f"DROP FUNCTION {FOLLOW_TRIGGER}()")


def _fill_from_stored_books() -> None:
    """Write the postings of every book already stored, a batch at a time, exactly as
    ``SqlSearchIndex.put`` would."""
    if context.is_offline_mode():
        return  # no rows to read in a rendered script
    from bookshop_adapters.sqlalchemy._postings import insert_postings, stored_documents
    from bookshop_adapters.stemming import SnowballStemmer
    from bookshop_core.search.analysis import Analyzer

    bind = op.get_bind()
    for documents in stored_documents(bind, Analyzer(SnowballStemmer())):
        insert_postings(bind, documents)


def upgrade() -> None:
    # Names are final (op.f): env.py's metadata carries a naming convention that would
    # otherwise apply again.
    op.create_table(
        "search_postings",
        # Code-point order on PostgreSQL, so that a prefix is a range (SQLite's BINARY
        # collation already is).
        sa.Column(
            "term", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("fields", sa.SmallInteger(), nullable=False),
        sa.Column("word_fields", sa.SmallInteger(), nullable=False),
        sa.Column("genre_id", sa.BigInteger(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("in_stock", sa.Boolean(), nullable=False),
        # PostgreSQL: the primary key covers the other columns (index-only scans); SQLite: the
        # primary key B-tree is the table.
        sa.PrimaryKeyConstraint(
            "term",
            "book_id",
            name=op.f("pk_search_postings"),
            postgresql_include=["fields", "word_fields", "genre_id", "price_cents", "in_stock"],
        ),
        # The rows go with their book, whatever deletes it.
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_search_postings_book_id_books"),
            ondelete="CASCADE",
        ),
        sqlite_with_rowid=False,
    )
    # Filled before the book_id index exists: building it once over the rows is faster than
    # updating it row by row.
    _fill_from_stored_books()
    op.create_index(op.f("ix_search_postings_book_id"), "search_postings", ["book_id"])
    create_follow_trigger()


def downgrade() -> None:
    drop_follow_trigger()
    op.drop_table("search_postings")  # its index goes with it
