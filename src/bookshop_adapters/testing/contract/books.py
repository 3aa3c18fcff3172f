"""Contract: books are created, read, PATCH-updated and deleted; ISBNs are unique as ISBN-13."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, timedelta
from decimal import Decimal

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import add_book, add_genre
from bookshop_adapters.testing.snapshot import snapshot
from bookshop_core.catalog.commands import CreateBook, SetStock, UpdateBook
from bookshop_core.catalog.entities import MAX_GENRE_DEPTH
from bookshop_core.errors import Conflict, NotFound, ValidationError
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal

__all__ = ["BookContract"]

# One book's ISBN in its three spellings.
ISBN10 = "0-306-40615-2"
ISBN13 = "9780306406157"
ISBN13_SPACED = "978 0-306 40615-7"
# Another valid one, and one with the 979 prefix (which has no ISBN-10).
OTHER_ISBN13 = "9780262033848"
ISBN13_979 = "9791090636071"


@pytest.mark.asyncio
class BookContract:
    """Books: create, get, update only given fields, delete, unique ISBNs, known genres."""

    # -- create and read ------------------------------------------------------------------

    async def test_create_book_returns_what_the_store_then_reads_back(
        self, shop: Shop, admin: Principal, clock: ManualClock
    ) -> None:
        """A new book has a store id, no stock, no reviews, timestamps from the clock."""
        book = await shop.catalog.create_book(
            admin, CreateBook(title="Dune", author="Frank Herbert", price=Decimal("9.99"))
        )
        assert book.id >= 1
        assert (book.title, book.author, book.price) == ("Dune", "Frank Herbert", Decimal("9.99"))
        assert (book.isbn, book.genre_id, book.description) == (None, None, None)
        assert (book.cover_image_url, book.publish_date) == (None, None)
        assert (book.stock_quantity, book.in_stock) == (0, False)
        assert (book.review_count, book.avg_rating) == (0, None)
        assert book.created_at == book.updated_at == clock.now()
        assert await shop.catalog.get_book(book.id) == book

    async def test_create_book_with_every_optional_field(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Every optional field is stored and read back exactly."""
        genre = await add_genre(shop, "Science Fiction")
        book = await shop.catalog.create_book(
            admin,
            CreateBook(
                title="Dune",
                author="Frank Herbert",
                price=Decimal("12.50"),
                isbn=ISBN13,
                genre_id=genre.id,
                description="Spice.\nSand worms.",
                cover_image_url="https://example.com/dune.jpg",
                publish_date=date(1965, 8, 1),
            ),
        )
        assert book.isbn == ISBN13
        assert book.genre_id == genre.id
        assert book.description == "Spice.\nSand worms."
        assert book.cover_image_url == "https://example.com/dune.jpg"
        assert book.publish_date == date(1965, 8, 1)
        assert await shop.catalog.get_book(book.id) == book

    @pytest.mark.parametrize("price", ["0.01", "0.10", "19.99", "20", "999999.99", "1000000.00"])
    async def test_prices_are_stored_exactly(
        self, shop: Shop, admin: Principal, price: str
    ) -> None:
        """A price reads back as the same exact two-decimal amount, from a cent to the max."""
        book = await add_book(shop, price=price)
        stored = (await shop.catalog.get_book(book.id)).price
        assert stored == Decimal(price)
        assert isinstance(stored, Decimal)
        assert f"{stored:.2f}" == f"{Decimal(price):.2f}"

    async def test_text_is_stored_stripped(self, shop: Shop) -> None:
        """Surrounding whitespace of title and author is not stored."""
        book = await add_book(shop, "  Dune\n", author="\tFrank Herbert ")
        assert (book.title, book.author) == ("Dune", "Frank Herbert")
        assert (await shop.catalog.get_book(book.id)).title == "Dune"

    async def test_unicode_text_round_trips(self, shop: Shop) -> None:
        """Any Unicode text (accents, scripts, emoji beyond the BMP) reads back unchanged."""
        title = "Ἰλιάς — Ünïcödé 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 📚 中文 'quotes' \"double\" \\ % _"
        book = await add_book(shop, title, author="Ὅμηρος", description="línea 1\r\nline 2")
        stored = await shop.catalog.get_book(book.id)
        assert (stored.title, stored.author) == (title, "Ὅμηρος")
        assert stored.description == "línea 1\r\nline 2"

    async def test_text_at_its_length_limits_round_trips(self, shop: Shop) -> None:
        """Titles of 500, authors of 255 and descriptions of 10000 characters are stored whole."""
        book = await add_book(
            shop, "T" * 499 + "é", author="A" * 254 + "ß", description="D" * 10_000
        )
        stored = await shop.catalog.get_book(book.id)
        assert stored.title == "T" * 499 + "é"
        assert stored.author == "A" * 254 + "ß"
        assert stored.description == "D" * 10_000

    async def test_timestamps_are_aware_utc(self, shop: Shop) -> None:
        """``created_at`` and ``updated_at`` read back timezone-aware, in UTC."""
        book = await shop.catalog.get_book((await add_book(shop)).id)
        for stamp in (book.created_at, book.updated_at):
            assert stamp.tzinfo is not None
            assert stamp.utcoffset() == timedelta(0)
            assert stamp == stamp.astimezone(UTC)

    async def test_get_unknown_book_is_not_found_on_book_id(self, shop: Shop) -> None:
        """Reading a book that does not exist is BOOK_NOT_FOUND with field ``book_id``."""
        with pytest.raises(NotFound) as caught:
            await shop.catalog.get_book(31337)
        assert (caught.value.code, caught.value.field) == ("BOOK_NOT_FOUND", "book_id")

    @pytest.mark.parametrize("bad_id", [0, -1, 2**63, True])
    async def test_get_book_with_an_impossible_id_is_a_validation_error(
        self, shop: Shop, bad_id: int
    ) -> None:
        """Ids that no store can hold (<= 0, beyond 64 bits, booleans) are VALIDATION_ERROR."""
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.get_book(bad_id)
        assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", "book_id")

    # -- ISBN -----------------------------------------------------------------------------

    async def test_isbn10_is_stored_as_isbn13(self, shop: Shop) -> None:
        """An ISBN-10 (with hyphens) is stored as the bare ISBN-13 of the same book."""
        book = await add_book(shop, isbn=ISBN10)
        assert book.isbn == ISBN13
        assert (await shop.catalog.get_book(book.id)).isbn == ISBN13

    async def test_isbn13_with_separators_is_stored_bare(self, shop: Shop) -> None:
        """Hyphens and spaces in an ISBN-13 are dropped."""
        book = await add_book(shop, isbn=ISBN13_SPACED)
        assert (await shop.catalog.get_book(book.id)).isbn == ISBN13

    async def test_isbn13_with_979_prefix_is_accepted(self, shop: Shop) -> None:
        """979 ISBN-13s (which have no ISBN-10) are valid ISBNs."""
        book = await add_book(shop, isbn=ISBN13_979)
        assert book.isbn == ISBN13_979

    async def test_empty_isbn_means_no_isbn(self, shop: Shop) -> None:
        """An empty or blank ISBN is stored as none."""
        book = await add_book(shop, isbn="  ")
        assert (await shop.catalog.get_book(book.id)).isbn is None

    async def test_books_without_isbn_never_conflict(self, shop: Shop) -> None:
        """Any number of books may have no ISBN."""
        first = await add_book(shop, "One")
        second = await add_book(shop, "Two")
        assert first.id != second.id
        assert first.isbn is second.isbn is None

    @pytest.mark.parametrize("spelling", [ISBN13, ISBN10, ISBN13_SPACED, "030640615-2"])
    async def test_create_with_a_taken_isbn_conflicts_in_any_spelling(
        self, shop: Shop, admin: Principal, spelling: str
    ) -> None:
        """Creating a book whose ISBN is taken (as ISBN-10 or 13) is BOOK_ISBN_CONFLICT."""
        await add_book(shop, "Original", isbn=ISBN13)
        before = await snapshot(shop)
        with pytest.raises(Conflict) as caught:
            await shop.catalog.create_book(
                admin, CreateBook(title="Copy", author="Someone", price=Decimal(5), isbn=spelling)
            )
        assert (caught.value.code, caught.value.field) == ("BOOK_ISBN_CONFLICT", "isbn")
        assert await snapshot(shop) == before

    async def test_isbn13_conflicts_with_a_book_stored_from_its_isbn10(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A book created from an ISBN-10 blocks the same ISBN given as ISBN-13."""
        await add_book(shop, "Original", isbn=ISBN10)
        with pytest.raises(Conflict) as caught:
            await add_book(shop, "Copy", isbn=ISBN13)
        assert caught.value.code == "BOOK_ISBN_CONFLICT"

    async def test_update_to_a_taken_isbn_conflicts(self, shop: Shop, admin: Principal) -> None:
        """Changing a book's ISBN to another book's (as ISBN-10) is BOOK_ISBN_CONFLICT."""
        await add_book(shop, "Original", isbn=ISBN13)
        other = await add_book(shop, "Other", isbn=OTHER_ISBN13)
        before = await snapshot(shop)
        with pytest.raises(Conflict) as caught:
            await shop.catalog.update_book(admin, other.id, UpdateBook(isbn=ISBN10))
        assert (caught.value.code, caught.value.field) == ("BOOK_ISBN_CONFLICT", "isbn")
        assert await snapshot(shop) == before

    async def test_update_to_its_own_isbn_in_another_spelling_is_allowed(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A book never conflicts with itself: re-giving its ISBN as ISBN-10 works."""
        book = await add_book(shop, isbn=ISBN13)
        updated = await shop.catalog.update_book(admin, book.id, UpdateBook(isbn=ISBN10))
        assert updated.isbn == ISBN13

    async def test_isbn_of_a_deleted_book_can_be_reused(self, shop: Shop, admin: Principal) -> None:
        """Deleting a book frees its ISBN."""
        book = await add_book(shop, isbn=ISBN13)
        await shop.catalog.delete_book(admin, book.id)
        again = await add_book(shop, "New edition", isbn=ISBN10)
        assert again.isbn == ISBN13

    # -- genre ----------------------------------------------------------------------------

    async def test_create_with_unknown_genre_is_a_validation_error(
        self, shop: Shop, admin: Principal
    ) -> None:
        """An unknown ``genre_id`` is VALIDATION_ERROR on that field; nothing is created."""
        await add_genre(shop, "Fantasy")
        before = await snapshot(shop)
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.create_book(
                admin, CreateBook(title="X", author="Y", price=Decimal(1), genre_id=777)
            )
        assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", "genre_id")
        assert caught.value.rule  # a domain rule's refusal: flat on the wire
        assert await snapshot(shop) == before

    async def test_update_with_unknown_genre_is_a_validation_error(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Moving a book to an unknown genre is VALIDATION_ERROR on ``genre_id``."""
        book = await add_book(shop)
        before = await snapshot(shop)
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.update_book(admin, book.id, UpdateBook(genre_id=777))
        assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", "genre_id")
        assert caught.value.rule
        assert await snapshot(shop) == before

    # -- update ---------------------------------------------------------------------------

    async def test_update_changes_only_the_given_fields(
        self, shop: Shop, admin: Principal, clock: ManualClock
    ) -> None:
        """A PATCH-style update changes the given fields and ``updated_at``, nothing else."""
        genre = await add_genre(shop, "Fiction")
        book = await add_book(
            shop,
            "Dune",
            isbn=ISBN13,
            genre=genre,
            description="Spice.",
            cover_image_url="/covers/dune.jpg",
            publish_date=date(1965, 8, 1),
        )
        later = clock.advance(hours=1)
        updated = await shop.catalog.update_book(
            admin, book.id, UpdateBook(title="Dune Messiah", price=Decimal("11.00"))
        )
        expected = (book.author, book.isbn, book.genre_id, book.description)
        assert (updated.title, updated.price) == ("Dune Messiah", Decimal("11.00"))
        assert (updated.author, updated.isbn, updated.genre_id, updated.description) == expected
        assert (updated.cover_image_url, updated.publish_date) == (
            book.cover_image_url,
            book.publish_date,
        )
        assert (updated.created_at, updated.updated_at) == (book.created_at, later)
        assert await shop.catalog.get_book(book.id) == updated

    async def test_update_with_none_clears_optional_fields(
        self, shop: Shop, admin: Principal
    ) -> None:
        """``None`` for an optional field clears it."""
        genre = await add_genre(shop, "Fiction")
        book = await add_book(
            shop,
            isbn=ISBN13,
            genre=genre,
            description="Spice.",
            cover_image_url="/covers/dune.jpg",
            publish_date=date(1965, 8, 1),
        )
        cleared = await shop.catalog.update_book(
            admin,
            book.id,
            UpdateBook(
                isbn=None, genre_id=None, description=None, cover_image_url=None, publish_date=None
            ),
        )
        stored = await shop.catalog.get_book(book.id)
        assert stored == cleared
        assert (stored.isbn, stored.genre_id, stored.description) == (None, None, None)
        assert (stored.cover_image_url, stored.publish_date) == (None, None)
        assert (stored.title, stored.author, stored.price) == (book.title, book.author, book.price)

    @pytest.mark.parametrize("field", ["title", "author", "price"])
    async def test_update_setting_a_required_field_to_none_is_refused(self, field: str) -> None:
        """``None`` for a required field is VALIDATION_ERROR on that field, before any I/O."""
        with pytest.raises(ValidationError) as caught:
            UpdateBook(**{field: None})  # type: ignore[arg-type]
        assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", field)

    async def test_empty_update_changes_nothing(
        self, shop: Shop, admin: Principal, clock: ManualClock
    ) -> None:
        """An update with no fields leaves the book exactly as it was, ``updated_at`` included."""
        book = await add_book(shop)
        clock.advance(hours=1)
        assert await shop.catalog.update_book(admin, book.id, UpdateBook()) == book
        assert await shop.catalog.get_book(book.id) == book

    async def test_update_never_touches_stock(self, shop: Shop, admin: Principal) -> None:
        """Updating descriptive fields keeps the book's stock."""
        book = await add_book(shop, stock=7)
        updated = await shop.catalog.update_book(admin, book.id, UpdateBook(title="New"))
        assert updated.stock_quantity == 7
        assert (await shop.catalog.get_book(book.id)).stock_quantity == 7

    async def test_update_of_unknown_book_is_not_found(self, shop: Shop, admin: Principal) -> None:
        """Updating a book that does not exist is BOOK_NOT_FOUND on ``book_id``."""
        with pytest.raises(NotFound) as caught:
            await shop.catalog.update_book(admin, 31337, UpdateBook(title="X"))
        assert (caught.value.code, caught.value.field) == ("BOOK_NOT_FOUND", "book_id")

    async def test_update_leaves_other_books_alone(self, shop: Shop, admin: Principal) -> None:
        """Updating one book changes no other book."""
        book = await add_book(shop, "One")
        other = await add_book(shop, "Two")
        await shop.catalog.update_book(admin, book.id, UpdateBook(title="Uno"))
        assert await shop.catalog.get_book(other.id) == other

    # -- concurrent updates ---------------------------------------------------------------

    async def test_concurrent_updates_of_different_fields_all_survive(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Three updates at once (title, price, author), many times: each succeeds and every
        change is kept, whatever order the store ran them in."""
        for attempt in range(10):
            book = await add_book(shop, f"Book {attempt}")
            await asyncio.gather(
                shop.catalog.update_book(admin, book.id, UpdateBook(title=f"Title {attempt}")),
                shop.catalog.update_book(admin, book.id, UpdateBook(price=Decimal("42.00"))),
                shop.catalog.update_book(admin, book.id, UpdateBook(author=f"Author {attempt}")),
            )
            stored = await shop.catalog.get_book(book.id)
            assert (stored.title, stored.price, stored.author) == (
                f"Title {attempt}",
                Decimal("42.00"),
                f"Author {attempt}",
            )

    async def test_update_racing_a_delete_never_succeeds_on_a_deleted_book(
        self, shop: Shop, admin: Principal
    ) -> None:
        """An update started while a delete is not yet committed ends BOOK_NOT_FOUND once the
        delete commits (the delete holds the book, so the update cannot come first)."""
        book = await add_book(shop)
        async with shop.unit_of_work() as uow:
            assert await uow.books.delete(book.id)
            update = asyncio.ensure_future(
                shop.catalog.update_book(admin, book.id, UpdateBook(title="Ghost"))
            )
            # Give the update every chance to read the book before the delete commits.
            for _ in range(20):
                await asyncio.sleep(0.01)
            await uow.commit()
        with pytest.raises(NotFound) as caught:
            await update
        assert caught.value.code == "BOOK_NOT_FOUND"

    async def test_updates_and_deletes_at_once_never_answer_for_a_deleted_book(
        self, shop: Shop, admin: Principal
    ) -> None:
        """An update racing a delete (many times) is BOOK_NOT_FOUND, or succeeded before the
        delete: the book is gone either way and the delete itself succeeded."""
        for attempt in range(10):
            book = await add_book(shop, f"Book {attempt}")
            updated, deleted = await asyncio.gather(
                shop.catalog.update_book(admin, book.id, UpdateBook(title="Racing")),
                shop.catalog.delete_book(admin, book.id),
                return_exceptions=True,
            )
            assert deleted is None
            assert not isinstance(updated, BaseException) or (
                isinstance(updated, NotFound) and updated.code == "BOOK_NOT_FOUND"
            )
            with pytest.raises(NotFound):
                await shop.catalog.get_book(book.id)

    # -- import ---------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("stock_quantity", "²"),
            ("stock_quantity", "--5"),
            ("stock_quantity", "-1"),
            ("stock_quantity", "1e3"),
            ("stock_quantity", str(10**30)),
            ("genre", "Fic\x00tion"),
            ("genre", "Fiction//Fantasy"),
            ("genre", "/".join(f"G{n}" for n in range(MAX_GENRE_DEPTH + 1))),
            ("price", "--5"),
            ("publish_date", "1965-13-01"),
            ("cover_image_url", "//evil.example/x.png"),
        ],
    )
    async def test_import_reports_a_bad_cell_on_its_row_and_keeps_good_rows_when_partial(
        self, shop: Shop, admin: Principal, column: str, value: str
    ) -> None:
        """A bad cell is an error of its row and column (by the API's rules), never a crash:
        all-or-nothing writes nothing; ``partial`` keeps the good rows."""
        good = {"title": "Dune", "author": "Frank Herbert", "price": "9.99", "stock_quantity": "3"}
        bad = {**good, "title": "Bad", column: value}
        before = await snapshot(shop)
        report = await shop.catalog.import_books(admin, [good, bad])
        assert (report.committed, report.imported) == (False, 0)
        assert [(e.row, {err.loc[0] for err in e.errors}) for e in report.errors] == [(2, {column})]
        assert await snapshot(shop) == before
        report = await shop.catalog.import_books(admin, [bad, good], partial=True)
        assert (report.committed, report.imported, report.rejected) == (True, 1, 1)
        books = (await snapshot(shop)).books
        assert [(b.title, b.stock_quantity) for b in books] == [("Dune", 3)]

    async def test_import_creates_genre_paths_up_to_the_depth_limit(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A genre path of MAX_GENRE_DEPTH names is created level by level."""
        path = "/".join(f"G{n}" for n in range(MAX_GENRE_DEPTH))
        row = {"title": "Deep", "author": "A", "price": "1", "genre": path}
        report = await shop.catalog.import_books(admin, [row])
        assert (report.imported, report.genres_created) == (1, MAX_GENRE_DEPTH)

    # -- delete ---------------------------------------------------------------------------

    async def test_delete_book(self, shop: Shop, admin: Principal) -> None:
        """A deleted book is gone: reading it is BOOK_NOT_FOUND, listing omits it."""
        keep = await add_book(shop, "Keep")
        gone = await add_book(shop, "Gone")
        await shop.catalog.delete_book(admin, gone.id)
        with pytest.raises(NotFound):
            await shop.catalog.get_book(gone.id)
        assert (await shop.catalog.list_books()).items == (keep,)

    async def test_delete_unknown_book_is_not_found(self, shop: Shop, admin: Principal) -> None:
        """Deleting a book that does not exist is BOOK_NOT_FOUND on ``book_id``."""
        with pytest.raises(NotFound) as caught:
            await shop.catalog.delete_book(admin, 31337)
        assert (caught.value.code, caught.value.field) == ("BOOK_NOT_FOUND", "book_id")

    async def test_ids_of_deleted_books_are_never_reused(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A new book never gets the id of a deleted one (old references must not revive)."""
        await add_book(shop, "First")
        last = await add_book(shop, "Last")
        await shop.catalog.delete_book(admin, last.id)
        new = await add_book(shop, "New")
        assert new.id > last.id

    async def test_books_after_walks_every_book_once_in_id_order(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Batches of ``books_after(last id, n)`` give every stored book once, in id order, at
        most ``n`` at a time, skipping deleted ids, as ``get_many`` reads them."""
        books = [await add_book(shop, f"Book {n}") for n in range(7)]
        for gone in (books[2], books[6]):
            await shop.catalog.delete_book(admin, gone.id)
        kept = [b.id for b in books if b not in (books[2], books[6])]
        batches: list[list[int]] = []
        async with shop.unit_of_work(read_only=True) as uow:
            last = 0
            while found := await uow.books.books_after(last, 2):
                batches.append([b.id for b in found])
                last = found[-1].id
            assert await uow.books.books_after(0, 100) == await uow.books.get_many(kept)
        assert batches == [kept[0:2], kept[2:4], kept[4:5]]

    async def test_stock_set_then_delete_then_reads_are_consistent(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A book with stock can be deleted like any other."""
        book = await add_book(shop)
        await shop.catalog.set_stock(admin, book.id, SetStock(quantity=3))
        await shop.catalog.delete_book(admin, book.id)
        assert (await shop.catalog.list_books()).total == 0
