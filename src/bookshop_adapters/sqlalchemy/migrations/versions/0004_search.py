"""Search: the full-text index of the books (PostgreSQL tsvector + GIN, SQLite FTS5).

Both hold what the core's analyzer produced in Python (stems; SQLite also the folded surface
words, for "did you mean"), so every backend matches the same lexemes;
``bookshop_adapters.sqlalchemy.search`` writes and queries them. The upgrade also indexes the
books already in the database (in batches, with the shipped analyzer: English Snowball), so an
upgraded shop finds them at once; a shop built with another stemmer runs ``bookshop
search-reindex`` (``Search.reindex``) afterwards, as after any analyzer change. Offline
(``--sql``) scripts only create the tables: reindex after them.

Revision ID: 0004
Revises: 0003
Create Date: 2024-06-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite: stems in title/author/description, folded surface words in the *_words columns, each
# a space-joined token list; rowid = the book's id. unicode61 keeps the analyzer's \w+ tokens
# whole once "_" is a token character (it is a separator by default); diacritics stay (the
# analyzer already folded them). detail=full (the default) keeps positions, for phrases. No
# prefix index: prefixes are ranges of the postings (0009).
_CREATE_FTS = (
    "CREATE VIRTUAL TABLE book_search_fts USING fts5("
    "title, author, description, title_words, author_words, description_words, "
    "tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
)
# Its vocabulary (term, column, documents, occurrences), for "did you mean".
_CREATE_VOCAB = "CREATE VIRTUAL TABLE book_search_vocab USING fts5vocab(book_search_fts, 'col')"


def _index_existing_books() -> None:
    """Index every book already stored, a batch at a time (by id, so memory stays bounded
    whatever the catalog's size), exactly as ``SqlSearchIndex.put`` would."""
    if context.is_offline_mode():
        return  # no rows to read in a rendered script
    from bookshop_adapters.sqlalchemy._postings import stored_documents
    from bookshop_adapters.sqlalchemy.search import put_statement
    from bookshop_adapters.stemming import SnowballStemmer
    from bookshop_core.search.analysis import Analyzer

    bind = op.get_bind()
    for documents in stored_documents(bind, Analyzer(SnowballStemmer())):
        bind.execute(*put_statement(bind.dialect.name, documents))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_CREATE_FTS)
        op.execute(_CREATE_VOCAB)
        _index_existing_books()
        return
    op.create_table(
        "book_search",
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        sa.PrimaryKeyConstraint("book_id", name=op.f("pk_book_search")),
        # The index row goes with its book, whatever deletes it.
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_book_search_book_id_books"),
            ondelete="CASCADE",
        ),
    )
    # Keep documents up to a page long inline and uncompressed (the default compresses or
    # moves out of line any row over ~2 kB, i.e. most books with a description): a phrase
    # query reads the document of every candidate, once to match and once per field for the
    # score, and decompressing or fetching it from TOAST each time was most of its cost.
    op.execute("ALTER TABLE book_search SET (toast_tuple_target = 8160)")
    # Filled before the GIN index exists: building the index once over the rows is faster
    # than updating it row by row.
    _index_existing_books()
    op.create_index(
        op.f("ix_book_search_document"), "book_search", ["document"], postgresql_using="gin"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE book_search_vocab")
        op.execute("DROP TABLE book_search_fts")
        return
    op.drop_table("book_search")  # its index goes with it
