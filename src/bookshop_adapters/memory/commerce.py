"""The in-memory carts, orders and wishlists: the reference model of the commerce ports.

Transactions of the memory backend are serialised by the store's lock, so a checkout's stock
check and the stock it takes (``add_pending``) are atomic, as the SQL backends' row locks make
them; ``lines(lock=True)`` has nothing more to do.

A deleted book is resolved at read time, as the SQL foreign keys resolve it on delete: its
cart lines and wishlist entries are no longer read (the SQL ``ON DELETE CASCADE``), and the
order lines that bought it read ``book_id=None`` with their title and price kept (``ON DELETE
SET NULL``).

Tables (other contexts read them):

- ``orders``: ``{order_id: Order}``, each :class:`OrderLine` stored with ``book=None`` (the
  current book is attached when read); a status change replaces the value.
- ``order_keys``: ``{(user_id, idempotency_key): order_id}`` (the SQL unique index).
- ``cart_items``: ``{item_id: _CartRow}``.
- ``wishlist_items``: ``{item_id: _WishRow}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
from attrs import frozen

from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.catalog.entities import Book, StockChange
from bookshop_core.catalog.errors import BookNotFound
from bookshop_core.commerce.entities import (
    BookSummary,
    CartLine,
    NewOrder,
    Order,
    OrderLine,
    OrderQuery,
    OrderStatus,
    ShortLine,
    WishlistItem,
)
from bookshop_core.commerce.errors import (
    CartItemDuplicate,
    OrderCheckoutInProgress,
    OrderInsufficientStock,
    WishlistItemDuplicate,
)
from bookshop_core.kernel.pagination import Page, PageRequest

__all__ = ["MemoryCartRepository", "MemoryOrderRepository", "MemoryWishlistRepository"]


@frozen
class _CartRow:
    id: int
    user_id: int
    book_id: int
    quantity: int
    added_at: datetime
    held_by: int | None = None


@frozen
class _WishRow:
    id: int
    user_id: int
    book_id: int
    added_at: datetime


def _summary(book: Book) -> BookSummary:
    return BookSummary(
        id=book.id,
        title=book.title,
        author=book.author,
        price=book.price,
        cover_image_url=book.cover_image_url,
        stock_quantity=book.stock_quantity,
    )


class MemoryCartRepository:
    """Cart lines by id in the ``cart_items`` table (one per user and book).

    Args:
        store: The shop's in-memory tables.
        journal: The unit of work's undo journal.
    """

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._rows: dict[int, _CartRow] = store.table("cart_items")
        self._books: dict[int, Book] = store.table("books")
        self._orders: dict[int, Order] = store.table("orders")
        self._journal = journal

    def _line(self, row: _CartRow) -> CartLine | None:
        book = self._books.get(row.book_id)
        if book is None:  # the book was deleted: its cart lines went with it
            return None
        return CartLine(
            id=row.id,
            user_id=row.user_id,
            book_id=row.book_id,
            quantity=row.quantity,
            added_at=row.added_at,
            book=_summary(book),
            held_by=row.held_by,
        )

    def _live(self) -> list[_CartRow]:
        """Every row whose book still exists."""
        return [row for row in self._rows.values() if row.book_id in self._books]

    def _put(self, row: _CartRow) -> CartLine:
        self._journal.put(self._rows, row.id, row)
        line = self._line(row)
        assert line is not None
        return line

    async def lines(self, user_id: int, *, lock: bool = False) -> Sequence[CartLine]:
        """The user's lines by book id (``lock`` needs nothing: writers are serialised)."""
        rows = sorted((r for r in self._live() if r.user_id == user_id), key=lambda r: r.book_id)
        return [line for line in map(self._line, rows) if line is not None]

    async def get(self, item_id: int) -> CartLine | None:
        """The line with this id, unless it or its book is gone."""
        row = self._rows.get(item_id)
        return None if row is None else self._line(row)

    async def add(
        self, user_id: int, book_id: int, quantity: int, *, added_at: datetime
    ) -> CartLine:
        """A new line; ``CART_ITEM_DUPLICATE`` when the user's cart has the book."""
        if book_id not in self._books:
            raise BookNotFound(f"Book {book_id} not found")  # the SQL foreign key
        if any(r.user_id == user_id and r.book_id == book_id for r in self._live()):
            raise CartItemDuplicate()
        row = _CartRow(
            id=self._store.next_id("cart_items"),
            user_id=user_id,
            book_id=book_id,
            quantity=quantity,
            added_at=added_at,
        )
        return self._put(row)

    async def set_quantity(self, item_id: int, quantity: int) -> CartLine | None:
        """The line with its new quantity; ``None`` when it is gone."""
        row = self._rows.get(item_id)
        if row is None or row.book_id not in self._books:
            return None
        return self._put(attrs.evolve(row, quantity=quantity))

    async def remove(self, item_id: int) -> bool:
        """``False`` when the line (or its book) was gone."""
        row = self._rows.get(item_id)
        if row is None or row.book_id not in self._books:
            return False
        self._journal.remove(self._rows, item_id)
        return True

    async def hold(self, user_id: int, order_id: int) -> None:
        """The user's unheld lines of the books the order bought, now held by it (a line
        added since the order was written stays a plain line, as on SQL)."""
        order = self._orders.get(order_id)
        bought = set() if order is None else {line.book_id for line in order.items}
        for row in self._live():
            if row.user_id == user_id and row.held_by is None and row.book_id in bought:
                self._journal.put(self._rows, row.id, attrs.evolve(row, held_by=order_id))

    async def release(self, order_id: int) -> None:
        """The order's held lines, plain cart lines again."""
        for row in list(self._rows.values()):
            if row.held_by == order_id:
                self._journal.put(self._rows, row.id, attrs.evolve(row, held_by=None))

    async def remove_held(self, order_id: int) -> None:
        """The order's held lines, deleted."""
        for row in list(self._rows.values()):
            if row.held_by == order_id:
                self._journal.remove(self._rows, row.id)


def _matches(order: Order, query: OrderQuery) -> bool:
    if order.status is OrderStatus.PENDING:  # internal: never listed
        return False
    if query.user_id is not None and order.user_id != query.user_id:
        return False
    if query.status is not None and order.status is not query.status:
        return False
    if query.created_from is not None and order.created_at < query.created_from:
        return False
    return query.created_to is None or order.created_at < query.created_to


class MemoryOrderRepository:
    """Orders by id in the ``orders`` table, their idempotency keys in ``order_keys``; the
    stock they take and give back is the catalog's ``books`` table.

    Args:
        store: The shop's in-memory tables.
        journal: The unit of work's undo journal.
    """

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._orders: dict[int, Order] = store.table("orders")
        self._keys: dict[tuple[int, str], int] = store.table("order_keys")
        self._books: dict[int, Book] = store.table("books")
        self._journal = journal

    def _entity(self, order: Order) -> Order:
        """The stored order with each line's book as it is now (``book_id`` ``None`` once
        the book is deleted, as the SQL foreign key's ``SET NULL`` makes it)."""
        items = []
        for line in order.items:
            book = None if line.book_id is None else self._books.get(line.book_id)
            if book is None:
                items.append(attrs.evolve(line, book_id=None, book=None))
            else:
                items.append(attrs.evolve(line, book=_summary(book)))
        return attrs.evolve(order, items=items)

    async def add_pending(self, order: NewOrder) -> Order:
        """A pending order; its lines' quantities taken from the books' stock.

        Raises:
            Conflict: ``ORDER_CHECKOUT_IN_PROGRESS`` (the user used the key already);
                ``ORDER_INSUFFICIENT_STOCK`` when a stock would go below 0 (the SQL ``CHECK``;
                the caller checked under lock, so it does not happen).
            NotFound: ``BOOK_NOT_FOUND`` for a line whose book is gone (the foreign key).
        """
        key = None if order.idempotency_key is None else (order.user_id, order.idempotency_key)
        if key is not None and key in self._keys:
            raise OrderCheckoutInProgress()
        books = []
        for line in order.lines:
            book = self._books.get(line.book_id)
            if book is None:
                raise BookNotFound(f"Book {line.book_id} not found")
            books.append(book)
        short = [
            ShortLine(book.id, book.title, line.quantity, book.stock_quantity)
            for line, book in zip(order.lines, books, strict=True)
            if line.quantity > book.stock_quantity
        ]
        if short:
            raise OrderInsufficientStock(short)
        for line, book in zip(order.lines, books, strict=True):
            taken = attrs.evolve(book, stock_quantity=book.stock_quantity - line.quantity)
            self._journal.put(self._books, book.id, taken)
        stored = Order(
            id=self._store.next_id("orders"),
            user_id=order.user_id,
            status=OrderStatus.PENDING,
            created_at=order.created_at,
            updated_at=order.created_at,
            items=[
                OrderLine(
                    id=self._store.next_id("order_items"),
                    book_id=line.book_id,
                    title=line.title,
                    author=line.author,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for line in sorted(order.lines, key=lambda line: line.book_id)
            ],
            total=order.total,
            idempotency_key=order.idempotency_key,
            cart_fingerprint=order.cart_fingerprint,
        )
        self._journal.put(self._orders, stored.id, stored)
        if key is not None:
            self._journal.put(self._keys, key, stored.id)
        return self._entity(stored)

    async def get(self, order_id: int) -> Order | None:
        """The order with this id (any status)."""
        order = self._orders.get(order_id)
        return None if order is None else self._entity(order)

    async def find_by_key(self, user_id: int, idempotency_key: str) -> Order | None:
        """The user's order made with this key."""
        order_id = self._keys.get((user_id, idempotency_key))
        return None if order_id is None else await self.get(order_id)

    async def transition(
        self,
        order_id: int,
        *,
        from_: frozenset[OrderStatus],
        to: OrderStatus,
        now: datetime,
        payment_reference: str | None = None,
        failure_reason: str | None = None,
        items: Sequence[OrderLine] | None = None,
    ) -> Order | None:
        """The order moved to ``to``; ``None`` when missing or not in a ``from_`` status.
        ``items`` given: the moved order carries them, as given."""
        order = self._orders.get(order_id)
        if order is None or order.status not in from_:
            return None
        moved = attrs.evolve(
            order,
            status=to,
            updated_at=now,
            payment_reference=payment_reference or order.payment_reference,
            failure_reason=failure_reason or order.failure_reason,
        )
        self._journal.put(self._orders, order_id, moved)
        if items is not None:
            return attrs.evolve(moved, items=tuple(items))
        return self._entity(moved)

    async def return_stock(self, order_id: int) -> Sequence[StockChange]:
        """Each line's quantity back on its book (deleted books skipped), by book id."""
        order = self._orders.get(order_id)
        if order is None:
            return []
        returned: dict[int, int] = {}
        for line in order.items:
            if line.book_id is not None and line.book_id in self._books:
                returned[line.book_id] = returned.get(line.book_id, 0) + line.quantity
        changes = []
        for book_id in sorted(returned):
            book = self._books[book_id]
            after = book.stock_quantity + returned[book_id]
            self._journal.put(self._books, book_id, attrs.evolve(book, stock_quantity=after))
            changes.append(StockChange(book_id, book.stock_quantity, after))
        return changes

    async def list(self, query: OrderQuery, page: PageRequest) -> Page[Order]:
        """One page of the matching orders (never pending), newest first, then by id."""
        found = sorted(
            (o for o in self._orders.values() if _matches(o, query)),
            key=lambda o: (o.created_at, o.id),
            reverse=True,
        )
        chosen = found[page.offset : page.offset + page.limit]
        return Page.of([self._entity(o) for o in chosen], len(found), page)

    async def pending_before(self, cutoff: datetime, limit: int) -> Sequence[int]:
        """Up to ``limit`` ids of orders pending since before ``cutoff``, oldest first."""
        stale = sorted(
            (
                o
                for o in self._orders.values()
                if o.status is OrderStatus.PENDING and o.created_at < cutoff
            ),
            key=lambda o: (o.created_at, o.id),
        )
        return [o.id for o in stale[:limit]]


class MemoryWishlistRepository:
    """Wishlist entries by id in the ``wishlist_items`` table (one per user and book).

    Args:
        store: The shop's in-memory tables.
        journal: The unit of work's undo journal.
    """

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._rows: dict[int, _WishRow] = store.table("wishlist_items")
        self._books: dict[int, Book] = store.table("books")
        self._journal = journal

    def _item(self, row: _WishRow) -> WishlistItem | None:
        book = self._books.get(row.book_id)
        if book is None:  # the book was deleted: its entries went with it
            return None
        return WishlistItem(
            id=row.id,
            user_id=row.user_id,
            book_id=row.book_id,
            added_at=row.added_at,
            book=_summary(book),
        )

    def _find(self, user_id: int, book_id: int) -> _WishRow | None:
        if book_id not in self._books:
            return None
        return next(
            (r for r in self._rows.values() if r.user_id == user_id and r.book_id == book_id),
            None,
        )

    async def add(self, user_id: int, book_id: int, *, added_at: datetime) -> WishlistItem | None:
        """A new entry; ``None`` when the book does not exist.

        Raises:
            Conflict: ``WISHLIST_ITEM_DUPLICATE``.
        """
        if book_id not in self._books:
            return None
        if self._find(user_id, book_id) is not None:
            raise WishlistItemDuplicate()
        row = _WishRow(
            id=self._store.next_id("wishlist_items"),
            user_id=user_id,
            book_id=book_id,
            added_at=added_at,
        )
        self._journal.put(self._rows, row.id, row)
        return self._item(row)

    async def remove(self, user_id: int, book_id: int) -> bool:
        """``False`` when the user had no entry of the book."""
        row = self._find(user_id, book_id)
        if row is None:
            return False
        self._journal.remove(self._rows, row.id)
        return True

    async def list_for_user(self, user_id: int) -> Sequence[WishlistItem]:
        """The user's entries, newest first (``added_at``, then id)."""
        rows = sorted(
            (r for r in self._rows.values() if r.user_id == user_id),
            key=lambda r: (r.added_at, r.id),
            reverse=True,
        )
        return [item for item in map(self._item, rows) if item is not None]
