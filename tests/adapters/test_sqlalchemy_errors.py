"""Driver errors become domain errors at the SQL adapter's boundary: one test per mapping.

Runs on SQLite (a temporary file) and on PostgreSQL when one is available (the shared
``postgres_url`` fixture, else ``$BOOKSHOP_TEST_POSTGRES_URL``), one fresh database per test.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import ForeignKeyConstraint, text
from sqlalchemy.exc import IntegrityError

from bookshop_adapters.sqlalchemy import (
    CONSTRAINT_ERRORS,
    Base,
    SqlBackend,
    StoreTimeouts,
    create_engine_for_url,
    migrate,
    open_sql_backend,
    translate_error,
)
from bookshop_adapters.sqlalchemy.errors import translating_errors
from bookshop_core.catalog.entities import BookChanges, NewBook
from bookshop_core.catalog.errors import (
    BookIsbnConflict,
    GenreConflict,
    GenreInUse,
    GenreNotFound,
    InsufficientStock,
)
from bookshop_core.commerce.entities import NewOrder, NewOrderLine
from bookshop_core.commerce.errors import (
    CartItemDuplicate,
    OrderCheckoutInProgress,
    WishlistItemDuplicate,
)
from bookshop_core.errors import (
    Conflict,
    DomainError,
    StoreBusy,
    StoreSchemaMissing,
    StoreUnavailable,
    Unavailable,
    ValidationError,
)
from bookshop_core.identity.entities import NewExternalIdentity, NewUser
from bookshop_core.identity.errors import EmailConflict, OAuthAlreadyLinked
from bookshop_core.kernel.principal import Role
from bookshop_core.prebooking.errors import PrebookDuplicate
from bookshop_core.reviews.entities import NewReview
from bookshop_core.reviews.errors import DuplicateReview


def new_book(
    *, isbn: str | None = None, genre_id: int | None = None, price: str = "5.00"
) -> NewBook:
    return NewBook(
        title="T",
        author="A",
        price=Decimal(price),
        isbn=isbn,
        genre_id=genre_id,
        description=None,
        cover_image_url=None,
        publish_date=None,
        stock_quantity=3,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


def assert_error(caught: pytest.ExceptionInfo[DomainError], kind: type, code: str, field: Any):
    error = caught.value
    assert type(error) is kind
    assert (error.code, error.field) == (code, field)
    assert error.__cause__ is not None  # raise ... from the driver's exception


def test_every_mapped_constraint_exists() -> None:
    """The mapping table names real constraints of the schema (no typos, no leftovers)."""
    names = {
        constraint.name
        for table in Base.metadata.tables.values()
        for constraint in (*table.constraints, *table.indexes)
    }
    assert set(CONSTRAINT_ERRORS) <= names
    for name, meaning in CONSTRAINT_ERRORS.items():
        is_fk = any(
            isinstance(c, ForeignKeyConstraint) and c.name == name
            for table in Base.metadata.tables.values()
            for c in table.constraints
        )
        assert (meaning.still_referenced is not None) == is_fk, name


# -- constraint violations, one test per entry of CONSTRAINT_ERRORS ----------------------------


async def test_uq_books_isbn_is_book_isbn_conflict(backend: SqlBackend) -> None:
    """A taken ISBN, on insert and on update, is BOOK_ISBN_CONFLICT on field isbn."""
    async with backend.unit_of_work() as uow:
        await uow.books.add(new_book(isbn="9780306406157"))
        other = await uow.books.add(new_book(isbn=None))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.books.add(new_book(isbn="9780306406157"))
    assert_error(caught, BookIsbnConflict, "BOOK_ISBN_CONFLICT", "isbn")
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.books.update(other.id, BookChanges(isbn="9780306406157"), other.updated_at)
    assert_error(caught, BookIsbnConflict, "BOOK_ISBN_CONFLICT", "isbn")


async def test_uq_genres_name_key_is_genre_conflict(backend: SqlBackend) -> None:
    """Genre names are unique case-insensitively: GENRE_CONFLICT on field name."""
    async with backend.unit_of_work() as uow:
        await uow.genres.add("Straße", None)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.genres.add("STRASSE", None)
    assert_error(caught, GenreConflict, "GENRE_CONFLICT", "name")


async def test_ck_books_stock_nonnegative_is_insufficient_stock(backend: SqlBackend) -> None:
    """A negative stock written anyway is BOOK_INSUFFICIENT_STOCK."""
    async with backend.unit_of_work() as uow:
        book = await uow.books.add(new_book())
        with pytest.raises(Conflict) as caught:
            await uow.books.set_stock(book.id, -1)
    assert_error(caught, InsufficientStock, "BOOK_INSUFFICIENT_STOCK", "stock_quantity")


async def test_ck_books_price_positive_is_validation_error(backend: SqlBackend) -> None:
    """A zero price that slipped past validation is a ValidationError on field price."""
    async with backend.unit_of_work() as uow:
        with pytest.raises(ValidationError) as caught:
            await uow.books.add(new_book(price="0.00"))
    assert_error(caught, ValidationError, "VALIDATION_ERROR", "price")


async def test_fk_books_genre_id_genres_on_write_is_genre_not_found(backend: SqlBackend) -> None:
    """A book pointing at a missing genre is GENRE_NOT_FOUND (a NotFound, as the core raises
    it) on field genre_id."""
    async with backend.unit_of_work() as uow:
        with pytest.raises(GenreNotFound) as caught:
            await uow.books.add(new_book(genre_id=424242))
    assert_error(caught, GenreNotFound, "GENRE_NOT_FOUND", "genre_id")


async def test_fk_books_genre_id_genres_on_delete_is_genre_in_use(backend: SqlBackend) -> None:
    """Deleting a genre that books use is GENRE_IN_USE."""
    async with backend.unit_of_work() as uow:
        genre = await uow.genres.add("Used", None)
        await uow.books.add(new_book(genre_id=genre.id))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.genres.delete(genre.id)
    assert_error(caught, GenreInUse, "GENRE_IN_USE", "genre_id")


async def test_fk_genres_parent_id_genres_on_write_is_genre_not_found(
    backend: SqlBackend,
) -> None:
    """A genre under a missing parent is GENRE_NOT_FOUND on field parent_id."""
    async with backend.unit_of_work() as uow:
        with pytest.raises(GenreNotFound) as caught:
            await uow.genres.add("Orphan", 424242)
    assert_error(caught, GenreNotFound, "GENRE_NOT_FOUND", "parent_id")


async def test_fk_genres_parent_id_genres_on_delete_is_genre_in_use(backend: SqlBackend) -> None:
    """Deleting a genre that has sub-genres is GENRE_IN_USE."""
    async with backend.unit_of_work() as uow:
        parent = await uow.genres.add("Parent", None)
        await uow.genres.add("Child", parent.id)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.genres.delete(parent.id)
    assert_error(caught, GenreInUse, "GENRE_IN_USE", "genre_id")


def new_user(email: str) -> NewUser:
    return NewUser(email, None, Role.USER, created_at=datetime(2024, 1, 1, tzinfo=UTC))


async def test_uq_users_email_is_email_conflict(backend: SqlBackend) -> None:
    """A taken email is AUTH_EMAIL_CONFLICT on field email."""
    async with backend.unit_of_work() as uow:
        await uow.users.add(new_user("taken@example.com"))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.users.add(new_user("taken@example.com"))
    assert_error(caught, EmailConflict, "AUTH_EMAIL_CONFLICT", "email")


async def test_uq_external_identities_provider_subject_is_oauth_already_linked(
    backend: SqlBackend,
) -> None:
    """A provider identity linked twice is AUTH_OAUTH_ALREADY_LINKED."""
    when = datetime(2024, 1, 1, tzinfo=UTC)
    async with backend.unit_of_work() as uow:
        first = await uow.users.add(new_user("first@example.com"))
        second = await uow.users.add(new_user("second@example.com"))
        await uow.external_identities.add(NewExternalIdentity(first.id, "github", "1", None, when))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.external_identities.add(
                NewExternalIdentity(second.id, "github", "1", None, when)
            )
    assert_error(caught, OAuthAlreadyLinked, "AUTH_OAUTH_ALREADY_LINKED", None)


async def test_uq_prebookings_waiting_is_prebook_duplicate(backend: SqlBackend) -> None:
    """A second waiting pre-booking of a book by one user is PREBOOK_DUPLICATE on field
    book_id; a notified one does not count (the index is partial)."""
    when = datetime(2024, 1, 1, tzinfo=UTC)
    async with backend.unit_of_work() as uow:
        user = await uow.users.add(new_user("reader@example.com"))
        book = await uow.books.add(new_book())
        await uow.books.set_stock(book.id, 0)  # pre-booking needs a book out of stock
        assert await uow.prebookings.add_waiting(user.id, book.id, created_at=when) is not None
        await uow.prebookings.notify_waiting(book.id, now=when)
        assert await uow.prebookings.add_waiting(user.id, book.id, created_at=when) is not None
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.prebookings.add_waiting(user.id, book.id, created_at=when)
    assert_error(caught, PrebookDuplicate, "PREBOOK_DUPLICATE", "book_id")


async def test_uq_reviews_live_is_duplicate_review(backend: SqlBackend) -> None:
    """A second live review of a book by one user, written past the repository's own check,
    is DUPLICATE_REVIEW; a deleted one does not count (the index is partial)."""
    from bookshop_adapters.sqlalchemy.tables import ReviewRow, table_of

    when = datetime(2024, 1, 1, tzinfo=UTC)
    async with backend.unit_of_work() as uow:
        user = await uow.users.add(new_user("reader@example.com"))
        book = await uow.books.add(new_book())
        review = NewReview(user_id=user.id, book_id=book.id, rating=4, text=None, created_at=when)
        first = await uow.reviews.add(review)
        assert first is not None
        assert await uow.reviews.delete(first.id, now=when)
        assert await uow.reviews.add(review) is not None
        await uow.commit()
    row = {"user_id": user.id, "book_id": book.id, "rating": 3, "created_at": when}
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught, translating_errors():
            await uow.connection.execute(
                table_of(ReviewRow).insert().values(**row, updated_at=when)
            )
    assert_error(caught, DuplicateReview, "DUPLICATE_REVIEW", None)


async def test_uq_cart_items_user_id_book_id_is_cart_item_duplicate(backend: SqlBackend) -> None:
    """A second cart line of one book for one user is CART_ITEM_DUPLICATE on field book_id."""
    when = datetime(2024, 1, 1, tzinfo=UTC)
    async with backend.unit_of_work() as uow:
        user = await uow.users.add(new_user("buyer@example.com"))
        book = await uow.books.add(new_book())
        await uow.carts.add(user.id, book.id, 1, added_at=when)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.carts.add(user.id, book.id, 2, added_at=when)
    assert_error(caught, CartItemDuplicate, "CART_ITEM_DUPLICATE", "book_id")


async def test_uq_wishlist_items_user_id_book_id_is_wishlist_item_duplicate(
    backend: SqlBackend,
) -> None:
    """A book wished twice by one user is WISHLIST_ITEM_DUPLICATE on field book_id."""
    when = datetime(2024, 1, 1, tzinfo=UTC)
    async with backend.unit_of_work() as uow:
        user = await uow.users.add(new_user("wisher@example.com"))
        book = await uow.books.add(new_book())
        await uow.wishlist.add(user.id, book.id, added_at=when)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.wishlist.add(user.id, book.id, added_at=when)
    assert_error(caught, WishlistItemDuplicate, "WISHLIST_ITEM_DUPLICATE", "book_id")


async def test_uq_orders_user_id_idempotency_key_is_checkout_in_progress(
    backend: SqlBackend,
) -> None:
    """A second order written with a user's idempotency key (a concurrent checkout that got
    past the cart's locks) is ORDER_CHECKOUT_IN_PROGRESS; another user's key does not count."""
    when = datetime(2024, 1, 1, tzinfo=UTC)

    def order(user_id: int, book_id: int) -> NewOrder:
        line = NewOrderLine(book_id, "T", "A", 1, Decimal("5.00"))
        return NewOrder(user_id, [line], when, idempotency_key="k", cart_fingerprint="f")

    async with backend.unit_of_work() as uow:
        user = await uow.users.add(new_user("buyer@example.com"))
        other = await uow.users.add(new_user("other@example.com"))
        book = await uow.books.add(new_book())
        await uow.orders.add_pending(order(user.id, book.id))
        await uow.orders.add_pending(order(other.id, book.id))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.orders.add_pending(order(user.id, book.id))
    assert_error(caught, OrderCheckoutInProgress, "ORDER_CHECKOUT_IN_PROGRESS", None)


async def test_unmapped_constraint_violation_is_not_translated(backend: SqlBackend) -> None:
    """A constraint missing from the mapping is a bug: it stays a driver error."""
    async with backend.unit_of_work() as uow:
        await uow.books.add(new_book())
        with pytest.raises(IntegrityError) as caught:
            await uow.connection.execute(text("UPDATE books SET rating_sum = -1"))
    assert translate_error(caught.value) is None


# -- the store itself -------------------------------------------------------------------------


def _unreachable_url(url: str, tmp_path: Any) -> str:
    if url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    return "postgresql+asyncpg://nobody@127.0.0.1:1/none"


async def test_unreachable_store_is_store_unavailable(url: str, tmp_path: Any) -> None:
    """Failing to connect is STORE_UNAVAILABLE, raised when the unit of work opens."""
    backend = SqlBackend(create_engine_for_url(_unreachable_url(url, tmp_path)))
    try:
        with pytest.raises(Unavailable) as caught:
            async with backend.unit_of_work():
                pass
    finally:
        await backend.aclose()
    # aiosqlite stops the worker thread of a failed connection asynchronously; let it finish
    # before this test's event loop closes (else the thread reports "Event loop is closed").
    await asyncio.sleep(0.1)
    assert_error(caught, StoreUnavailable, "STORE_UNAVAILABLE", None)


async def test_lock_wait_timeout_is_store_busy(backend: SqlBackend, url: str) -> None:
    """Waiting too long for another writer's lock is STORE_BUSY (retryable): SQLite's busy
    timeout (StoreTimeouts.lock), PostgreSQL's lock_timeout."""
    if backend.dialect_name == "sqlite":
        engine = create_engine_for_url(url, timeouts=StoreTimeouts(lock=0.1))
    else:
        engine = create_engine_for_url(
            url, connect_args={"server_settings": {"lock_timeout": "100"}}
        )
    impatient = SqlBackend(engine)
    async with backend.unit_of_work() as uow:
        book = await uow.books.add(new_book())
        await uow.commit()

    async def contend() -> None:
        async with impatient.unit_of_work() as other:
            await other.books.set_stock(book.id, 2)

    try:
        async with backend.unit_of_work() as holder:
            await holder.books.set_stock(book.id, 1)  # holds the row / database write lock
            with pytest.raises(Unavailable) as caught:
                await contend()
    finally:
        await impatient.aclose()
    assert_error(caught, StoreBusy, "STORE_BUSY", None)


async def test_postgres_statement_timeout_is_store_unavailable(url: str) -> None:
    """A statement the server cancels after StoreTimeouts.statement is STORE_UNAVAILABLE,
    and the connection stays usable."""
    if not url.startswith("postgresql"):
        pytest.skip("SQLite statements run in-process: only lock waits are bounded")
    await migrate(url)
    impatient = await open_sql_backend(url, timeouts=StoreTimeouts(statement=0.1))
    try:
        async with impatient.unit_of_work(read_only=True) as uow:
            with pytest.raises(Unavailable) as caught, translating_errors():
                await uow.connection.execute(text("SELECT pg_sleep(5)"))
        assert await impatient.ping() is True
    finally:
        await impatient.aclose()
    assert_error(caught, StoreUnavailable, "STORE_UNAVAILABLE", None)


def test_no_answer_within_the_client_bound_is_store_unavailable() -> None:
    """asyncpg's command_timeout (a server that does not answer at all) raises TimeoutError:
    STORE_UNAVAILABLE (for real, through a frozen network: test_store_timeouts.py)."""
    assert type(translate_error(TimeoutError())) is StoreUnavailable


async def test_writing_a_read_only_sqlite_file_is_store_unavailable(tmp_path: Any) -> None:
    """A write refused by a read-only database (SQLITE_READONLY: a file or mount the process
    may not write; here a read-only open, which binds root too) is STORE_UNAVAILABLE."""
    path = tmp_path / "shop.db"
    await migrate(f"sqlite+aiosqlite:///{path}")
    read_only = await open_sql_backend(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    try:
        async with read_only.unit_of_work(read_only=True) as uow:
            assert await uow.books.get(1) is None  # reads still work
        async with read_only.unit_of_work() as uow:
            with pytest.raises(Unavailable) as caught:
                await uow.books.add(new_book())
    finally:
        await read_only.aclose()
    assert_error(caught, StoreUnavailable, "STORE_UNAVAILABLE", None)


async def test_exhausted_pool_is_store_busy(url: str) -> None:
    """No connection free within the pool timeout is STORE_BUSY."""
    await migrate(url)
    small = await open_sql_backend(url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        async with small.unit_of_work(read_only=True):
            with pytest.raises(Unavailable) as caught:
                async with small.unit_of_work(read_only=True):
                    pass
    finally:
        await small.aclose()
    assert caught.value.code == "STORE_BUSY"


async def test_postgres_deadlock_is_store_busy(backend: SqlBackend) -> None:
    """PostgreSQL's deadlock victim gets STORE_BUSY; the other transaction proceeds."""
    if backend.dialect_name != "postgresql":
        pytest.skip("SQLite writers never deadlock: BEGIN IMMEDIATE serialises them")
    async with backend.unit_of_work() as uow:
        first = await uow.books.add(new_book())
        second = await uow.books.add(new_book())
        await uow.commit()
    async with backend.unit_of_work() as one, backend.unit_of_work() as two:
        await one.books.set_stock(first.id, 1)
        await two.books.set_stock(second.id, 1)
        results = await asyncio.gather(
            one.books.set_stock(second.id, 2),
            two.books.set_stock(first.id, 2),
            return_exceptions=True,
        )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], Unavailable)
    assert errors[0].code == "STORE_BUSY"


async def test_postgres_connection_lost_is_store_unavailable(backend: SqlBackend) -> None:
    """A connection killed mid-transaction is STORE_UNAVAILABLE, and the pool recovers."""
    if backend.dialect_name != "postgresql":
        pytest.skip("an SQLite connection cannot be killed from outside")
    async with backend.unit_of_work() as uow:
        pid = (await uow.connection.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with backend.engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(Unavailable) as caught:
            await uow.books.get(1)
    assert_error(caught, StoreUnavailable, "STORE_UNAVAILABLE", None)
    assert await backend.ping() is True


async def test_unmigrated_database_is_store_schema_missing(url: str) -> None:
    """Using a database that was never migrated is STORE_SCHEMA_MISSING, not a driver error."""
    backend = await open_sql_backend(url)
    try:
        with pytest.raises(Unavailable) as caught:
            async with backend.unit_of_work(read_only=True) as uow:
                await uow.books.get(1)
    finally:
        await backend.aclose()
    assert_error(caught, StoreSchemaMissing, "STORE_SCHEMA_MISSING", None)
