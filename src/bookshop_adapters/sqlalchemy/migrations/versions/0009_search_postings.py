"""Search postings: a narrow B-tree of (term, book) rows beside the full-text index.

``search_postings`` holds one row per distinct term of a book (its lexemes and its folded
surface words), with the bits of the fields holding it (for a surface word, also those of the
book's words sharing each of its prefixes: ``prefix_fields``) and a copy of the book's filter
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

Deleting a book deletes its rows through a second trigger, ``search_postings_forget_book``
(``AFTER DELETE ON books``, row-level; on PostgreSQL a function of the same name), rather than
a foreign key with ``ON DELETE CASCADE``: the key's check, one per row written (about 66 per
book), cost a third of writing the rows on PostgreSQL (``put`` of 10,000 benchmark books 9.3 ->
6.6 s), and guarded nothing, as the insert joins ``books`` (no row for a missing book) and on
PostgreSQL first locks the batch's books ``FOR SHARE`` (a book cannot go while its rows are
written).

A later SQLite batch migration that rebuilds ``books`` fails while a trigger names it: such a
migration drops them first and creates them again after (``drop_book_triggers`` /
``create_book_triggers``).

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

#: The names of the triggers on ``books``, the same on both dialects (and their PostgreSQL
#: functions'): the one that keeps the rows' attributes those of their book, and the one that
#: deletes a deleted book's rows.
FOLLOW_TRIGGER: Final = "search_postings_follow_book"
FORGET_TRIGGER: Final = "search_postings_forget_book"

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

_FORGET: Final = "DELETE FROM search_postings WHERE book_id = OLD.id;"

#: SQLite: each trigger on ``books``, by name.
_SQLITE_TRIGGERS: Final = {
    FOLLOW_TRIGGER: f"""
CREATE TRIGGER {FOLLOW_TRIGGER}
AFTER UPDATE OF genre_id, price_cents, stock_quantity ON books
FOR EACH ROW WHEN {_SQLITE_CHANGED} BEGIN
    {_FOLLOW}
END
""",
    FORGET_TRIGGER: f"""
CREATE TRIGGER {FORGET_TRIGGER}
AFTER DELETE ON books
FOR EACH ROW BEGIN
    {_FORGET}
END
""",
}

#: PostgreSQL: each trigger on ``books``, by name, and the body of the function it runs (of
#: the same name).
_PG_TRIGGERS: Final = {
    FOLLOW_TRIGGER: (
        f"""
CREATE TRIGGER {FOLLOW_TRIGGER}
AFTER UPDATE OF genre_id, price_cents, stock_quantity ON books
FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION {FOLLOW_TRIGGER}()
""",
        _FOLLOW,
    ),
    FORGET_TRIGGER: (
        f"""
CREATE TRIGGER {FORGET_TRIGGER}
AFTER DELETE ON books
FOR EACH ROW EXECUTE FUNCTION {FORGET_TRIGGER}()
""",
        _FORGET,
    ),
}


def _pg_function(name: str, body: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END
$$
"""


def create_book_triggers() -> None:
    """Create the triggers on ``books`` that keep the postings' attributes those of their
    book and delete a deleted book's postings (``search_postings`` must exist)."""
    if op.get_bind().dialect.name == "sqlite":
        for trigger in _SQLITE_TRIGGERS.values():
            op.execute(trigger)
        return
    for name, (trigger, body) in _PG_TRIGGERS.items():
        op.execute(_pg_function(name, body))
        op.execute(trigger)


def drop_book_triggers() -> None:
    """Drop what :func:`create_book_triggers` created."""
    if op.get_bind().dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        return
    for name in _PG_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON books")
        op.execute(f"DROP FUNCTION {name}()")


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
        sa.Column("prefix_fields", sa.BigInteger(), nullable=False),
        sa.Column("genre_id", sa.BigInteger(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("in_stock", sa.Boolean(), nullable=False),
        # PostgreSQL: the primary key covers the other columns (index-only scans); SQLite: the
        # primary key B-tree is the table.
        sa.PrimaryKeyConstraint(
            "term",
            "book_id",
            name=op.f("pk_search_postings"),
            postgresql_include=[
                "fields",
                "word_fields",
                "prefix_fields",
                "genre_id",
                "price_cents",
                "in_stock",
            ],
        ),
        # No foreign key to books: a trigger deletes a deleted book's rows (see above).
        sqlite_with_rowid=False,
    )
    # The triggers first: on PostgreSQL creating them locks ``books`` against writes until the
    # migration commits, so that no book changes or goes unseen while its rows are written.
    create_book_triggers()
    # Filled before the book_id index exists: building it once over the rows is faster than
    # updating it row by row.
    _fill_from_stored_books()
    op.create_index(op.f("ix_search_postings_book_id"), "search_postings", ["book_id"])


def downgrade() -> None:
    drop_book_triggers()
    op.drop_table("search_postings")  # its index goes with it
