"""Driver exceptions, translated into the domain's error tree at the adapter boundary.

Constraint violations are identified by constraint **name** (stable thanks to the naming
convention of ``tables.py``): asyncpg reports the name directly; SQLite reports
``UNIQUE constraint failed: books.isbn`` (columns, matched against the unique constraints of the
metadata), ``CHECK constraint failed: <name>`` and, for foreign keys, nothing at all (the
statement tells which table and which direction). :data:`CONSTRAINT_ERRORS` is the one table
that says what each constraint means; a violation of a constraint not in it is a bug and
propagates untranslated.

Everything else that is the store's fault rather than the caller's becomes
:class:`~bookshop_core.errors.Unavailable`:

- ``STORE_UNAVAILABLE``: cannot connect, connection lost, database file unopenable, disk full,
  database read-only (a write refused), a bound of
  :class:`~bookshop_adapters.sqlalchemy.timeouts.StoreTimeouts` exceeded (connecting, or a
  statement: PostgreSQL's ``statement_timeout``, or no answer at all from the server).
- ``STORE_BUSY``: contention that a retry may resolve: SQLite's busy timeout expired,
  PostgreSQL deadlock, serialization or lock-timeout failures, connection pool exhausted.
- ``STORE_SCHEMA_MISSING``: a table or column the code needs does not exist; the database
  was never migrated, or is behind the code (run ``bookshop migrate``).

Adding a context's constraints: add one entry per named constraint to
:data:`CONSTRAINT_ERRORS` and one test to ``tests/adapters/test_sqlalchemy_errors.py``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from attrs import frozen
from sqlalchemy import ForeignKeyConstraint, Index, UniqueConstraint
from sqlalchemy import exc as sa_exc

from bookshop_adapters.sqlalchemy.tables import Base
from bookshop_core.catalog.errors import (
    BookIsbnConflict,
    GenreConflict,
    GenreInUse,
    GenreNotFound,
    InsufficientStock,
)
from bookshop_core.commerce.errors import (
    CartItemDuplicate,
    OrderCheckoutInProgress,
    WishlistItemDuplicate,
)
from bookshop_core.errors import (
    DomainError,
    StoreBusy,
    StoreSchemaMissing,
    StoreUnavailable,
    Unavailable,
    ValidationError,
)
from bookshop_core.identity.errors import EmailConflict, OAuthAlreadyLinked
from bookshop_core.prebooking.errors import PrebookDuplicate
from bookshop_core.reviews.errors import DuplicateReview

__all__ = [
    "CONSTRAINT_ERRORS",
    "ConstraintMeaning",
    "schema_missing",
    "store_busy",
    "store_unavailable",
    "translate_error",
    "translating_errors",
]

ErrorFactory = Callable[[], DomainError]


@frozen
class ConstraintMeaning:
    """What violating one named constraint means to a caller.

    Args:
        violated: The error when a written row breaks the constraint (for a foreign key: the
            referenced row does not exist).
        still_referenced: Foreign keys only: the error when a referenced row is deleted while
            rows still point at it.
    """

    violated: ErrorFactory
    still_referenced: ErrorFactory | None = None


def _on(error: type[DomainError], field: str | None = None) -> ErrorFactory:
    return lambda: error(field=field)


def _invalid(field: str, message: str) -> ErrorFactory:
    return lambda: ValidationError.single(field, message)


#: The one mapping from constraint names to domain errors.
CONSTRAINT_ERRORS: Final[dict[str, ConstraintMeaning]] = {
    "uq_books_isbn": ConstraintMeaning(_on(BookIsbnConflict)),
    "ck_books_price_positive": ConstraintMeaning(_invalid("price", "must be greater than 0")),
    "ck_books_stock_nonnegative": ConstraintMeaning(_on(InsufficientStock)),
    "fk_books_genre_id_genres": ConstraintMeaning(_on(GenreNotFound), _on(GenreInUse)),
    "uq_genres_name_key": ConstraintMeaning(_on(GenreConflict)),
    "fk_genres_parent_id_genres": ConstraintMeaning(
        _on(GenreNotFound, "parent_id"), _on(GenreInUse)
    ),
    "uq_users_email": ConstraintMeaning(_on(EmailConflict)),
    "uq_external_identities_provider_subject": ConstraintMeaning(_on(OAuthAlreadyLinked)),
    "uq_prebookings_waiting": ConstraintMeaning(_on(PrebookDuplicate)),
    # A write past the repository: its insert does nothing on this index's conflict and then
    # names the existing review in its error.
    "uq_reviews_live": ConstraintMeaning(_on(DuplicateReview)),
    "uq_cart_items_user_id_book_id": ConstraintMeaning(_on(CartItemDuplicate)),
    "uq_wishlist_items_user_id_book_id": ConstraintMeaning(_on(WishlistItemDuplicate)),
    # Two checkouts with one key got past the cart's locks (they lock different lines): the
    # one whose order is written first is paying; the other is told so.
    "uq_orders_user_id_idempotency_key": ConstraintMeaning(_on(OrderCheckoutInProgress)),
}


def store_unavailable() -> Unavailable:
    """The store cannot be reached."""
    return StoreUnavailable()


def store_busy() -> Unavailable:
    """The store is too contended right now; retrying may succeed."""
    return StoreBusy()


def schema_missing() -> Unavailable:
    """The database lacks a table or column: it was never migrated, or is behind the code."""
    return StoreSchemaMissing()


@contextmanager
def translating_errors() -> Iterator[None]:
    """Run a block, re-raising driver exceptions as domain errors (``raise ... from exc``).

    Exceptions that mean nothing to the domain (programming errors) propagate unchanged.
    """
    try:
        yield
    except DomainError:
        raise
    except Exception as exc:
        error = translate_error(exc)
        if error is None:
            raise
        raise error from exc


def translate_error(exc: BaseException) -> DomainError | None:
    """The domain error that ``exc`` means, or ``None`` when it is not the store's to explain."""
    if isinstance(exc, sa_exc.TimeoutError):  # the connection pool is exhausted
        return store_busy()
    if isinstance(exc, sa_exc.DBAPIError):
        driver = _driver_exception(exc.orig)
        sqlstate = getattr(driver, "sqlstate", None)
        if isinstance(sqlstate, str):
            error = _from_postgres(sqlstate, driver, exc.statement)
        elif isinstance(driver, sqlite3.Error):
            error = _from_sqlite(driver, exc.statement)
        else:
            error = None
        if error is None and exc.connection_invalidated:
            return store_unavailable()
        return error
    if isinstance(exc, OSError):
        # Includes TimeoutError: connecting failed at the socket level, or the server did not
        # answer a statement within the client's bound (asyncpg's command_timeout).
        return store_unavailable()
    return None


def _driver_exception(orig: BaseException | None) -> BaseException | None:
    """The exception raised by the driver itself, under SQLAlchemy's emulated DBAPI errors."""
    inner = getattr(orig, "orig", None)
    if isinstance(inner, BaseException):
        return inner
    if orig is not None and orig.__cause__ is not None:
        return orig.__cause__
    return orig


# -- PostgreSQL (asyncpg) ---------------------------------------------------------------------

_PG_BUSY: Final = frozenset({"40001", "40P01", "55P03"})
_PG_SCHEMA_MISSING: Final = frozenset({"42P01", "42703"})  # undefined table, undefined column
#: Connection exceptions, invalid authorization, unknown database, insufficient resources,
#: operator intervention: query cancelled (57014, ``statement_timeout`` exceeded), shutdown,
#: cannot connect now.
_PG_UNAVAILABLE_CLASSES: Final = ("08", "28", "3D", "53", "57")


def _from_postgres(
    sqlstate: str, driver: BaseException | None, statement: str | None
) -> DomainError | None:
    if sqlstate.startswith("23"):
        name = getattr(driver, "constraint_name", None)
        if not isinstance(name, str):
            return None
        meaning = CONSTRAINT_ERRORS.get(name)
        if meaning is None:
            return None
        if sqlstate == "23503":
            return _foreign_key_error(name, meaning, statement)
        return meaning.violated()
    if sqlstate in _PG_BUSY:
        return store_busy()
    if sqlstate in _PG_SCHEMA_MISSING:
        return schema_missing()
    if sqlstate.startswith(_PG_UNAVAILABLE_CLASSES):
        return store_unavailable()
    return None


# -- SQLite -----------------------------------------------------------------------------------

_SQLITE_BUSY: Final = ("SQLITE_BUSY", "SQLITE_LOCKED")
#: Unopenable, I/O error, disk full, not a database, read-only (a file or mount the process
#: may not write, a ``mode=ro`` URI).
_SQLITE_UNAVAILABLE: Final = (
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_NOTADB",
    "SQLITE_READONLY",
)
_UNIQUE_PREFIX: Final = "UNIQUE constraint failed: "
_CHECK_PREFIX: Final = "CHECK constraint failed: "
_INDEX_NAME: Final = re.compile(r"index '([^']+)'")


def _from_sqlite(error: sqlite3.Error, statement: str | None) -> DomainError | None:
    code = getattr(error, "sqlite_errorname", "") or ""
    message = str(error)
    if isinstance(error, sqlite3.IntegrityError):
        return _sqlite_constraint_error(message, statement)
    if code.startswith(_SQLITE_BUSY) or "database is locked" in message:
        return store_busy()
    if message.startswith(("no such table: ", "no such column: ")):
        return schema_missing()
    if code.startswith(_SQLITE_UNAVAILABLE) or "unable to open database" in message:
        return store_unavailable()
    if message in ("no active connection", "Connection closed"):
        return store_unavailable()
    return None


def _sqlite_constraint_error(message: str, statement: str | None) -> DomainError | None:
    if message.startswith(_UNIQUE_PREFIX):
        detail = message.removeprefix(_UNIQUE_PREFIX).strip()
        index = _INDEX_NAME.fullmatch(detail)
        name = index.group(1) if index else _sqlite_unique_names().get(detail)
    elif message.startswith(_CHECK_PREFIX):
        name = message.removeprefix(_CHECK_PREFIX).strip()
    elif message.startswith("FOREIGN KEY constraint failed"):
        return _sqlite_foreign_key_error(statement)
    else:
        return None
    meaning = CONSTRAINT_ERRORS.get(name) if name else None
    return meaning.violated() if meaning else None


def _sqlite_unique_names() -> dict[str, str]:
    """``"table.col1, table.col2"`` (how SQLite names a unique violation) -> constraint name."""
    names: dict[str, str] = {}
    for table in Base.metadata.tables.values():
        uniques: list[UniqueConstraint | Index] = [
            c for c in table.constraints if isinstance(c, UniqueConstraint)
        ]
        uniques += [index for index in table.indexes if index.unique]
        for item in uniques:
            columns = list(item.columns)
            if isinstance(item.name, str) and columns:
                key = ", ".join(f"{table.name}.{column.name}" for column in columns)
                names[key] = item.name
    return names


_STATEMENT: Final = re.compile(
    r"""^\s*(?:WITH\b.*?\)\s*)?(INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?""",
    re.IGNORECASE | re.DOTALL,
)


def _statement_target(statement: str | None) -> tuple[str, str] | None:
    """``(verb, table)`` of a DML statement: verb is ``insert``, ``update`` or ``delete``."""
    match = _STATEMENT.match(statement or "")
    if match is None:
        return None
    return match.group(1).split()[0].lower(), match.group(2)


def _foreign_keys() -> dict[str, ForeignKeyConstraint]:
    return {
        fk.name: fk
        for table in Base.metadata.tables.values()
        for fk in table.foreign_key_constraints
        if isinstance(fk.name, str)
    }


def _foreign_key_error(
    name: str, meaning: ConstraintMeaning, statement: str | None
) -> DomainError | None:
    """A named foreign key failed: deleting a referenced row, or writing a dangling one?"""
    target = _statement_target(statement)
    fk = _foreign_keys().get(name)
    if target is not None and fk is not None:
        verb, table = target
        deleting_parent = verb == "delete" or (verb == "update" and table != fk.table.name)
        if deleting_parent:
            return meaning.still_referenced() if meaning.still_referenced else None
    return meaning.violated()


def _sqlite_foreign_key_error(statement: str | None) -> DomainError | None:
    """SQLite names no constraint: find the foreign keys the statement could have broken and
    translate only when they all mean the same thing."""
    target = _statement_target(statement)
    if target is None:
        return None
    verb, table = target
    errors: list[DomainError] = []
    for name, fk in _foreign_keys().items():
        meaning = CONSTRAINT_ERRORS.get(name)
        if verb == "delete" and fk.referred_table.name == table:
            factory = meaning.still_referenced if meaning else None
        elif verb != "delete" and fk.table.name == table:
            factory = meaning.violated if meaning else None
        else:
            continue
        if factory is None:
            return None
        errors.append(factory())
    kinds = {(type(e), e.code, e.field) for e in errors}
    return errors[0] if len(kinds) == 1 else None
