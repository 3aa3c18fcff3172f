"""A Hypothesis state machine of the whole shop, checking the domain rules after every step.

:class:`ShopMachine` drives a real shop through its public use cases (genres, books, stock,
accounts, sign-in, refresh, deactivation), keeps a tiny reference model of what the shop must
hold, and after every step checks the shop's invariants:

- stock is never negative and equals the model's; listing totals equal the model's book count,
  and listing by a genre includes every book of its sub-genres;
- every stored ISBN is unique, 13 digits with a valid checksum (whether given as ISBN-10 or
  ISBN-13, with or without separators); prices are exact two-decimal ``Decimal``\\ s above 0;
  timestamps are timezone-aware UTC;
- a command that fails changes nothing (catalog :func:`snapshot` and the user list, before ==
  after), and fails with the error the model expects;
- searching finds exactly the books (in the same order, with the same total) that the
  plain-Python reference matcher finds in the books' current text
  (:mod:`bookshop_adapters.testing.search_reference`);
- emails are unique case-insensitively;
- an access token works exactly while its account is active and its session alive: a
  deactivated user's tokens are refused at once; a spent refresh token never works twice
  (presenting it again revokes its whole session);
- commerce (carts, checkout with and without a declined payment and with idempotency keys,
  cancel, ship, deliver): stock is conserved per book (initial stock + restocks = current
  stock + sold - returned) and never negative; no order exists without a confirmed payment
  (every order but a ``payment_failed`` record carries the gateway's reference, none is left
  ``pending``); a failed checkout changes nothing a user sees but its ``payment_failed``
  record; carts, orders and order confirmation emails match the model.

Run it on memory with ``ShopMachine.TestCase``, or on any store with a fresh-store factory::

    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(lambda: ShopMachine(factory.new_url, discard=factory.discard))

The machine runs the shop on its own event loop (rules are synchronous), so call it from a
plain ``def`` test, not from a coroutine.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import attrs
from attrs import define, field, frozen
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.testing.identity import TEST_PASSWORD, open_test_shop
from bookshop_adapters.testing.search_reference import (
    read_catalogue,
    reference_facets,
    reference_search,
)
from bookshop_adapters.testing.snapshot import StoreSnapshot, snapshot
from bookshop_adapters.testing.strategies import isbn_spellings, prices
from bookshop_core.catalog.commands import (
    AdjustStock,
    CreateBook,
    CreateGenre,
    ListBooks,
    SetStock,
    UpdateBook,
)
from bookshop_core.commerce.commands import (
    AddToCart,
    Checkout,
    ListOrders,
    SetOrderStatus,
    SetQuantity,
)
from bookshop_core.commerce.entities import CartLine, Order, OrderQuery, OrderStatus
from bookshop_core.errors import DomainError
from bookshop_core.identity.commands import ListUsers, Login, Register
from bookshop_core.identity.settings import IdentitySettings, LoginThrottling
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.pagination import MAX_PAGE_SIZE, PageRequest
from bookshop_core.kernel.principal import Principal, Role
from bookshop_core.notifications.messages import MessageKind
from bookshop_core.notifications.outbox import OutboxMessage
from bookshop_core.prebooking.entities import PreBookingStatus
from bookshop_core.reviews import BulkDeleteReviews, CreateReview, Review, UpdateReview
from bookshop_core.search.analysis import Analyzer
from bookshop_core.search.commands import SearchBooks
from bookshop_core.search.query import TextQuery, parse

__all__ = ["ShopMachine", "open_machine_shop"]

T = TypeVar("T")

#: Makes a fresh, migrated, empty store and returns its URL.
NewUrl = Callable[[], Awaitable[str]]
#: Deletes a store made by a :data:`NewUrl` (the shop on it is closed first).
Discard = Callable[[str], Awaitable[None]]
#: Opens a shop on a URL with the machine's clock: awaitable to a :class:`Shop`.
OpenShop = Callable[[str, ManualClock], Awaitable[Shop]]

#: An id no store in these runs ever reaches.
MISSING_ID = 999_999
_WAITING = PreBookingStatus.WAITING
ADMIN_EMAIL = "admin@example.com"
WRONG_PASSWORD = "not the password at all"
#: The customer every run starts with (the commerce rules' second buyer).
BUYER_EMAIL = "carol@example.com"

_GENRE_NAMES = ("Fiction", "fiction", "Fantasy", "POETRY", "Poetry")
#: (a spelling people use, its ISBN-13): the first two are one book as ISBN-10 and ISBN-13.
_ISBNS = (
    ("0306406152", "9780306406157"),
    ("9780306406157", "9780306406157"),
    ("0262033844", "9780262033848"),
    ("9791090636071", "9791090636071"),
)
#: Titles and descriptions sharing words, stems, accents and phrases, for the search rule.
_TITLES = ("Dune", "Dune Messiah", "Running Man", "García Márquez", "The Runner", "Man of Dune")
_DESCRIPTIONS = (None, "A desert planet", "runs and runs", "dune messiah of the sand")
_SEARCHES = (
    "dune",
    "dune ",
    "run",
    "runn",
    "RUNNING ",
    '"dune messiah"',
    '"messiah dune"',
    "dune -messiah",
    'man -"of dune"',
    "garcia",
    "gar",
    "sand planet",
    "xyz",
    "-dune",
    '"',
    "dune AND (man)",
)
_EMAILS = ("ann@example.com", "ANN@Example.com", "bob@example.com", ADMIN_EMAIL)
#: Idempotency keys a checkout may carry (``None``: none), reused on purpose.
_KEYS = (None, None, "key-1", "key-2")
#: Later than any order a run makes: ``pending_before`` it finds every pending order.
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
#: Statuses an admin may ask an order to take (the transition table refuses most).
_TARGETS = tuple(status for status in OrderStatus if status is not OrderStatus.PENDING)


def open_machine_shop(url: str, clock: ManualClock) -> Awaitable[Shop]:
    """The default way the machine opens a shop: :func:`open_test_shop` (fast hasher, test
    secret) on the machine's clock, with sign-in throttling out of the way (it has its own
    tests; here it would only make wrong passwords lock accounts at random)."""
    throttling = LoginThrottling(free_failures=1_000_000)
    settings = ShopSettings(identity=IdentitySettings(login_throttling=throttling))
    opener: Awaitable[Shop] = open_test_shop(url, clock=clock, settings=settings)
    return opener


async def _wrap(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _outcome(awaitable: Awaitable[T]) -> T | DomainError:
    """What ``awaitable`` returns, or the domain error it raises."""
    try:
        return await awaitable
    except DomainError as exc:
        return exc


async def _memory_url() -> str:
    return "memory://"


async def _parsed(q: str, analyzer: Analyzer) -> TextQuery | None:
    return parse(q, analyzer)


def _isbn13_checksum_ok(isbn: str) -> bool:
    digits = [int(char) for char in isbn]
    return sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0


# -- the reference model ------------------------------------------------------------------


@define
class _Book:
    isbn: str | None
    price: Decimal
    genre_id: int | None
    stock: int = 0


@define
class _User:
    id: int
    password: str
    role: Role = Role.USER
    active: bool = True


@define
class _PreBooking:
    user_id: int
    book_id: int
    status: PreBookingStatus = PreBookingStatus.WAITING


@define
class _CartLine:
    user_id: int
    book_id: int
    quantity: int


@define
class _Order:
    """An order as the model knows it: lines as ``(book id, or None once deleted, quantity)``
    by book id at purchase."""

    user_id: int
    status: OrderStatus
    lines: list[tuple[int | None, int]]
    fingerprint: tuple[tuple[int, int], ...]


@define
class _Review:
    """A live review as the model knows it (a deleted one leaves the model)."""

    user_id: int
    book_id: int
    rating: int


@frozen
class _CommercePicture:
    """What a failed commerce call must leave alone: catalog, users, every cart, every order
    (pending ones included) and the outbox."""

    catalog: StoreSnapshot
    users: tuple[object, ...]
    carts: tuple[tuple[CartLine, ...], ...]
    orders: tuple[Order, ...]
    outbox: tuple[OutboxMessage, ...]


@define
class _Session:
    """One login (a refresh family): its tokens, and whether the shop still honours it."""

    email: str
    refresh_token: str
    access_tokens: list[str] = field(factory=list)
    spent: list[str] = field(factory=list)
    alive: bool = True


class ShopMachine(RuleBasedStateMachine):
    """A shop driven by random use-case calls, checked against a reference model.

    Args:
        new_url: Makes a fresh, empty store per run (default: the class's, ``memory://``).
        discard: Deletes that store after the run (optional).
        open_shop: Opens a shop on the URL with the machine's :class:`ManualClock`
            (default: :func:`open_machine_shop`).

    Use :meth:`bind` for a subclass whose ``TestCase`` runs on your store.
    """

    default_new_url: ClassVar[NewUrl] = staticmethod(_memory_url)
    default_discard: ClassVar[Discard | None] = None
    default_open_shop: ClassVar[OpenShop] = staticmethod(open_machine_shop)

    @classmethod
    def bind(
        cls,
        new_url: NewUrl,
        *,
        discard: Discard | None = None,
        open_shop: OpenShop | None = None,
    ) -> type[ShopMachine]:
        """A subclass that runs on the stores ``new_url`` makes (``.TestCase`` for unittest)."""
        attributes: dict[str, Any] = {
            "default_new_url": staticmethod(new_url),
            "default_discard": None if discard is None else staticmethod(discard),
            "default_open_shop": staticmethod(open_shop or cls.default_open_shop),
        }
        return type(f"Bound{cls.__name__}", (cls,), attributes)

    def __init__(
        self,
        new_url: NewUrl | None = None,
        *,
        discard: Discard | None = None,
        open_shop: OpenShop | None = None,
    ) -> None:
        super().__init__()
        self._new_url = new_url or type(self).default_new_url
        self._discard = discard if new_url is not None else type(self).default_discard
        self._open_shop = open_shop or type(self).default_open_shop
        self._loop = asyncio.new_event_loop()
        self._shop: Shop | None = None
        self._url: str | None = None
        self.clock = ManualClock()
        self.genres: dict[str, tuple[int, int | None]] = {}  # lower-case name -> (id, parent)
        self.books: dict[int, _Book] = {}
        self.users: dict[str, _User] = {}  # lower-case email -> account
        self.sessions: list[_Session] = []
        self.prebookings: dict[int, _PreBooking] = {}
        #: Back-in-stock emails every committed restock must have queued, by recipient.
        self.restock_emails: Counter[str] = Counter()
        self.admin = Principal(user_id=MISSING_ID, role=Role.ADMIN)
        # Commerce (see the commerce rules).
        self.cart_lines: dict[int, _CartLine] = {}
        self.orders: dict[int, _Order] = {}
        self.order_keys: dict[tuple[int, str], int] = {}
        #: Initial stock + every admin stock change since, by book (what stock conservation
        #: compares with current stock + sold - returned).
        self.stock_ledger: Counter[int] = Counter()
        #: Order confirmation emails every confirmed checkout must have queued, by recipient.
        self.confirmation_emails: Counter[str] = Counter()
        # Reviews (see the review rules): the live ones, and every id ever made.
        self.reviews: dict[int, _Review] = {}
        self.review_ids: list[int] = []

    # -- plumbing -------------------------------------------------------------------------

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run ``awaitable`` to completion on the machine's event loop."""
        return self._loop.run_until_complete(_wrap(awaitable))

    @property
    def shop(self) -> Shop:
        assert self._shop is not None, "the shop is opened by the first step"
        return self._shop

    async def _picture(self) -> tuple[StoreSnapshot, tuple[object, ...]]:
        users = await self.shop.identity.list_users(self.admin, ListUsers(per_page=MAX_PAGE_SIZE))
        return await snapshot(self.shop), tuple(users.items)

    def attempt(self, call: Callable[[], Awaitable[T]], expected_error: str | None) -> T | None:
        """Make one call; it must fail with ``expected_error`` (and change nothing), or
        succeed when that is ``None``. Returns what it returned."""
        self.clock.advance(seconds=1)
        before = self.run(self._picture())
        result = self.run(_outcome(call()))
        if isinstance(result, DomainError):
            code = result.code
            assert code == expected_error, f"failed with {code}, expected {expected_error}"
            assert self.run(self._picture()) == before, f"{code} changed the store"
            return None
        assert expected_error is None, f"succeeded, expected {expected_error}"
        return result

    def teardown(self) -> None:
        try:
            if self._shop is not None:
                self.run(self._shop.aclose())
            if self._url is not None and self._discard is not None:
                self.run(self._discard(self._url))
        finally:
            self._loop.close()

    @initialize(shelves=st.lists(st.integers(1, 5), min_size=1, max_size=3), carted=st.booleans())
    def open_shop(self, shelves: list[int], carted: bool) -> None:
        self._url = self.run(self._new_url())
        self._shop = self.run(self._open_shop(self._url, self.clock))
        account = self.run(
            self.shop.identity.create_account(ADMIN_EMAIL, TEST_PASSWORD, role=Role.ADMIN)
        )
        self.users[ADMIN_EMAIL] = _User(account.id, TEST_PASSWORD, Role.ADMIN)
        pair = self.run(self.shop.identity.login(Login(email=ADMIN_EMAIL, password=TEST_PASSWORD)))
        self.admin = self.run(self.shop.identity.authenticate(pair.access_token))
        assert self.admin == Principal(user_id=account.id, role=Role.ADMIN)
        self._open_for_business(shelves, carted=carted)

    # -- catalog rules --------------------------------------------------------------------

    def _genre_ids(self) -> list[int]:
        return sorted(genre_id for genre_id, _ in self.genres.values())

    def _pick(self, ids: list[int], pick: int | None) -> int | None:
        """``pick`` >= 0 is the k-th of ``ids`` (by rank, so runs mean the same on stores that
        number rows differently), -1 an id that exists nowhere, ``None`` none."""
        if pick is None or (pick >= 0 and not ids):
            return None
        return ids[pick % len(ids)] if pick >= 0 else MISSING_ID

    @rule(name=st.sampled_from(_GENRE_NAMES), parent=st.none() | st.integers(-1, 3))
    def create_genre(self, name: str, parent: int | None) -> None:
        parent_id = self._pick(self._genre_ids(), parent)
        expected = None
        if parent_id == MISSING_ID:
            expected = "VALIDATION_ERROR"
        elif name.lower() in self.genres:
            expected = "GENRE_CONFLICT"
        genre = self.attempt(
            lambda: self.shop.catalog.create_genre(self.admin, CreateGenre(name, parent_id)),
            expected,
        )
        if genre is not None:
            assert (genre.name, genre.parent_id) == (name, parent_id)
            self.genres[name.lower()] = (genre.id, parent_id)

    @rule(
        isbn=st.none()
        | st.sampled_from(_ISBNS).flatmap(lambda p: st.tuples(isbn_spellings(p[0]), st.just(p[1]))),
        price=prices(max_value=Decimal("50.00")),
        genre=st.none() | st.integers(-1, 3),
    )
    def create_book(self, isbn: tuple[str, str] | None, price: Decimal, genre: int | None) -> None:
        genre_id = self._pick(self._genre_ids(), genre)
        isbn13 = isbn[1] if isbn else None
        expected = None
        if genre_id == MISSING_ID:
            expected = "VALIDATION_ERROR"
        elif isbn13 is not None and any(book.isbn == isbn13 for book in self.books.values()):
            expected = "BOOK_ISBN_CONFLICT"
        command = CreateBook(
            title="Dune",
            author="Frank Herbert",
            price=price,
            isbn=isbn and isbn[0],
            genre_id=genre_id,
        )
        book = self.attempt(lambda: self.shop.catalog.create_book(self.admin, command), expected)
        if book is not None:
            assert (book.isbn, book.price, book.stock_quantity) == (isbn13, price, 0)
            self.books[book.id] = _Book(isbn13, price, genre_id)

    @rule(book=st.integers(-1, 4), quantity=st.integers(0, 5))
    def set_stock(self, book: int, quantity: int) -> None:
        book_id = self._pick(sorted(self.books), book) or MISSING_ID
        expected = "BOOK_NOT_FOUND" if book_id not in self.books else None
        self.attempt(
            lambda: self.shop.catalog.set_stock(self.admin, book_id, SetStock(quantity)), expected
        )
        if expected is None:
            self._stock_changed(book_id, quantity)

    @rule(book=st.integers(-1, 4), delta=st.integers(-4, 4))
    def adjust_stock(self, book: int, delta: int) -> None:
        book_id = self._pick(sorted(self.books), book) or MISSING_ID
        expected = None
        if book_id not in self.books:
            expected = "BOOK_NOT_FOUND"
        elif self.books[book_id].stock + delta < 0:
            expected = "BOOK_INSUFFICIENT_STOCK"
        self.attempt(
            lambda: self.shop.catalog.adjust_stock(self.admin, book_id, AdjustStock(delta)),
            expected,
        )
        if expected is None:
            self._stock_changed(book_id, self.books[book_id].stock + delta)

    def _stock_changed(self, book_id: int, stock: int, *, by_admin: bool = True) -> None:
        """A committed stock change: from 0 to above 0 notifies the book's waiting
        pre-bookers, each with one email. An admin's change (not a sale or a return) enters
        the stock ledger."""
        if by_admin:
            self.stock_ledger[book_id] += stock - self.books[book_id].stock
        if self.books[book_id].stock == 0 < stock:
            emails = {user.id: email for email, user in self.users.items()}
            for prebooking in self.prebookings.values():
                if prebooking.book_id == book_id and prebooking.status is _WAITING:
                    prebooking.status = PreBookingStatus.NOTIFIED
                    self.restock_emails[emails[prebooking.user_id]] += 1
        self.books[book_id].stock = stock

    @rule(
        book=st.integers(-1, 4),
        title=st.sampled_from(_TITLES),
        description=st.sampled_from(_DESCRIPTIONS),
    )
    def retitle_book(self, book: int, title: str, description: str | None) -> None:
        book_id = self._pick(sorted(self.books), book) or MISSING_ID
        expected = "BOOK_NOT_FOUND" if book_id not in self.books else None
        command = UpdateBook(title=title, description=description)
        self.attempt(lambda: self.shop.catalog.update_book(self.admin, book_id, command), expected)

    @rule(q=st.sampled_from(_SEARCHES), page=st.integers(1, 2))
    def search(self, q: str, page: int) -> None:
        """Searching finds exactly the books the reference matcher finds."""
        self.run(self._search_matches_reference(SearchBooks(q=q, page=page, size=3)))

    @rule(
        q=st.sampled_from(_SEARCHES),
        in_stock=st.booleans(),
        max_price=st.sampled_from([None, Decimal("20.00")]),
    )
    def search_filtered(self, q: str, in_stock: bool, max_price: Decimal | None) -> None:
        """A filtered search and its facets agree with the reference matcher: the index's
        copies of a book's stock and price (SQL postings) follow every change of them, sales
        and restocks included."""
        command = SearchBooks(q=q, in_stock=in_stock, max_price=max_price, size=3, facets=True)
        self.run(self._search_matches_reference(command))

    async def _search_matches_reference(self, command: SearchBooks) -> None:
        analyzer = self.shop.search.analyzer
        parsed = await _outcome(_parsed(command.q, analyzer))
        if isinstance(parsed, DomainError):
            outcome = await _outcome(self.shop.search.search(command))
            assert isinstance(outcome, DomainError), f"{command.q!r} was not refused"
            assert (outcome.code, outcome.field) == (parsed.code, "q")
            return
        query = parsed
        result = await self.shop.search.search(command)
        expected = reference_search(
            analyzer, await read_catalogue(self.shop), query, command.filters, command.order
        )
        start = (command.page - 1) * command.size
        got = [(hit.book.id, hit.score) for hit in result.page.items]
        assert got == expected[start : start + command.size], command.q
        assert result.page.total == len(expected), command.q
        if command.facets:
            assert result.facets == reference_facets(
                analyzer, await read_catalogue(self.shop), query, command.filters
            ), command

    @rule(book=st.integers(-1, 4))
    def delete_book(self, book: int) -> None:
        book_id = self._pick(sorted(self.books), book) or MISSING_ID
        expected = "BOOK_NOT_FOUND" if book_id not in self.books else None
        self.attempt(lambda: self.shop.catalog.delete_book(self.admin, book_id), expected)
        self.books.pop(book_id, None)
        # A deleted book's pre-bookings go with it.
        for prebooking_id, prebooking in list(self.prebookings.items()):
            if prebooking.book_id == book_id:
                del self.prebookings[prebooking_id]
        if expected is None:
            self._commerce_book_deleted(book_id)
            self._reviews_book_deleted(book_id)

    # -- pre-booking rules ----------------------------------------------------------------

    def _user(self, pick: int) -> _User:
        return self.users[sorted(self.users)[pick % len(self.users)]]

    @rule(user=st.integers(0, 3), book=st.integers(-1, 4))
    def prebook(self, user: int, book: int) -> None:
        account = self._user(user)
        book_id = self._pick(sorted(self.books), book) or MISSING_ID
        expected = None
        if book_id not in self.books:
            expected = "BOOK_NOT_FOUND"
        elif self.books[book_id].stock > 0:
            expected = "PREBOOK_BOOK_IN_STOCK"
        elif any(
            (p.user_id, p.book_id, p.status) == (account.id, book_id, _WAITING)
            for p in self.prebookings.values()
        ):
            expected = "PREBOOK_DUPLICATE"
        made = self.attempt(
            lambda: self.shop.prebookings.prebook(Principal(user_id=account.id), book_id),
            expected,
        )
        if made is not None:
            assert (made.user_id, made.book_id, made.status) == (account.id, book_id, _WAITING)
            self.prebookings[made.id] = _PreBooking(account.id, book_id)

    @rule(user=st.integers(0, 3), prebooking=st.integers(-1, 5))
    def cancel_prebooking(self, user: int, prebooking: int) -> None:
        account = self._user(user)
        prebooking_id = self._pick(sorted(self.prebookings), prebooking) or MISSING_ID
        model = self.prebookings.get(prebooking_id)
        expected = None
        if model is None or model.user_id != account.id:
            expected = "PREBOOK_NOT_FOUND"
        elif model.status is PreBookingStatus.CANCELLED:
            expected = "PREBOOK_ALREADY_CANCELLED"
        self.attempt(
            lambda: self.shop.prebookings.cancel(Principal(user_id=account.id), prebooking_id),
            expected,
        )
        if model is not None and expected is None:
            model.status = PreBookingStatus.CANCELLED

    # -- commerce rules -------------------------------------------------------------------

    def _open_for_business(self, shelves: list[int], *, carted: bool) -> None:
        """A customer account and a few books in stock (``shelves``: their stocks) from the
        start, the first one in the customer's cart when ``carted``, so that short runs reach
        checkout, cancels and shipping."""
        account = self.run(self.shop.identity.create_account(BUYER_EMAIL, TEST_PASSWORD))
        self.users[BUYER_EMAIL] = _User(account.id, TEST_PASSWORD)
        for stock in shelves:
            price = Decimal("7.50") + stock
            command = CreateBook(title="Dune", author="Frank Herbert", price=price)
            book = self.run(self.shop.catalog.create_book(self.admin, command))
            self.books[book.id] = _Book(None, price, None)
            self.run(self.shop.catalog.set_stock(self.admin, book.id, SetStock(stock)))
            self._stock_changed(book.id, stock)
        if carted:
            book_id = min(self.books)
            buyer = Principal(user_id=account.id)
            line = self.run(self.shop.cart.add(buyer, AddToCart(book_id=book_id)))
            self.cart_lines[line.id] = _CartLine(account.id, book_id, 1)

    def _commerce_book_deleted(self, book_id: int) -> None:
        """A deleted book's cart lines go with it; order lines keep their copy of it, their
        book id cleared; its stock ledger ends."""
        for item_id, line in list(self.cart_lines.items()):
            if line.book_id == book_id:
                del self.cart_lines[item_id]
        for order in self.orders.values():
            order.lines = [(None if b == book_id else b, q) for b, q in order.lines]
        self.stock_ledger.pop(book_id, None)

    def _open_lines(self, user_id: int) -> list[_CartLine]:
        return sorted(
            (line for line in self.cart_lines.values() if line.user_id == user_id),
            key=lambda line: line.book_id,
        )

    async def _stored_orders(self) -> list[Order]:
        """Every stored order, pending ones included, by id (through the unit of work: no
        use case shows a pending order)."""
        async with self.shop.unit_of_work(read_only=True) as uow:
            page = await uow.orders.list(OrderQuery(), PageRequest(1, MAX_PAGE_SIZE))
            pending = [
                await uow.orders.get(order_id)
                for order_id in await uow.orders.pending_before(_END_OF_TIME, MAX_PAGE_SIZE)
            ]
        assert page.total == len(page.items), "the machine's orders fit one page"
        return sorted([*page.items, *(o for o in pending if o is not None)], key=lambda o: o.id)

    async def _outbox(self) -> list[OutboxMessage]:
        async with self.shop.unit_of_work(read_only=True) as uow:
            page = await uow.outbox.list(None, PageRequest(1, MAX_PAGE_SIZE))
        assert page.total == len(page.items), "the machine's outbox fits one page"
        return sorted(page.items, key=lambda message: message.id)

    async def _commerce_picture(self) -> _CommercePicture:
        catalog, users = await self._picture()
        carts = [
            tuple((await self.shop.cart.view(Principal(user_id=user.id))).lines)
            for user in sorted(self.users.values(), key=lambda user: user.id)
        ]
        return _CommercePicture(
            catalog,
            users,
            tuple(carts),
            tuple(await self._stored_orders()),
            tuple(await self._outbox()),
        )

    def attempt_commerce(
        self,
        call: Callable[[], Awaitable[T]],
        expected_error: str | None,
        *,
        records_attempt: bool = False,
        replay: bool = False,
    ) -> T | DomainError:
        """Like :meth:`attempt`, for commerce calls: a failure must leave carts, orders and
        the outbox alone too, except (``records_attempt``) for the one ``payment_failed``
        record of a declined checkout; so must a success that only replays (``replay``: a
        retried idempotency key). Returns what the call returned, or its error."""
        self.clock.advance(seconds=1)
        before = self.run(self._commerce_picture())
        result = self.run(_outcome(call()))
        if not isinstance(result, DomainError):
            assert expected_error is None, f"succeeded, expected {expected_error}"
            if replay:
                assert self.run(self._commerce_picture()) == before, "a replay changed the store"
            return result
        assert result.code == expected_error, (
            f"failed with {result.code}, expected {expected_error}"
        )
        after = self.run(self._commerce_picture())
        if records_attempt:
            known = {order.id for order in before.orders}
            [record] = [order for order in after.orders if order.id not in known]
            assert record.status is OrderStatus.PAYMENT_FAILED, record
            assert record.payment_reference is None, record
            assert record.failure_reason, record
            after = attrs.evolve(after, orders=tuple(o for o in after.orders if o.id != record.id))
        assert after == before, f"{result.code} changed what users see"
        return result

    @rule(user=st.integers(0, 3), book=st.integers(-1, 4), quantity=st.integers(1, 3))
    def add_to_cart(self, user: int, book: int, quantity: int) -> None:
        account = self._user(user)
        book_id = self._pick(sorted(self.books), book) or MISSING_ID
        model = self.books.get(book_id)
        expected = None
        if model is None:
            expected = "BOOK_NOT_FOUND"
        elif model.stock == 0:
            expected = "CART_BOOK_OUT_OF_STOCK"
        elif quantity > model.stock:
            expected = "CART_INSUFFICIENT_STOCK"
        elif any(line.book_id == book_id for line in self._open_lines(account.id)):
            expected = "CART_ITEM_DUPLICATE"
        command = AddToCart(book_id=book_id, quantity=quantity)
        line = self.attempt_commerce(
            lambda: self.shop.cart.add(Principal(user_id=account.id), command), expected
        )
        if isinstance(line, CartLine):
            assert (line.user_id, line.book_id, line.quantity) == (account.id, book_id, quantity)
            self.cart_lines[line.id] = _CartLine(account.id, book_id, quantity)

    def _cart_line_call(self, user: int, line: int) -> tuple[_User, int, str | None]:
        """The caller, the picked line's id, and the error any change of it must give."""
        account = self._user(user)
        item_id = self._pick(sorted(self.cart_lines), line) or MISSING_ID
        model = self.cart_lines.get(item_id)
        expected = None
        if model is None:
            expected = "CART_ITEM_NOT_FOUND"
        elif model.user_id != account.id:
            expected = "CART_ITEM_FORBIDDEN"
        return account, item_id, expected

    @precondition(lambda self: self.cart_lines)
    @rule(user=st.integers(0, 3), line=st.integers(-1, 5), quantity=st.integers(1, 5))
    def set_cart_quantity(self, user: int, line: int, quantity: int) -> None:
        account, item_id, expected = self._cart_line_call(user, line)
        if expected is None:
            stock = self.books[self.cart_lines[item_id].book_id].stock
            if stock == 0:
                expected = "CART_BOOK_OUT_OF_STOCK"
            elif quantity > stock:
                expected = "CART_INSUFFICIENT_STOCK"
        command = SetQuantity(quantity=quantity)
        changed = self.attempt_commerce(
            lambda: self.shop.cart.set_quantity(Principal(user_id=account.id), item_id, command),
            expected,
        )
        if isinstance(changed, CartLine):
            assert (changed.id, changed.quantity) == (item_id, quantity)
            self.cart_lines[item_id].quantity = quantity

    @precondition(lambda self: self.cart_lines)
    @rule(user=st.integers(0, 3), line=st.integers(-1, 5))
    def remove_cart_line(self, user: int, line: int) -> None:
        account, item_id, expected = self._cart_line_call(user, line)
        self.attempt_commerce(
            lambda: self.shop.cart.remove(Principal(user_id=account.id), item_id), expected
        )
        if expected is None:
            del self.cart_lines[item_id]

    @precondition(lambda self: self.cart_lines or self.orders)
    @rule(user=st.integers(0, 3), key=st.sampled_from(_KEYS), decline=st.booleans())
    def checkout(self, user: int, key: str | None, decline: bool) -> None:
        """Checkout as the model predicts it: a key's replay, a refusal that changes
        nothing, a declined payment that changes nothing but its record, or an order."""
        account = self._user(user)
        lines = self._open_lines(account.id)
        fingerprint = tuple((line.book_id, line.quantity) for line in lines)
        earlier = None if key is None else self.order_keys.get((account.id, key))
        expected = None
        fresh = earlier is None
        if earlier is not None:
            if lines and fingerprint != self.orders[earlier].fingerprint:
                expected = "ORDER_IDEMPOTENCY_KEY_REUSED"
            elif self.orders[earlier].status is OrderStatus.PAYMENT_FAILED:
                expected = "ORDER_PAYMENT_FAILED"
        elif not lines:
            expected = "ORDER_CART_EMPTY"
        elif any(line.quantity > self.books[line.book_id].stock for line in lines):
            expected = "ORDER_INSUFFICIENT_STOCK"
        elif decline:
            expected = "ORDER_PAYMENT_FAILED"
        command = Checkout(idempotency_key=key, force_payment_failure=decline)
        outcome = self.attempt_commerce(
            lambda: self.shop.orders.checkout(Principal(user_id=account.id), command),
            expected,
            records_attempt=fresh and expected == "ORDER_PAYMENT_FAILED",
            replay=not fresh,
        )
        if isinstance(outcome, DomainError):
            if outcome.code == "ORDER_INSUFFICIENT_STOCK":
                short = {
                    (line.book_id, line.quantity, self.books[line.book_id].stock)
                    for line in lines
                    if line.quantity > self.books[line.book_id].stock
                }
                listed = {
                    (item["book_id"], item["requested"], item["available"])
                    for item in outcome.details["items"]
                }
                assert listed == short, (listed, short)
            if outcome.code == "ORDER_PAYMENT_FAILED" and fresh:
                order_id = outcome.details["order_id"]
                failed = _Order(account.id, OrderStatus.PAYMENT_FAILED, [*fingerprint], fingerprint)
                self._order_made(order_id, failed, key)
            elif outcome.code == "ORDER_PAYMENT_FAILED":
                assert outcome.details["order_id"] == earlier
            return
        assert isinstance(outcome, Order)
        if earlier is not None:  # a replay: the key's order as it is now, nothing bought
            assert (outcome.id, outcome.status) == (earlier, self.orders[earlier].status)
            return
        assert outcome.status is OrderStatus.CONFIRMED
        assert [(item.book_id, item.quantity) for item in outcome.items] == list(fingerprint)
        assert [item.unit_price for item in outcome.items] == [
            self.books[line.book_id].price for line in lines
        ]
        assert outcome.total == sum(
            (item.unit_price * item.quantity for item in outcome.items), Decimal("0.00")
        )
        self._order_made(
            outcome.id, _Order(account.id, OrderStatus.CONFIRMED, [*fingerprint], fingerprint), key
        )
        for line in lines:
            book = self.books[line.book_id]
            self._stock_changed(line.book_id, book.stock - line.quantity, by_admin=False)
        for item_id, line in list(self.cart_lines.items()):
            if line.user_id == account.id:
                del self.cart_lines[item_id]
        email = next(email for email, u in self.users.items() if u.id == account.id)
        self.confirmation_emails[email] += 1

    def _order_made(self, order_id: int, order: _Order, key: str | None) -> None:
        assert order_id not in self.orders, f"order {order_id} made twice"
        self.orders[order_id] = order
        if key is not None:
            self.order_keys[(order.user_id, key)] = order_id

    def _order_moved(self, order_id: int, target: OrderStatus) -> None:
        """A committed move; a cancel gives each line's copies back (0 -> above 0 is a
        restock that notifies pre-bookers)."""
        order = self.orders[order_id]
        order.status = target
        if target is OrderStatus.CANCELLED:
            for book_id, quantity in order.lines:
                if book_id is not None:
                    stock = self.books[book_id].stock
                    self._stock_changed(book_id, stock + quantity, by_admin=False)

    @precondition(lambda self: self.orders)
    @rule(user=st.integers(0, 3), order=st.integers(-1, 5))
    def cancel_my_order(self, user: int, order: int) -> None:
        account = self._user(user)
        order_id = self._pick(sorted(self.orders), order) or MISSING_ID
        model = self.orders.get(order_id)
        expected = None
        if model is None or model.user_id != account.id:
            expected = "ORDER_NOT_FOUND"
        elif model.status is not OrderStatus.CONFIRMED:
            expected = "ORDER_INVALID_TRANSITION"
        moved = self.attempt_commerce(
            lambda: self.shop.orders.cancel_mine(Principal(user_id=account.id), order_id),
            expected,
        )
        if isinstance(moved, Order):
            assert (moved.id, moved.status) == (order_id, OrderStatus.CANCELLED)
            self._order_moved(order_id, OrderStatus.CANCELLED)

    @precondition(lambda self: self.orders)
    @rule(order=st.integers(-1, 5), status=st.sampled_from(_TARGETS))
    def move_order(self, order: int, status: OrderStatus) -> None:
        """An admin ships, delivers or cancels (or asks for a move the table refuses)."""
        order_id = self._pick(sorted(self.orders), order) or MISSING_ID
        model = self.orders.get(order_id)
        expected = None
        if model is None:
            expected = "ORDER_NOT_FOUND"
        elif not model.status.can_become(status):
            expected = "ORDER_INVALID_TRANSITION"
        command = SetOrderStatus(status=status)
        moved = self.attempt_commerce(
            lambda: self.shop.orders.set_status(self.admin, order_id, command), expected
        )
        if isinstance(moved, Order):
            assert (moved.id, moved.status) == (order_id, status)
            self._order_moved(order_id, status)

    # -- review rules ---------------------------------------------------------------------

    def _purchased(self, user_id: int, book_id: int) -> bool:
        """Whether the model has an order of the user in a sale status with the book."""
        return any(
            order.user_id == user_id
            and order.status.counts_as_sale
            and any(line_book == book_id for line_book, _ in order.lines)
            for order in self.orders.values()
        )

    def _reviews_book_deleted(self, book_id: int) -> None:
        """A deleted book's reviews go with it."""
        for review_id, review in list(self.reviews.items()):
            if review.book_id == book_id:
                del self.reviews[review_id]

    @rule(user=st.integers(0, 3), book=st.integers(-1, 4), rating=st.integers(1, 5))
    def write_review(self, user: int, book: int, rating: int) -> None:
        """A buyer reviews a book once; anyone else is refused and nothing changes."""
        account = self._user(user)
        book_id = self._pick(sorted(self.books), book) or MISSING_ID
        self._write_review(account, book_id, rating)

    @precondition(lambda self: self.orders)
    @rule(order=st.integers(0, 5), line=st.integers(0, 2), rating=st.integers(1, 5))
    def review_an_order_line(self, order: int, line: int, rating: int) -> None:
        """The buyer of an order (in any status) reviews one of its books: how runs reach
        reviews that pass the purchase gate, and the gate's refusals after a cancel."""
        model = self.orders[sorted(self.orders)[order % len(self.orders)]]
        book_id, _ = model.lines[line % len(model.lines)]
        account = next(u for u in self.users.values() if u.id == model.user_id)
        self._write_review(account, book_id or MISSING_ID, rating)

    @rule(user=st.integers(0, 3), book=st.integers(0, 4), rating=st.integers(1, 5))
    def buy_then_review(self, user: int, book: int, rating: int) -> None:
        """A customer buys a copy (the commerce rules' own steps: cart, checkout) and
        reviews the book, so that runs often get past the purchase gate."""
        self.add_to_cart(user, book, 1)
        if self._open_lines(self._user(user).id):
            self.checkout(user, None, False)
        book_id = self._pick(sorted(self.books), book) or MISSING_ID
        self._write_review(self._user(user), book_id, rating)

    def _write_review(self, account: _User, book_id: int, rating: int) -> None:
        expected = None
        if book_id not in self.books:
            expected = "BOOK_NOT_FOUND"
        elif not self._purchased(account.id, book_id):
            expected = "NOT_PURCHASED"
        elif any((r.user_id, r.book_id) == (account.id, book_id) for r in self.reviews.values()):
            expected = "DUPLICATE_REVIEW"
        made = self.attempt(
            lambda: self.shop.reviews.create(
                Principal(user_id=account.id), book_id, CreateReview(rating=rating)
            ),
            expected,
        )
        if made is not None:
            assert (made.user_id, made.book_id, made.rating) == (account.id, book_id, rating)
            assert made.verified_purchase, "a review written without a qualifying purchase"
            self.reviews[made.id] = _Review(account.id, book_id, rating)
            self.review_ids.append(made.id)

    def _review_call(self, user: int, review: int) -> tuple[_User, int, _Review | None]:
        """The caller (``user`` < 0: the picked review's author), the review's id, its model."""
        review_id = self._pick(self.review_ids, review) or MISSING_ID
        model = self.reviews.get(review_id)
        if user < 0 and model is not None:
            account = next(u for u in self.users.values() if u.id == model.user_id)
        else:
            account = self._user(user)
        return account, review_id, model

    @precondition(lambda self: self.review_ids)
    @rule(user=st.integers(-1, 3), review=st.integers(-1, 5), rating=st.integers(1, 5))
    def rerate_review(self, user: int, review: int, rating: int) -> None:
        """Only the author changes a live review's rating."""
        account, review_id, model = self._review_call(user, review)
        expected = None
        if model is None:
            expected = "REVIEW_NOT_FOUND"
        elif model.user_id != account.id:
            expected = "NOT_REVIEW_OWNER"
        changed = self.attempt(
            lambda: self.shop.reviews.update(
                Principal(user_id=account.id), review_id, UpdateReview(rating=rating)
            ),
            expected,
        )
        if changed is not None and model is not None:
            assert (changed.id, changed.rating) == (review_id, rating)
            model.rating = rating

    @precondition(lambda self: self.review_ids)
    @rule(user=st.integers(-1, 3), review=st.integers(-1, 5), as_admin=st.booleans())
    def delete_review(self, user: int, review: int, as_admin: bool) -> None:
        """The author or an admin soft-deletes a live review."""
        account, review_id, model = self._review_call(user, review)
        caller = self.admin if as_admin else Principal(user_id=account.id)
        expected = None
        if model is None:
            expected = "REVIEW_NOT_FOUND"
        elif model.user_id != caller.user_id and not as_admin:
            expected = "NOT_REVIEW_OWNER"
        self.attempt(lambda: self.shop.reviews.delete(caller, review_id), expected)
        if expected is None:
            del self.reviews[review_id]

    @precondition(lambda self: self.review_ids)
    @rule(picks=st.lists(st.integers(-1, 7), min_size=1, max_size=4))
    def bulk_delete_reviews(self, picks: list[int]) -> None:
        """An admin soft-deletes some reviews at once; missing and deleted ones are skipped."""
        ids = tuple(self._pick(self.review_ids, pick) or MISSING_ID for pick in picks)
        live = {review_id for review_id in ids if review_id in self.reviews}
        command = BulkDeleteReviews(review_ids=ids)
        deleted = self.attempt(lambda: self.shop.reviews.delete_many(self.admin, command), None)
        assert deleted == len(live), (deleted, live)
        for review_id in live:
            del self.reviews[review_id]

    # -- identity rules -------------------------------------------------------------------

    def _signed_in(self, email: str, access_token: str, refresh_token: str) -> None:
        self.sessions.append(_Session(email.lower(), refresh_token, [access_token]))

    @rule(email=st.sampled_from(_EMAILS))
    def register(self, email: str) -> None:
        expected = "AUTH_EMAIL_CONFLICT" if email.lower() in self.users else None
        pair = self.attempt(
            lambda: self.shop.identity.register(Register(email=email, password=TEST_PASSWORD)),
            expected,
        )
        if pair is not None:
            principal = self.run(self.shop.identity.authenticate(pair.access_token))
            self.users[email.lower()] = _User(principal.user_id, TEST_PASSWORD)
            self._signed_in(email, pair.access_token, pair.refresh_token)

    @rule(email=st.sampled_from(_EMAILS), right=st.booleans())
    def login(self, email: str, right: bool) -> None:
        user = self.users.get(email.lower())
        expected = None
        if user is None or not right:
            expected = "AUTH_INVALID_CREDENTIALS"  # the same for an unknown email
        elif not user.active:
            expected = "AUTH_ACCOUNT_DEACTIVATED"
        password = TEST_PASSWORD if right else WRONG_PASSWORD
        pair = self.attempt(
            lambda: self.shop.identity.login(Login(email=email, password=password)), expected
        )
        if pair is not None:
            self._signed_in(email, pair.access_token, pair.refresh_token)

    @rule(email=st.sampled_from(_EMAILS))
    def deactivate(self, email: str) -> None:
        user = self.users.get(email.lower())
        user_id = user.id if user is not None else MISSING_ID
        expected = None
        if user is None:
            expected = "USER_NOT_FOUND"
        elif user.role is Role.ADMIN:
            expected = "ADMN_CANNOT_DEACTIVATE_ADMIN"
        self.attempt(lambda: self.shop.identity.deactivate(self.admin, user_id), expected)
        if user is not None and expected is None:
            user.active = False
            for session in self.sessions:
                if session.email == email.lower():
                    session.alive = False

    @rule(session=st.integers(0, 7), spent=st.booleans())
    def refresh(self, session: int, spent: bool) -> None:
        if not self.sessions:
            return
        chosen = self.sessions[session % len(self.sessions)]
        if spent and not chosen.spent:
            spent = False
        token = chosen.spent[-1] if spent else chosen.refresh_token
        user = self.users[chosen.email]
        expected = None
        if spent:
            expected = "AUTH_TOKEN_REUSE"
        elif not user.active:
            expected = "AUTH_USER_INACTIVE"
        elif not chosen.alive:
            expected = "AUTH_REFRESH_INVALID"
        if spent:
            # Reuse detection revokes the whole session: that is the one change allowed.
            self.clock.advance(seconds=1)
            outcome = self.run(_outcome(self.shop.identity.refresh(token)))
            assert isinstance(outcome, DomainError), "a spent refresh token worked twice"
            assert outcome.code == expected, f"a spent refresh token gave {outcome.code}"
            chosen.alive = False
            return
        pair = self.attempt(lambda: self.shop.identity.refresh(token), expected)
        if pair is not None:
            chosen.spent.append(chosen.refresh_token)
            chosen.refresh_token = pair.refresh_token
            chosen.access_tokens.append(pair.access_token)

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def catalog_matches_the_model(self) -> None:
        if self._shop is None:
            return
        state = self.run(snapshot(self.shop))
        stored = {book.id: book for book in state.books}
        assert sorted(stored) == sorted(self.books)
        for book_id, book in stored.items():
            model = self.books[book_id]
            assert book.stock_quantity >= 0
            assert book.stock_quantity == model.stock
            assert isinstance(book.price, Decimal)
            assert book.price > 0
            assert book.price.as_tuple().exponent == -2, book.price
            assert book.price == model.price
            assert book.isbn == model.isbn
            assert book.genre_id == model.genre_id
            assert book.created_at.utcoffset() == timedelta(0)
        isbns = [book.isbn for book in state.books if book.isbn is not None]
        assert len(isbns) == len(set(isbns)), f"duplicate ISBNs: {isbns}"
        for isbn in isbns:
            assert len(isbn) == 13, isbn
            assert isbn.isdigit(), isbn
            assert _isbn13_checksum_ok(isbn), isbn
        assert {genre.name.lower(): (genre.id, genre.parent_id) for genre in state.genres} == (
            self.genres
        )

    @invariant()
    def listings_count_books_and_include_sub_genres(self) -> None:
        if self._shop is None:
            return
        catalog = self.shop.catalog
        assert self.run(catalog.list_books(ListBooks())).total == len(self.books)
        parents = dict(self.genres.values())

        def under(genre_id: int | None, root: int) -> bool:
            while genre_id is not None:
                if genre_id == root:
                    return True
                genre_id = parents[genre_id]
            return False

        for root in parents:
            page = self.run(catalog.list_books(ListBooks(genre_id=root, size=MAX_PAGE_SIZE)))
            expected = sorted(i for i, book in self.books.items() if under(book.genre_id, root))
            assert sorted(book.id for book in page.items) == expected, f"genre {root}"
            assert page.total == len(expected)

    @invariant()
    def prebookings_match_the_model_and_none_waits_on_a_book_in_stock(self) -> None:
        if self._shop is None:
            return
        stored = {}
        for account in self.users.values():
            mine = self.run(self.shop.prebookings.list_mine(Principal(user_id=account.id)))
            assert [p.created_at for p in mine] == sorted(
                (p.created_at for p in mine), reverse=True
            )
            stored.update({p.id: (p.user_id, p.book_id, p.status) for p in mine})
        assert stored == {i: (p.user_id, p.book_id, p.status) for i, p in self.prebookings.items()}
        for _, book_id, status in stored.values():
            if status is _WAITING:
                assert self.books[book_id].stock == 0, f"waiting on book {book_id} in stock"

    @invariant()
    def every_committed_restock_queued_one_email_per_prebooker(self) -> None:
        if self._shop is None:
            return
        self.run(self._restock_emails_match())

    async def _restock_emails_match(self) -> None:
        async with self.shop.unit_of_work(read_only=True) as uow:
            page = await uow.outbox.list(None, PageRequest(1, MAX_PAGE_SIZE))
        assert page.total == len(page.items), "the machine's outbox fits one page"
        queued = Counter(
            recipient
            for message in page.items
            if message.kind == MessageKind.BACK_IN_STOCK
            for recipient in message.recipients
        )
        assert queued == self.restock_emails

    @invariant()
    def emails_are_unique_case_insensitively(self) -> None:
        if self._shop is None:
            return
        users = self.run(
            self.shop.identity.list_users(self.admin, ListUsers(per_page=MAX_PAGE_SIZE))
        ).items
        emails = [user.email.lower() for user in users]
        assert sorted(emails) == sorted(self.users)
        for user in users:
            assert user.is_active == self.users[user.email.lower()].active

    @invariant()
    def access_tokens_work_exactly_while_their_session_lives(self) -> None:
        if self._shop is None:
            return
        for session in self.sessions:
            user = self.users[session.email]
            for token in session.access_tokens[-2:]:
                outcome = self.run(_outcome(self.shop.identity.authenticate(token)))
                if isinstance(outcome, DomainError):
                    code = outcome.code
                    assert not session.alive, f"a live session's token was refused: {code}"
                    if not user.active:
                        assert code == "AUTH_ACCOUNT_DEACTIVATED", code
                else:
                    assert session.alive, "a revoked session's access token was accepted"
                    assert user.active, "a deactivated user's access token was accepted"
                    assert outcome.user_id == user.id

    # -- commerce invariants --------------------------------------------------------------

    @invariant()
    def stock_is_conserved_and_every_order_was_paid(self) -> None:
        """Per book: initial stock + restocks = current stock + sold - returned (the copies
        of sales not cancelled); no order pending; an order exists only with a confirmed
        payment (every one but a ``payment_failed`` record has the gateway's reference)."""
        if self._shop is None:
            return
        orders = self.run(self._stored_orders())
        held: Counter[int] = Counter()
        for order in orders:
            assert order.status is not OrderStatus.PENDING, f"order {order.id} left pending"
            if order.status is OrderStatus.PAYMENT_FAILED:
                assert order.payment_reference is None, order
            else:
                assert order.payment_reference, f"order {order.id} without a payment"
            if order.status.counts_as_sale:
                for line in order.items:
                    if line.book_id is not None:
                        held[line.book_id] += line.quantity
        for book in self.run(snapshot(self.shop)).books:
            assert book.stock_quantity >= 0
            assert book.stock_quantity + held[book.id] == self.stock_ledger[book.id], book.id

    @invariant()
    def carts_and_orders_match_the_model(self) -> None:
        if self._shop is None:
            return
        for account in self.users.values():
            principal = Principal(user_id=account.id)
            cart = self.run(self.shop.cart.view(principal))
            assert [
                (line.id, line.book_id, line.quantity, line.held_by) for line in cart.lines
            ] == sorted(
                (
                    (item_id, line.book_id, line.quantity, None)
                    for item_id, line in self.cart_lines.items()
                    if line.user_id == account.id
                ),
                key=lambda line: line[1],  # a cart lists its lines by book id
            ), account.id
            mine = self.run(self.shop.orders.list_mine(principal, ListOrders(size=MAX_PAGE_SIZE)))
            assert sorted(order.id for order in mine.items) == sorted(
                i for i, order in self.orders.items() if order.user_id == account.id
            )
        stored = {
            order.id: (
                order.user_id,
                order.status,
                [(line.book_id, line.quantity) for line in order.items],
            )
            for order in self.run(self._stored_orders())
        }
        assert stored == {
            i: (order.user_id, order.status, order.lines) for i, order in self.orders.items()
        }

    @invariant()
    def every_confirmed_checkout_queued_one_confirmation(self) -> None:
        if self._shop is None:
            return
        queued = Counter(
            recipient.lower()
            for message in self.run(self._outbox())
            if message.kind == MessageKind.ORDER_CONFIRMATION
            for recipient in message.recipients
        )
        assert queued == self.confirmation_emails

    # -- review invariants ----------------------------------------------------------------

    async def _live_reviews(self, book_id: int) -> list[Review]:
        page = await self.shop.reviews.list_for_book(book_id, PageRequest(1, MAX_PAGE_SIZE))
        assert page.total == len(page.items), "the machine's reviews fit one page"
        return list(page.items)

    @invariant()
    def reviews_match_the_model_and_every_rating_is_exact(self) -> None:
        """Each book's live reviews are the model's (at most one per user and book, each
        written with a qualifying purchase, ``verified_purchase`` telling whether it still
        has one), and its ``avg_rating``/``review_count`` equal a plain-Python mean (one
        decimal, half-up) and count of their ratings."""
        if self._shop is None:
            return
        books = {book.id: book for book in self.run(snapshot(self.shop)).books}
        for book_id in self.books:
            stored = self.run(self._live_reviews(book_id))
            model = {i: r for i, r in self.reviews.items() if r.book_id == book_id}
            assert {r.id: (r.user_id, r.rating) for r in stored} == {
                i: (r.user_id, r.rating) for i, r in model.items()
            }, book_id
            authors = [r.user_id for r in stored]
            assert len(authors) == len(set(authors)), f"two live reviews of book {book_id}"
            for review in stored:
                assert review.verified_purchase == self._purchased(review.user_id, book_id)
            ratings = [r.rating for r in model.values()]
            count = len(ratings)
            tenths, remainder = divmod(sum(ratings) * 10, count or 1)
            average = Decimal(tenths + (2 * remainder >= count)) / 10 if count else None
            book = books[book_id]
            assert (book.review_count, book.avg_rating) == (count, average), book_id
