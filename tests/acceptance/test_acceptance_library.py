"""Acceptance: the library as an embedding app uses it (DESIGN.md sections 2-4)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bookshop_adapters import Repositories, Shop, ShopSettings, build_shop
from bookshop_adapters.argon2 import Argon2PasswordHasher
from bookshop_adapters.jwt import PyJwtTokenCodec
from bookshop_core import (
    AdjustStock,
    AuthenticationError,
    BookRestocked,
    BookSort,
    ChangeRole,
    Conflict,
    CreateBook,
    CreateGenre,
    DomainError,
    IdentitySettings,
    ListBooks,
    ListUsers,
    Login,
    LoginThrottling,
    ManualClock,
    NotFound,
    PasswordPolicy,
    PermissionDenied,
    Principal,
    RateLimited,
    Register,
    Role,
    SetStock,
    SortDirection,
    UpdateBook,
    UpdateGenre,
    ValidationError,
    normalize_isbn,
    structure,
    unstructure,
)
from bookshop_core.catalog import to_isbn10
from bookshop_examples.settings import AppSettings
from tests.acceptance.conftest import (
    PASSWORD,
    START,
    fast_hasher,
    jwt_part,
    open_shop,
    shop_settings,
    sqlite_url,
)

ADMIN = Principal(user_id=1, role=Role.ADMIN)
READER = Principal(user_id=2)


def book(title: str = "Dune", **fields: Any) -> CreateBook:
    fields.setdefault("author", "Frank Herbert")
    fields.setdefault("price", Decimal("9.99"))
    return CreateBook(title=title, **fields)


async def state(shop: Shop) -> Any:
    """Everything a reader can see of the catalog."""
    page = await shop.catalog.list_books(ListBooks(size=100))
    return unstructure(page), unstructure(await shop.catalog.list_genres())


@pytest.fixture
async def any_shop(store_url: str, clock: ManualClock) -> AsyncIterator[Shop]:
    """A fresh shop on memory or SQLite."""
    async with open_shop(store_url, clock) as opened:
        yield opened


# --- composition root ---------------------------------------------------------------------


async def test_build_shop_awaited_then_closed() -> None:
    """``await build_shop(url)`` gives a working shop, closed with ``aclose()``."""
    shop = await build_shop("memory://", settings=shop_settings())
    try:
        assert await shop.ping()
        assert (await shop.catalog.list_books()).total == 0
    finally:
        await shop.aclose()


async def test_build_shop_as_context_manager(tmp_path: Path) -> None:
    """``async with build_shop(url, migrate=True)`` opens a SQLite file and persists data."""
    url = sqlite_url(tmp_path / "shop.db")
    async with build_shop(url, migrate=True, settings=shop_settings()) as shop:
        await shop.catalog.create_book(ADMIN, book())
    assert (tmp_path / "shop.db").exists()
    async with build_shop(url, settings=shop_settings()) as shop:
        page = await shop.catalog.list_books()
    assert [b.title for b in page.items] == ["Dune"]


async def test_build_shop_reads_url_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$BOOKSHOP_DATABASE_URL is read by the frontends' settings (AppSettings.from_env) and
    passed to build_shop; the library itself reads no environment: no store is a TypeError."""
    monkeypatch.setenv("BOOKSHOP_DATABASE_URL", sqlite_url(tmp_path / "env.db"))
    with pytest.raises(TypeError, match="store"):
        build_shop(migrate=True, settings=shop_settings())
    url = AppSettings.from_env().database_url
    async with build_shop(url, migrate=True, settings=shop_settings()) as shop:
        assert await shop.ping()
    assert (tmp_path / "env.db").exists()


async def test_swapped_clock_is_the_only_now() -> None:
    """Timestamps come from the swapped clock, timezone-aware UTC."""
    clock = ManualClock(datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))
    async with open_shop("memory://", clock) as shop:
        created = await shop.catalog.create_book(ADMIN, book())
        assert created.created_at == clock.now()
        assert created.created_at.utcoffset() == timedelta(0)
        clock.advance(hours=1)
        updated = await shop.catalog.update_book(ADMIN, created.id, UpdateBook(title="Dune!"))
        assert updated.updated_at == datetime(2031, 5, 6, 8, 8, 9, tzinfo=UTC)
        assert unstructure(updated)["updated_at"] == "2031-05-06T08:08:09+00:00"


class _ParisClock:
    """A clock of the embedding app that answers in local time (UTC+2)."""

    def now(self) -> datetime:
        return datetime(2030, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))


async def test_timestamps_are_utc_whatever_the_clock(store_url: str) -> None:
    """A swapped clock answering in another offset still gives UTC timestamps."""
    async with open_shop(store_url, _ParisClock()) as shop:  # type: ignore[arg-type]
        created = await shop.catalog.create_book(ADMIN, book())
        user = await shop.identity.create_account("ada@example.com", PASSWORD)
        fetched = await shop.catalog.get_book(created.id)
    for instant in (created.created_at, fetched.created_at, user.created_at):
        assert instant == datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
        assert instant.utcoffset() == timedelta(0)
    assert unstructure(fetched)["created_at"] == "2030-06-01T10:00:00+00:00"
    assert unstructure(user)["created_at"] == "2030-06-01T10:00:00+00:00"


def test_currency_is_configurable() -> None:
    """One currency per shop, configurable by its ISO 4217 code; nonsense is refused."""
    assert ShopSettings().currency == "USD"
    assert ShopSettings(currency="EUR").currency == "EUR"
    with pytest.raises(ValueError, match="currency"):
        ShopSettings(currency="euros")


async def test_swapped_repository_is_used() -> None:
    """``repositories=`` swaps one repository, keeping the rest of the shop working."""
    calls: list[str] = []

    class Counting:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(self.inner, name)

    async with open_shop(
        "memory://", ManualClock(), repositories=Repositories(books=lambda uow: Counting(uow.books))
    ) as shop:
        created = await shop.catalog.create_book(ADMIN, book())
        assert (await shop.catalog.get_book(created.id)).title == "Dune"
    assert calls


async def test_default_system_clock_is_utc() -> None:
    """With the default clock, timestamps are aware UTC and close to now."""
    async with build_shop("memory://", settings=shop_settings()) as shop:
        created = await shop.catalog.create_book(ADMIN, book())
    assert created.created_at.tzinfo is not None
    assert created.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created.created_at) < timedelta(minutes=1)


# --- money --------------------------------------------------------------------------------


async def test_money_is_decimal_and_string_on_the_wire(any_shop: Shop) -> None:
    """Prices are Decimal in the API and two-decimal strings in JSON, exactly."""
    created = await any_shop.catalog.create_book(ADMIN, book(price=Decimal("12.5")))
    fetched = await any_shop.catalog.get_book(created.id)
    assert isinstance(fetched.price, Decimal)
    assert fetched.price == Decimal("12.50")
    assert unstructure(fetched)["price"] == "12.50"
    tricky = await any_shop.catalog.create_book(ADMIN, book("B", price=Decimal("0.07")))
    assert unstructure(await any_shop.catalog.get_book(tricky.id))["price"] == "0.07"


@pytest.mark.parametrize("price", ["0", "-1", "1.001", "NaN", "Infinity", "1000000.01", 0.1 + 0.2])
def test_bad_prices_refused(price: Any) -> None:
    """Price must be > 0, at most 2 decimals and bounded; floats must be exact-looking."""
    with pytest.raises(ValidationError) as info:
        structure({"title": "T", "author": "A", "price": price}, CreateBook)
    assert info.value.code == "VALIDATION_ERROR"
    assert [e.loc for e in info.value.errors] == [("price",)]


async def test_sql_stores_integer_cents(tmp_path: Path) -> None:
    """On SQLite, money is stored as integer minor units, never as a float."""
    path = tmp_path / "cents.db"
    async with open_shop(sqlite_url(path), ManualClock()) as shop:
        await shop.catalog.create_book(ADMIN, book(price=Decimal("12.34")))
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(books)")]
        price_column = next(c for c in columns if "price" in c)
        kind, value = db.execute(
            f"SELECT typeof({price_column}), {price_column} FROM books"
        ).fetchone()
    assert (kind, value) == ("integer", 1234)


# --- structure / unstructure --------------------------------------------------------------


def test_structure_rejects_each_unknown_field() -> None:
    """structure(strict=True) refuses unknown fields (no mass assignment), naming every one."""
    data = {"title": "T", "author": "A", "price": "1", "stock_quantity": 5, "id": 9}
    with pytest.raises(ValidationError) as info:
        structure(data, CreateBook, strict=True)
    assert info.value.code == "VALIDATION_ERROR"
    assert {e.loc for e in info.value.errors} == {("stock_quantity",), ("id",)}
    assert {e.type for e in info.value.errors} == {"extra_forbidden"}


def test_structure_names_every_bad_field() -> None:
    """Wrong types and values are all reported at once, each under its field."""
    data = {"title": 5, "author": None, "price": "abc", "isbn": "123", "genre_id": "x"}
    with pytest.raises(ValidationError) as info:
        structure(data, CreateBook)
    assert {e.loc[0] for e in info.value.errors} == {"title", "author", "price", "isbn", "genre_id"}
    body = info.value.to_dict()
    assert body["code"] == "VALIDATION_ERROR"
    assert all({"loc", "msg", "type"} <= set(item) for item in body["detail"])


@pytest.mark.parametrize("data", [None, [], "text", 42, {"title": ["a"]}, {1: 2}])
def test_structure_never_leaks_other_exceptions(data: Any) -> None:
    """Any wrong shape becomes a ValidationError, never a cattrs or Python exception."""
    with pytest.raises(ValidationError):
        structure(data, CreateBook)


def test_missing_required_fields_named() -> None:
    """Missing required fields are each named."""
    with pytest.raises(ValidationError) as info:
        structure({}, CreateBook)
    assert {e.loc for e in info.value.errors} == {("title",), ("author",), ("price",)}


def test_list_books_from_query_strings() -> None:
    """ListBooks structures from decoded data; enum fields accept their string values."""
    query = structure(
        {"sort": "price", "sort_dir": "desc", "page": 2, "size": 5, "in_stock": True},
        ListBooks,
    )
    assert (query.sort, query.sort_dir, query.page, query.size) == (
        BookSort.PRICE,
        SortDirection.DESC,
        2,
        5,
    )
    assert query.in_stock is True


def test_list_books_bounds() -> None:
    """min_price > max_price and size outside 1..100 are VALIDATION_ERRORs naming each."""
    with pytest.raises(ValidationError) as info:
        ListBooks(min_price=Decimal(20), max_price=Decimal(10), size=500)
    assert {e.loc for e in info.value.errors} == {("min_price",), ("size",)}


def test_domain_error_wire_shape() -> None:
    """DomainError.to_dict is {detail, code, field?, ...details}."""
    error = NotFound("Book 9 not found", code="BOOK_NOT_FOUND", field="book_id")
    assert error.to_dict() == {
        "detail": "Book 9 not found",
        "code": "BOOK_NOT_FOUND",
        "field": "book_id",
    }
    assert isinstance(error, DomainError)


# --- ISBN ---------------------------------------------------------------------------------


def test_isbn10_maps_to_isbn13() -> None:
    """ISBN-10 (hyphens, spaces, lowercase x) normalises to the bare ISBN-13."""
    assert normalize_isbn("0-261-10221-4") == "9780261102217"
    assert normalize_isbn("080442957x") == "9780804429573"
    assert normalize_isbn("978 0 441 17271 9") == "9780441172719"


def test_isbn10_round_trip() -> None:
    """Every ISBN-10 maps to its ISBN-13 and back."""
    for isbn10 in ("0261102214", "0441172717", "080442957X", "0552131067"):
        isbn13 = normalize_isbn(isbn10)
        assert len(isbn13) == 13
        assert isbn13.startswith("978")
        assert to_isbn10(isbn13) == isbn10


def _refused(isbn: str) -> bool:
    try:
        normalize_isbn(isbn)
    except ValidationError as exc:
        return exc.field == "isbn"
    return False


def test_isbn_single_digit_changes_and_swaps_refused() -> None:
    """Every single-digit change and adjacent transposition of a valid ISBN is refused."""
    for valid in ("0261102214", "080442957X", "9780441172719", "9780261102217"):
        variants = {
            valid[:i] + digit + valid[i + 1 :]
            for i, current in enumerate(valid)
            for digit in "0123456789"
            if digit != current
        }
        variants |= {
            valid[:i] + valid[i + 1] + valid[i] + valid[i + 2 :]
            for i in range(len(valid) - 1)
            if valid[i] != valid[i + 1]
            # ISBN-13's checksum (weights 1, 3) cannot see a swap of two digits 5 apart
            and not (len(valid) == 13 and abs(int(valid[i]) - int(valid[i + 1])) == 5)
        }
        assert [v for v in sorted(variants) if not _refused(v)] == []


# --- catalog rules ------------------------------------------------------------------------


async def test_only_admins_change_the_catalog(any_shop: Shop) -> None:
    """Every catalog change by a non-admin is AUTH_FORBIDDEN and changes nothing."""
    genre = await any_shop.catalog.create_genre(ADMIN, CreateGenre("Fiction"))
    created = await any_shop.catalog.create_book(ADMIN, book())
    before = await state(any_shop)
    attempts = [
        any_shop.catalog.create_book(READER, book("Mine")),
        any_shop.catalog.update_book(READER, created.id, UpdateBook(title="Mine")),
        any_shop.catalog.delete_book(READER, created.id),
        any_shop.catalog.set_stock(READER, created.id, SetStock(5)),
        any_shop.catalog.adjust_stock(READER, created.id, AdjustStock(5)),
        any_shop.catalog.create_genre(READER, CreateGenre("Mine")),
        any_shop.catalog.update_genre(READER, genre.id, UpdateGenre(name="Mine")),
        any_shop.catalog.delete_genre(READER, genre.id),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied) as info:
            await attempt
        assert info.value.code == "AUTH_FORBIDDEN"
    assert await state(any_shop) == before


async def test_isbn_unique_across_forms_and_failure_changes_nothing(any_shop: Shop) -> None:
    """A duplicate ISBN (other form) is BOOK_ISBN_CONFLICT on create and update; no change."""
    first = await any_shop.catalog.create_book(ADMIN, book(isbn="0-261-10221-4"))
    assert first.isbn == "9780261102217"
    second = await any_shop.catalog.create_book(ADMIN, book("Other"))
    before = await state(any_shop)
    with pytest.raises(Conflict) as info:
        await any_shop.catalog.create_book(ADMIN, book("Again", isbn="978-0-261-10221-7"))
    assert (info.value.code, info.value.field) == ("BOOK_ISBN_CONFLICT", "isbn")
    with pytest.raises(Conflict):
        await any_shop.catalog.update_book(
            ADMIN, second.id, UpdateBook(isbn="0261102214", title="Changed")
        )
    assert await state(any_shop) == before


async def test_update_is_a_patch(any_shop: Shop) -> None:
    """update_book changes only given fields; None clears optional ones, refused for required."""
    created = await any_shop.catalog.create_book(
        ADMIN, book(description="Spice", publish_date=date(1965, 8, 1))
    )
    updated = await any_shop.catalog.update_book(ADMIN, created.id, UpdateBook(description=None))
    assert updated.description is None
    assert (updated.title, updated.price, updated.publish_date) == (
        "Dune",
        Decimal("9.99"),
        date(1965, 8, 1),
    )
    with pytest.raises(ValidationError) as info:
        UpdateBook(price=None)
    assert info.value.errors[0].loc == ("price",)
    with pytest.raises(ValidationError):
        structure({"title": None}, UpdateBook)


async def test_unknown_genre_is_validation_error(any_shop: Shop) -> None:
    """An unknown genre_id on a book or parent_id on a genre is VALIDATION_ERROR on it."""
    empty = await state(any_shop)
    with pytest.raises(ValidationError) as info:
        await any_shop.catalog.create_book(ADMIN, book(genre_id=99))
    assert info.value.errors[0].loc == ("genre_id",)
    with pytest.raises(ValidationError) as info:
        await any_shop.catalog.create_genre(ADMIN, CreateGenre("X", parent_id=99))
    assert info.value.errors[0].loc == ("parent_id",)
    assert await state(any_shop) == empty


async def test_genre_taxonomy_rules(any_shop: Shop) -> None:
    """Genre names are unique case-insensitively; no cycles; only unused genres are deleted."""
    fiction = await any_shop.catalog.create_genre(ADMIN, CreateGenre("Fiction"))
    fantasy = await any_shop.catalog.create_genre(ADMIN, CreateGenre("Fantasy", fiction.id))
    epic = await any_shop.catalog.create_genre(ADMIN, CreateGenre("Epic", fantasy.id))
    with pytest.raises(Conflict) as info:
        await any_shop.catalog.create_genre(ADMIN, CreateGenre("FICTION"))
    assert (info.value.code, info.value.field) == ("GENRE_CONFLICT", "name")
    with pytest.raises(ValidationError) as cycle:
        await any_shop.catalog.update_genre(ADMIN, fiction.id, UpdateGenre(parent_id=epic.id))
    assert (cycle.value.code, cycle.value.field) == ("VALIDATION_ERROR", "parent_id")
    with pytest.raises(Conflict) as info:
        await any_shop.catalog.delete_genre(ADMIN, fantasy.id)
    assert info.value.code == "GENRE_IN_USE"
    tree = await any_shop.catalog.genre_tree()
    assert [(n.name, [c.name for c in n.children]) for n in tree] == [("Fiction", ["Fantasy"])]
    await any_shop.catalog.delete_genre(ADMIN, epic.id)
    with pytest.raises(NotFound) as info:
        await any_shop.catalog.get_genre(epic.id)
    assert info.value.code == "GENRE_NOT_FOUND"


async def test_stock_rules_and_restock_event(any_shop: Shop) -> None:
    """Stock never goes below 0; 0 -> positive is one BookRestocked event, after commit."""
    seen: list[BookRestocked] = []

    async def remember(event: BookRestocked) -> None:
        seen.append(event)

    any_shop.events.subscribe(BookRestocked, remember)
    created = await any_shop.catalog.create_book(ADMIN, book())
    assert created.stock_quantity == 0
    with pytest.raises(Conflict) as info:
        await any_shop.catalog.adjust_stock(ADMIN, created.id, AdjustStock(-1))
    assert info.value.code == "BOOK_INSUFFICIENT_STOCK"
    with pytest.raises(ValidationError):
        SetStock(-1)
    await any_shop.catalog.adjust_stock(ADMIN, created.id, AdjustStock(2))
    await any_shop.catalog.set_stock(ADMIN, created.id, SetStock(5))
    await any_shop.catalog.set_stock(ADMIN, created.id, SetStock(0))
    await any_shop.catalog.set_stock(ADMIN, created.id, SetStock(1))
    assert seen == [BookRestocked(created.id, "Dune", 2), BookRestocked(created.id, "Dune", 1)]


async def test_listing_rules_on_every_backend(any_shop: Shop, clock: ManualClock) -> None:
    """Sub-genres included; author %, _ and \\ literal; newest first; exact total."""
    fiction = await any_shop.catalog.create_genre(ADMIN, CreateGenre("Fiction"))
    fantasy = await any_shop.catalog.create_genre(ADMIN, CreateGenre("Fantasy", fiction.id))
    for title, author, genre in [
        ("Hobbit", "Tolkien", fantasy.id),
        ("Deals", "100%_off", None),
        ("Plain", "100 off", fiction.id),
        ("Rock", "AC\\DC", None),
    ]:
        await any_shop.catalog.create_book(ADMIN, book(title, author=author, genre_id=genre))
        clock.advance(minutes=1)

    async def titles(**query: Any) -> list[str]:
        return [b.title for b in (await any_shop.catalog.list_books(ListBooks(**query))).items]

    assert await titles(genre_id=fiction.id) == ["Hobbit", "Plain"]
    assert await titles(author="c\\d") == ["Rock"]
    assert await titles(author="%_") == ["Deals"]
    assert await titles(author="0%") == ["Deals"]
    assert await titles(author="0_o") == []
    assert await titles(sort=BookSort.CREATED_AT) == ["Rock", "Plain", "Deals", "Hobbit"]
    assert await titles(sort=BookSort.AVG_RATING) == await titles(
        sort=BookSort.AVG_RATING, sort_dir=SortDirection.DESC
    )
    page = await any_shop.catalog.list_books(ListBooks(size=2, page=2))
    assert (page.total, page.page, page.size, len(page.items)) == (4, 2, 2, 2)


async def test_missing_sort_values_come_last_both_ways(any_shop: Shop) -> None:
    """Books without a publish date come last whether sorting by date asc or desc."""
    await any_shop.catalog.create_book(ADMIN, book("Undated"))
    await any_shop.catalog.create_book(ADMIN, book("Old", publish_date=date(1900, 1, 1)))
    await any_shop.catalog.create_book(ADMIN, book("New", publish_date=date(2000, 1, 1)))
    for direction, expected in [
        (SortDirection.ASC, ["Old", "New", "Undated"]),
        (SortDirection.DESC, ["New", "Old", "Undated"]),
    ]:
        page = await any_shop.catalog.list_books(ListBooks(sort=BookSort.DATE, sort_dir=direction))
        assert [b.title for b in page.items] == expected


async def test_import_all_or_nothing(any_shop: Shop) -> None:
    """A CSV import with one bad row writes nothing unless partial."""
    empty = await state(any_shop)
    rows = [
        {"title": "Mort", "author": "Terry Pratchett", "price": "8.99", "genre": "Fiction/Disc"},
        {"title": "Broken", "author": "Nobody", "price": "-1"},
    ]
    report = await any_shop.catalog.import_books(ADMIN, rows)
    assert not report.committed
    assert report.imported == 0
    assert [e.row for e in report.errors] == [2]
    assert await state(any_shop) == empty
    report = await any_shop.catalog.import_books(ADMIN, rows, partial=True)
    assert report.committed
    assert report.imported == 1


# --- identity -----------------------------------------------------------------------------


async def test_default_access_token_lifetime_is_15_minutes() -> None:
    """IdentitySettings defaults to 15-minute access tokens."""
    assert IdentitySettings().access_ttl == timedelta(minutes=15)
    async with open_shop("memory://", ManualClock(START)) as shop:
        pair = await shop.identity.register(Register(email="ada@example.com", password=PASSWORD))
    claims = jwt_part(pair.access_token, 1)
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iat"] == int(START.timestamp())


async def test_identity_settings_configurable(clock: ManualClock) -> None:
    """Token lifetime, password policy and login throttling follow IdentitySettings."""
    identity = IdentitySettings(
        access_ttl=timedelta(minutes=30),
        password_policy=PasswordPolicy(min_length=12),
        login_throttling=LoginThrottling(free_failures=2, lockout=timedelta(minutes=1)),
    )
    async with open_shop("memory://", clock, settings=shop_settings(identity=identity)) as shop:
        with pytest.raises(ValidationError) as info:
            await shop.identity.register(Register(email="ada@example.com", password="elevenchars"))
        assert info.value.errors[0].loc == ("password",)
        pair = await shop.identity.register(Register(email="ada@example.com", password=PASSWORD))
        claims = jwt_part(pair.access_token, 1)
        assert claims["exp"] - claims["iat"] == 1800
        for _ in range(2):
            with pytest.raises(AuthenticationError):
                await shop.identity.login(Login(email="ada@example.com", password="wrong password"))
        with pytest.raises(RateLimited) as locked:
            await shop.identity.login(Login(email="ada@example.com", password=PASSWORD))
        assert locked.value.code == "AUTH_TOO_MANY_ATTEMPTS"
        assert locked.value.details["retry_after"] == 60


async def test_short_hs256_secret_refused() -> None:
    """An HS256 secret under 32 bytes is refused."""
    with pytest.raises((ValueError, DomainError)):
        PyJwtTokenCodec("too short a secret")
    with pytest.raises((ValueError, DomainError)):
        await build_shop("memory://", settings=shop_settings(jwt_secret="short"))


async def test_email_unique_case_insensitively(any_shop: Shop) -> None:
    """Emails are normalised and unique case-insensitively."""
    await any_shop.identity.register(Register(email="Ada@Example.com", password=PASSWORD))
    with pytest.raises(Conflict) as info:
        await any_shop.identity.register(Register(email="ada@EXAMPLE.com", password=PASSWORD))
    assert (info.value.code, info.value.field) == ("AUTH_EMAIL_CONFLICT", "email")


async def test_concurrent_registrations_one_winner(tmp_path: Path) -> None:
    """Concurrent registrations of one email (any case) on SQLite: exactly one succeeds."""
    async with open_shop(sqlite_url(tmp_path / "race.db"), ManualClock()) as shop:
        emails = ["ada@example.com", "ADA@example.com", "Ada@Example.com"] * 3
        results = await asyncio.gather(
            *(shop.identity.register(Register(email=e, password=PASSWORD)) for e in emails),
            return_exceptions=True,
        )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert {r.code for r in results if isinstance(r, DomainError)} == {"AUTH_EMAIL_CONFLICT"}


async def test_no_plain_passwords_or_refresh_tokens_stored(tmp_path: Path) -> None:
    """The SQL store holds an argon2id hash, never the password or a refresh token."""
    path = tmp_path / "secrets.db"
    async with open_shop(sqlite_url(path), ManualClock()) as shop:
        pair = await shop.identity.register(Register(email="ada@example.com", password=PASSWORD))
        pair = await shop.identity.refresh(pair.refresh_token)
    files = await asyncio.to_thread(lambda: list(tmp_path.glob("secrets.db*")))
    stored = b"".join([await asyncio.to_thread(p.read_bytes) for p in files])
    assert PASSWORD.encode() not in stored
    assert pair.refresh_token.encode() not in stored
    assert b"$argon2id$" in stored


class CountingHasher:
    """The real argon2id hasher, counting the password verifications it is asked for."""

    def __init__(self) -> None:
        self.inner = Argon2PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
        self.verifications = 0

    async def hash(self, password: str) -> str:
        return await self.inner.hash(password)

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return await self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)


async def test_login_same_error_and_same_work(clock: ManualClock) -> None:
    """Unknown email and wrong password: the same error, and each pays for exactly one
    password verification (so they take about the same time; counted, not timed)."""
    hasher = CountingHasher()
    async with open_shop("memory://", clock, password_hasher=hasher) as shop:
        await shop.identity.register(Register(email="ada@example.com", password=PASSWORD))

        async def attempt(email: str) -> tuple[int, tuple[str, str]]:
            clock.advance(hours=1)  # stay clear of the lockout
            before = hasher.verifications
            with pytest.raises(AuthenticationError) as info:
                await shop.identity.login(Login(email=email, password="wrong password!"))
            return hasher.verifications - before, (info.value.code, info.value.message)

        wrong = [await attempt("ada@example.com") for _ in range(3)]
        unknown = [await attempt("nobody@example.com") for _ in range(3)]
    assert {w[1] for w in wrong} == {u[1] for u in unknown} == {wrong[0][1]}
    assert wrong[0][1][0] == "AUTH_INVALID_CREDENTIALS"
    assert [w[0] for w in wrong] == [u[0] for u in unknown] == [1, 1, 1]


async def test_rehash_on_login_when_parameters_change(tmp_path: Path) -> None:
    """After the hasher's parameters rise, the next successful login re-hashes the password."""
    path = tmp_path / "rehash.db"
    weak = Argon2PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
    strong = Argon2PasswordHasher(time_cost=3, memory_cost=19_456, parallelism=1)
    async with open_shop(sqlite_url(path), ManualClock(), password_hasher=weak) as shop:
        await shop.identity.register(Register(email="ada@example.com", password=PASSWORD))
    async with open_shop(sqlite_url(path), ManualClock(), password_hasher=strong) as shop:
        await shop.identity.login(Login(email="ada@example.com", password=PASSWORD))
    with sqlite3.connect(path) as db:
        stored = b"\n".join(
            str(v).encode() for row in db.execute("SELECT * FROM users") for v in row
        )
    assert b"t=3" in stored
    assert b"t=2" not in stored


async def test_authorization_reads_role_from_account(any_shop: Shop) -> None:
    """authenticate() takes the role from the account, not from the token."""
    await any_shop.identity.create_account("boss@example.com", PASSWORD, role=Role.ADMIN)
    boss = await any_shop.identity.authenticate(
        (
            await any_shop.identity.login(Login(email="boss@example.com", password=PASSWORD))
        ).access_token
    )
    pair = await any_shop.identity.register(Register(email="ada@example.com", password=PASSWORD))
    ada = await any_shop.identity.authenticate(pair.access_token)
    assert ada.role is Role.USER
    assert jwt_part(pair.access_token, 1)["sub"] == str(ada.user_id)
    await any_shop.identity.change_role(boss, ada.user_id, ChangeRole(Role.ADMIN))
    promoted = await any_shop.identity.authenticate(pair.access_token)
    assert promoted.role is Role.ADMIN
    assert jwt_part(pair.access_token, 1)["role"] == "user"


async def test_refresh_reuse_revokes_family(any_shop: Shop) -> None:
    """A spent refresh token is AUTH_TOKEN_REUSE; the family's tokens then all fail."""
    first = await any_shop.identity.register(Register(email="ada@example.com", password=PASSWORD))
    second = await any_shop.identity.refresh(first.refresh_token)
    with pytest.raises(AuthenticationError) as info:
        await any_shop.identity.refresh(first.refresh_token)
    assert info.value.code == "AUTH_TOKEN_REUSE"
    with pytest.raises(AuthenticationError) as info:
        await any_shop.identity.refresh(second.refresh_token)
    assert info.value.code == "AUTH_REFRESH_INVALID"
    with pytest.raises(AuthenticationError) as info:
        await any_shop.identity.authenticate(second.access_token)
    assert info.value.code == "AUTH_TOKEN_INVALID"


async def test_concurrent_refresh_one_winner(tmp_path: Path) -> None:
    """Twenty concurrent refreshes of one token on SQLite: exactly one succeeds."""
    async with open_shop(sqlite_url(tmp_path / "refresh.db"), ManualClock()) as shop:
        pair = await shop.identity.register(Register(email="ada@example.com", password=PASSWORD))
        results = await asyncio.gather(
            *(shop.identity.refresh(pair.refresh_token) for _ in range(20)),
            return_exceptions=True,
        )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, AuthenticationError) for r in results if isinstance(r, BaseException))


async def test_deactivation_and_admin_rules(any_shop: Shop) -> None:
    """Deactivation kills tokens at once; admins can't be deactivated; last admin stays."""
    await any_shop.identity.create_account("boss@example.com", PASSWORD, role=Role.ADMIN)
    boss = await any_shop.identity.authenticate(
        (
            await any_shop.identity.login(Login(email="boss@example.com", password=PASSWORD))
        ).access_token
    )
    pair = await any_shop.identity.register(Register(email="ada@example.com", password=PASSWORD))
    ada = await any_shop.identity.authenticate(pair.access_token)
    await any_shop.identity.deactivate(boss, ada.user_id)
    with pytest.raises(PermissionDenied) as info:
        await any_shop.identity.authenticate(pair.access_token)
    assert info.value.code == "AUTH_ACCOUNT_DEACTIVATED"
    with pytest.raises(AuthenticationError) as info:
        await any_shop.identity.refresh(pair.refresh_token)
    assert info.value.code == "AUTH_USER_INACTIVE"
    await any_shop.identity.reactivate(boss, ada.user_id)
    with pytest.raises(AuthenticationError):
        await any_shop.identity.authenticate(pair.access_token)
    with pytest.raises(PermissionDenied) as info:
        await any_shop.identity.deactivate(boss, boss.user_id)
    assert info.value.code == "ADMN_CANNOT_DEACTIVATE_ADMIN"
    with pytest.raises(Conflict) as info:
        await any_shop.identity.change_role(boss, boss.user_id, ChangeRole(Role.USER))
    assert info.value.code == "ADMN_LAST_ADMIN"
    with pytest.raises(PermissionDenied) as info:
        await any_shop.identity.list_users(ada, ListUsers())
    assert info.value.code == "AUTH_FORBIDDEN"
    page = await any_shop.identity.list_users(boss, ListUsers(q="nobody"))
    assert (page.total, page.total_pages, len(page.items)) == (0, 0, 0)


async def test_password_hasher_swappable(clock: ManualClock) -> None:
    """``password_hasher=`` swaps the hasher used for every account."""
    used: list[str] = []
    inner = fast_hasher()

    class Recording:
        def __getattr__(self, name: str) -> Any:
            used.append(name)
            return getattr(inner, name)

    async with open_shop("memory://", clock, password_hasher=Recording()) as shop:
        await shop.identity.register(Register(email="ada@example.com", password=PASSWORD))
        await shop.identity.login(Login(email="ada@example.com", password=PASSWORD))
    assert used
