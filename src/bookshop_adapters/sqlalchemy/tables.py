"""The SQL tables of every context, as SQLAlchemy 2 declarative row classes, in one place.

These classes describe the schema for queries; the schema itself is created and changed only by
the Alembic migrations in ``migrations/versions`` (a test checks that the two agree). Rows never
leave the adapter: repositories map them to domain objects explicitly.

Constraint names are stable, derived from :data:`NAMING_CONVENTION` (``uq_books_isbn``,
``ck_books_stock_nonnegative``, ``fk_books_genre_id_genres``...), because driver errors are
translated into domain errors by constraint name (see ``errors.py``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Constraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from bookshop_adapters.sqlalchemy.types import UTCDateTime

__all__ = [
    "NAMING_CONVENTION",
    "SEARCH_METADATA",
    "Base",
    "BookRow",
    "CartItemRow",
    "ExternalIdentityRow",
    "GenreRow",
    "LoginThrottleRow",
    "OAuthStateRow",
    "OrderItemRow",
    "OrderRow",
    "OutboxMessageRow",
    "PreBookingRow",
    "RefreshFamilyRow",
    "RefreshTokenRow",
    "ReviewRow",
    "UserRow",
    "WishlistItemRow",
    "book_search",
    "code_point_string",
    "id_type",
    "is_described_by_metadata",
    "search_postings",
    "table_of",
]


def _short_check_name(constraint: Constraint, table: Table) -> str:
    """The part of a CHECK constraint's name after ``ck_<table>_``, so that naming one
    ``"price_positive"`` or ``"ck_books_price_positive"`` gives the same final name (migrations
    spell names out in full; the convention must not prefix them twice)."""
    name = str(constraint.name)
    return name.removeprefix(f"ck_{table.name}_")


NAMING_CONVENTION: Final[dict[str, Any]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    # SQLAlchemy applies a convention to an explicitly named constraint only when the template
    # mentions "constraint_name", hence the token's name.
    "ck": "ck_%(table_name)s_%(short_constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "short_constraint_name": _short_check_name,
}


def id_type() -> TypeEngine[int]:
    """BIGINT ids; plain INTEGER on SQLite so that the primary key aliases the rowid."""
    return BigInteger().with_variant(Integer(), "sqlite")


def code_point_string(length: int) -> TypeEngine[str]:
    """A VARCHAR that sorts by code point on every backend (``COLLATE "C"`` on PostgreSQL).

    SQLite's default BINARY collation already compares UTF-8 bytes, i.e. code points, which
    is also how Python compares ``str``.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


#: Case-folding can lengthen a string (``"ß".casefold() == "ss"``, up to 3 code points per
#: character), so the ``*_key`` columns are three times as wide as the text they fold.
KEY_WIDENING: Final = 3


class Base(DeclarativeBase):
    """The declarative base of every bookshop table (all contexts share one MetaData)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(row_class: type[Base]) -> Table:
    """The ``Table`` of a row class, for Core statements: a statement built from the table's
    columns skips the ORM compile plugin that the mapped attributes (``BookRow.id``) bring in."""
    table = row_class.__table__
    if not isinstance(table, Table):  # pragma: no cover - every row class maps one table
        raise TypeError(f"{row_class.__name__} does not map a single table")
    return table


class GenreRow(Base):
    """A genre; ``name_key`` is the case-folded name, unique."""

    __tablename__ = "genres"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(code_point_string(100 * KEY_WIDENING), unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        id_type(), ForeignKey("genres.id", ondelete="RESTRICT"), index=True
    )


class BookRow(Base):
    """A book; money in integer cents, ``*_key`` columns hold case-folded text for sorting
    and searching, ``review_count``/``rating_sum`` aggregate live reviews."""

    __tablename__ = "books"
    __table_args__ = (
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint("stock_quantity >= 0", name="stock_nonnegative"),
        CheckConstraint("review_count >= 0", name="review_count_nonnegative"),
        CheckConstraint("rating_sum >= 0", name="rating_sum_nonnegative"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    title_key: Mapped[str] = mapped_column(code_point_string(500 * KEY_WIDENING), index=True)
    author: Mapped[str] = mapped_column(String(255))
    author_key: Mapped[str] = mapped_column(String(255 * KEY_WIDENING), index=True)
    price_cents: Mapped[int] = mapped_column(BigInteger(), index=True)
    isbn: Mapped[str | None] = mapped_column(String(13), unique=True)
    genre_id: Mapped[int | None] = mapped_column(
        id_type(), ForeignKey("genres.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text())
    cover_image_url: Mapped[str | None] = mapped_column(String(2048))
    publish_date: Mapped[date | None] = mapped_column(Date(), index=True)
    stock_quantity: Mapped[int] = mapped_column(Integer(), server_default=text("0"))
    review_count: Mapped[int] = mapped_column(Integer(), server_default=text("0"))
    rating_sum: Mapped[int] = mapped_column(Integer(), server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- identity -----------------------------------------------------------------------------

#: Emails are at most 254 characters (RFC 5321 path limit).
EMAIL_LENGTH: Final = 254
#: Room for any argon2 PHC string.
HASH_LENGTH: Final = 512
SHA256_HEX_LENGTH: Final = 64


class UserRow(Base):
    """An account. ``email`` is stored normalised (lower case) under a unique index, which is
    what makes registration race-safe and case-insensitive."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'admin')", name="role_valid"),
        CheckConstraint("token_version >= 0", name="token_version_nonnegative"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    role: Mapped[str] = mapped_column(String(16), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean())
    full_name: Mapped[str | None] = mapped_column(String(255))
    #: The public name (reviews); NULL shows as "Reader #<id>".
    display_name: Mapped[str | None] = mapped_column(String(100))
    token_version: Mapped[int] = mapped_column(Integer())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RefreshFamilyRow(Base):
    """The refresh tokens of one login; revoked as a whole."""

    __tablename__ = "refresh_families"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        id_type(), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(16))


class RefreshTokenRow(Base):
    """One refresh token, stored only as the SHA-256 of its secret."""

    __tablename__ = "refresh_tokens"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH), unique=True)
    family_id: Mapped[int] = mapped_column(
        id_type(), ForeignKey("refresh_families.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        id_type(), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginThrottleRow(Base):
    """Consecutive failed sign-ins for one email key (a SHA-256, not the address)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer())
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer())


class ExternalIdentityRow(Base):
    """A link between an account and an OAuth provider identity."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        id_type(), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- OAuth --------------------------------------------------------------------------------

#: ``state``, ``code_verifier`` and ``nonce`` are URL-safe random strings of 43 to 128 chars.
TOKEN_LENGTH: Final = 128


class OAuthStateRow(Base):
    """A started OAuth sign-in, keyed by its single-use ``state``."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(TOKEN_LENGTH), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    code_verifier: Mapped[str] = mapped_column(String(TOKEN_LENGTH))
    nonce: Mapped[str | None] = mapped_column(String(TOKEN_LENGTH))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


# -- notifications --------------------------------------------------------------------------

#: :func:`bookshop_core.notifications.outbox.new_message_id` is 32 hex digits; room for an
#: embedding app's own ids.
MESSAGE_ID_LENGTH: Final = 64


class OutboxMessageRow(Base):
    """A queued email and its delivery state (the transactional outbox).

    ``recipients`` (a list) and ``variables`` (an object) are JSON. Claims look for due
    pending messages and expired sending ones: each has an index led by ``status``.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'dead')", name="status_valid"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "status", "claimed_until"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_LENGTH), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[list[str]] = mapped_column(JSON())
    variables: Mapped[dict[str, Any]] = mapped_column(JSON())
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# -- pre-booking --------------------------------------------------------------------------

#: At most one waiting pre-booking per user and book: a partial unique index (both dialects).
_WAITING: Final = text("status = 'waiting'")


class PreBookingRow(Base):
    """A user's pre-booking of an out-of-stock book.

    ``uq_prebookings_waiting`` keeps one waiting pre-booking per user and book (race-safe);
    the restock broadcast finds a book's waiting ones through ``(book_id, status)``. Deleting
    a book or a user deletes their pre-bookings.
    """

    __tablename__ = "prebookings"
    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'notified', 'cancelled')", name="status_valid"),
        Index(
            "uq_prebookings_waiting",
            "user_id",
            "book_id",
            unique=True,
            sqlite_where=_WAITING,
            postgresql_where=_WAITING,
        ),
        Index(None, "book_id", "status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        id_type(), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    book_id: Mapped[int] = mapped_column(id_type(), ForeignKey("books.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# -- commerce -----------------------------------------------------------------------------

#: The order statuses, as the ``status_valid`` check spells them.
_ORDER_STATUSES: Final = (
    "status IN ('pending', 'confirmed', 'payment_failed', 'shipped', 'delivered', 'cancelled')"
)


class OrderRow(Base):
    """An order (or a recorded failed attempt). ``uq_orders_user_id_idempotency_key`` makes a
    retried checkout find its order (NULL keys never collide); listings go newest first per
    user or for everyone, optionally by status (the reports' sales filter)."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_ORDER_STATUSES, name="status_valid"),
        CheckConstraint("total_cents >= 0", name="total_nonnegative"),
        UniqueConstraint("user_id", "idempotency_key"),
        Index(None, "user_id", "created_at"),
        Index(None, "status", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(id_type(), ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    total_cents: Mapped[int] = mapped_column(BigInteger())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    cart_fingerprint: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    payment_reference: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(String(500))


class OrderItemRow(Base):
    """One line of an order as bought: title, author and unit price at purchase. Deleting
    the book keeps the line (``book_id`` becomes NULL)."""

    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_cents > 0", name="unit_price_positive"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(
        id_type(), ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    book_id: Mapped[int | None] = mapped_column(
        id_type(), ForeignKey("books.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    author: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer())
    unit_price_cents: Mapped[int] = mapped_column(BigInteger())


class CartItemRow(Base):
    """A cart line: one per user and book (``uq_cart_items_user_id_book_id``, race-safe).
    ``held_by_order_id`` is the pending order paying for it during checkout."""

    __tablename__ = "cart_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("user_id", "book_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(id_type(), ForeignKey("users.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(
        id_type(), ForeignKey("books.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(Integer())
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    held_by_order_id: Mapped[int | None] = mapped_column(
        id_type(), ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )


class WishlistItemRow(Base):
    """A book on a user's wishlist: one entry per user and book."""

    __tablename__ = "wishlist_items"
    __table_args__ = (UniqueConstraint("user_id", "book_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(id_type(), ForeignKey("users.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(
        id_type(), ForeignKey("books.id", ondelete="CASCADE"), index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- reviews ------------------------------------------------------------------------------

#: At most one live (not deleted) review per user and book: a partial unique index.
_LIVE: Final = text("deleted_at IS NULL")


class ReviewRow(Base):
    """A user's review of a book, soft-deleted (``deleted_at``).

    ``uq_reviews_live`` keeps one live review per user and book (race-safe) and lets a deleted
    one be followed by a new one. The book's ``review_count``/``rating_sum`` count the live
    ones, kept by triggers on this table (migration 0008; not in this metadata). Deleting a
    book or a user deletes their reviews.
    """

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        Index(
            "uq_reviews_live",
            "user_id",
            "book_id",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index(None, "book_id", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(id_type(), Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        id_type(), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    book_id: Mapped[int] = mapped_column(id_type(), ForeignKey("books.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer(), index=True)
    text: Mapped[str | None] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# -- search -------------------------------------------------------------------------------

#: The search index's tables differ by dialect (PostgreSQL: ``book_search``, a tsvector under a
#: GIN index; SQLite: the FTS5 virtual table ``book_search_fts``, its shadow tables and its
#: ``fts5vocab`` view ``book_search_vocab``, created by raw DDL), so they live outside
#: ``Base.metadata``, which must match the migrated schema on every dialect. Migration 0004
#: creates them; tests/adapters/test_sqlalchemy_search.py checks them. (``search_postings``,
#: the same table on both dialects, is in ``Base.metadata``.)
SEARCH_METADATA: Final = MetaData(naming_convention=NAMING_CONVENTION)

#: PostgreSQL only: one analysed document per book (see ``sqlalchemy/search.py``).
book_search: Final = Table(
    "book_search",
    SEARCH_METADATA,
    Column("book_id", BigInteger(), primary_key=True),
    Column("document", TSVECTOR(), nullable=False),
)

#: The search postings: one row per distinct term of a book (a lexeme, or a folded surface
#: word), with the bits of the fields holding it as a lexeme (``fields``) and as a surface word
#: (``word_fields``), by :data:`~bookshop_core.search.entities.FIELD_WEIGHTS`, for a surface word
#: the fields of the book's words sharing a prefix with it (``prefix_fields``, see
#: ``_postings.prefix_fields``: a prefix search reads one row per book), and a copy of the
#: book's filter attributes, so that counting, scoring, filtering and faceting a term's matches
#: read only this narrow primary key (PostgreSQL: ``INCLUDE`` makes it covering; SQLite: the
#: table is ``WITHOUT ROWID``, its primary key B-tree). ``term`` sorts by code point, so that a
#: prefix is a range. Unlike the tables above it is the same on both dialects, so it is in
#: ``Base.metadata``. ``SqlSearchIndex.put`` writes the rows (``_postings.py``); triggers on
#: ``books`` keep the attributes in step and delete a deleted book's rows (migration 0009;
#: triggers are not in this metadata). ``book_id`` has no foreign key on purpose: its check,
#: one per row (about 66 per book), cost a third of writing the rows on PostgreSQL, and it
#: guards nothing, as the insert joins ``books`` (it cannot write rows for a missing book) and,
#: on PostgreSQL, first locks the batch's books against deletion (``FOR SHARE``).
search_postings: Final = Table(
    "search_postings",
    Base.metadata,
    Column("term", Text().with_variant(Text(collation="C"), "postgresql"), nullable=False),
    Column("book_id", BigInteger(), nullable=False, index=True),
    Column("fields", SmallInteger(), nullable=False),
    Column("word_fields", SmallInteger(), nullable=False),
    Column("prefix_fields", BigInteger(), nullable=False),
    Column("genre_id", BigInteger(), nullable=True),
    Column("price_cents", BigInteger(), nullable=False),
    Column("in_stock", Boolean(), nullable=False),
    PrimaryKeyConstraint(
        "term",
        "book_id",
        postgresql_include=[
            "fields",
            "word_fields",
            "prefix_fields",
            "genre_id",
            "price_cents",
            "in_stock",
        ],
    ),
    sqlite_with_rowid=False,
)

#: Every table of the search index starts with this (FTS5 names its shadow tables after it).
SEARCH_TABLE_PREFIX: Final = "book_search"


def is_described_by_metadata(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name`` hook: False for the search index's dialect-specific tables
    (see :data:`SEARCH_METADATA`), which autogenerate must neither add nor drop."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE_PREFIX))
