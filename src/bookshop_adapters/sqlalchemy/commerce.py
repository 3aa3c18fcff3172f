"""SQL repositories of the commerce context: cart lines, orders, wishlist entries.

Their observable behaviour is the in-memory reference model's (``bookshop_adapters.memory``);
the contract suite runs both.

Statement budgets (whatever the number of lines):

- carts: every method is one statement.
- orders: ``add_pending`` one on PostgreSQL (the order, its lines and the stock in one
  statement of data-modifying ``WITH`` queries, the lines as arrays), three on SQLite (the
  order, its lines as one ``INSERT`` per 500 lines, one stock ``UPDATE`` for every line);
  one more read only when the stock fails its guard;
  ``get``/``find_by_key`` one (the order joined with its lines); ``transition`` two (a
  conditional ``UPDATE ... RETURNING``, then the lines), one when the caller gives the
  lines; ``return_stock`` one; ``list`` three (the page, its exact count, every line of the
  page); ``pending_before`` one.
- wishlist: every method is one statement.

Race safety (PostgreSQL at READ COMMITTED; SQLite's writers are serialised by ``BEGIN
IMMEDIATE``, so the clauses below compile to nothing there):

- ``carts.lines(lock=True)`` runs ``SELECT ... FROM books JOIN cart_items ... ORDER BY
  book_id FOR UPDATE OF books, cart_items``. PostgreSQL locks rows after sorting them, one
  output row at a time and, for each, the tables in the order of the ``OF`` list: every
  checkout takes its books' locks in book id order (a book's row before its cart line, the
  order a book deletion's cascade takes them in too), so two checkouts holding the same books
  in opposite cart orders queue instead of deadlocking, and no retry is needed.
- Every statement that writes several books' stock (``add_pending``, ``return_stock``) locks
  them in book id order first, in the same statement (an ordered ``FOR UPDATE`` sub-select
  the ``UPDATE`` joins), since a plain multi-row ``UPDATE`` locks in scan order.
- ``add_pending``'s stock ``UPDATE`` is guarded (``stock_quantity >= quantity``) and the
  ``CHECK (stock_quantity >= 0)`` backs it: stock never goes negative.
- ``carts.hold`` holds only the lines of books the order bought: a line added from another
  tab while the checkout ran stays in the cart.
- Two checkouts with one idempotency key: the unique index ``uq_orders_user_id_
  idempotency_key`` lets one insert commit (``CONSTRAINT_ERRORS`` translates the other's).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)

from bookshop_adapters.sqlalchemy.catalog import BATCH_SIZE
from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import (
    BookRow,
    CartItemRow,
    OrderItemRow,
    OrderRow,
    WishlistItemRow,
    table_of,
)
from bookshop_adapters.sqlalchemy.types import UTCDateTime
from bookshop_core.catalog.entities import StockChange
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
from bookshop_core.commerce.errors import OrderInsufficientStock
from bookshop_core.kernel.money import cents_to_money, money_to_cents
from bookshop_core.kernel.pagination import Page, PageRequest

__all__ = ["SqlCartRepository", "SqlOrderRepository", "SqlWishlistRepository"]

_books: Final = table_of(BookRow)
_carts: Final = table_of(CartItemRow)
_orders: Final = table_of(OrderRow)
_items: Final = table_of(OrderItemRow)
_wishlist: Final = table_of(WishlistItemRow)

_PENDING: Final = OrderStatus.PENDING.value

# -- books as lines show them ----------------------------------------------------------------

#: The book's columns a :class:`BookSummary` reads (its id comes from the line).
_BOOK_SUMMARY: Final = (
    _books.c.title.label("book_title"),
    _books.c.author.label("book_author"),
    _books.c.price_cents.label("book_price_cents"),
    _books.c.cover_image_url.label("book_cover_image_url"),
    _books.c.stock_quantity.label("book_stock_quantity"),
)


def _book_returning(table: str) -> tuple[ColumnElement[Any], ...]:
    """The :data:`_BOOK_SUMMARY` columns of the book of the row an ``INSERT``/``UPDATE`` on
    ``table`` writes, for its ``RETURNING`` clause.

    ``RETURNING`` may name only the written table's columns: the book's come from correlated
    scalar sub-selects, spelled out because SQLAlchemy renders ``RETURNING`` columns
    unqualified, which would leave ``id`` ambiguous inside them.
    """

    def of_book(column: str, type_: Any, label: str) -> ColumnElement[Any]:
        sql = f"(SELECT books.{column} FROM books WHERE books.id = {table}.book_id)"
        return literal_column(sql, type_).label(label)

    return (
        of_book("title", String(), "book_title"),
        of_book("author", String(), "book_author"),
        of_book("price_cents", BigInteger(), "book_price_cents"),
        of_book("cover_image_url", String(), "book_cover_image_url"),
        of_book("stock_quantity", Integer(), "book_stock_quantity"),
    )


def _summary(book_id: int, row: Row[Any]) -> BookSummary:
    return BookSummary(
        id=book_id,
        title=row.book_title,
        author=row.book_author,
        price=cents_to_money(row.book_price_cents),
        cover_image_url=row.book_cover_image_url,
        stock_quantity=row.book_stock_quantity,
    )


# -- cart ------------------------------------------------------------------------------------

_CART_COLUMNS: Final = (
    _carts.c.id,
    _carts.c.user_id,
    _carts.c.book_id,
    _carts.c.quantity,
    _carts.c.added_at,
    _carts.c.held_by_order_id,
)
_CART_RETURNING: Final = (*_CART_COLUMNS, *_book_returning("cart_items"))

#: Cart lines joined with their books (books first: see the module's docstring on locks).
_CART_JOINED: Final = select(*_CART_COLUMNS, *_BOOK_SUMMARY).select_from(
    _books.join(_carts, _carts.c.book_id == _books.c.id)
)

#: ``carts.lines``: a user's lines by book id.
_CART_LINES: Final = _CART_JOINED.where(_carts.c.user_id == bindparam("user_id")).order_by(
    _carts.c.book_id
)

#: ``carts.lines(lock=True)``: the same, each book's row then its line locked, in book id
#: order (PostgreSQL; SQLite drops the clause).
_CART_LINES_LOCKED: Final = _CART_LINES.with_for_update(of=[_books, _carts])

_GET_CART_LINE: Final = _CART_JOINED.where(_carts.c.id == bindparam("item_id"))

#: ``carts.add``: inserts only when the book exists (no foreign key error to translate).
_ADD_CART_LINE: Final = (
    insert(_carts)
    .from_select(
        ["user_id", "book_id", "quantity", "added_at"],
        select(
            bindparam("new_user_id", type_=BigInteger()),
            _books.c.id,
            bindparam("new_quantity", type_=Integer()),
            bindparam("new_added_at", type_=UTCDateTime()),
        ).where(_books.c.id == bindparam("new_book_id")),
    )
    .returning(*_CART_RETURNING)
)

_SET_CART_QUANTITY: Final = (
    update(_carts)
    .where(_carts.c.id == bindparam("item_id"))
    .values(quantity=bindparam("new_quantity"))
    .returning(*_CART_RETURNING)
)

_REMOVE_CART_LINE: Final = delete(_carts).where(_carts.c.id == bindparam("item_id"))

#: ``carts.hold``: the user's free lines of the books the order bought.
_HOLD_CART: Final = (
    update(_carts)
    .where(
        _carts.c.user_id == bindparam("owner_id"),
        _carts.c.held_by_order_id.is_(None),
        _carts.c.book_id.in_(
            select(_items.c.book_id).where(_items.c.order_id == bindparam("order_id"))
        ),
    )
    .values(held_by_order_id=bindparam("order_id"))
)

#: The lines an order holds, row-locked in book id order (PostgreSQL), so that releasing or
#: deleting them takes the locks in the order a concurrent checkout of the same cart (another
#: tab) takes them: in any order, the two could deadlock.
_HELD_LINES: Final = (
    select(_carts.c.id)
    .where(_carts.c.held_by_order_id == bindparam("order_id"))
    .order_by(_carts.c.book_id)
    .with_for_update()
)

_RELEASE_CART: Final = (
    update(_carts).where(_carts.c.id.in_(_HELD_LINES)).values(held_by_order_id=None)
)

_REMOVE_HELD: Final = delete(_carts).where(_carts.c.id.in_(_HELD_LINES))


def _cart_line(row: Row[Any]) -> CartLine:
    return CartLine(
        id=row.id,
        user_id=row.user_id,
        book_id=row.book_id,
        quantity=row.quantity,
        added_at=row.added_at,
        book=_summary(row.book_id, row),
        held_by=row.held_by_order_id,
    )


class SqlCartRepository(SqlRepository):
    """Cart lines in ``cart_items``: one per user and book (``uq_cart_items_user_id_book_id``,
    translated to ``CART_ITEM_DUPLICATE``)."""

    async def lines(self, user_id: int, *, lock: bool = False) -> Sequence[CartLine]:
        """The user's lines with their books, by book id (one statement; see the module's
        docstring for the lock order)."""
        statement = _CART_LINES_LOCKED if lock else _CART_LINES
        rows = await self._execute(statement, {"user_id": user_id})
        return [_cart_line(row) for row in rows]

    async def get(self, item_id: int) -> CartLine | None:
        row = (await self._execute(_GET_CART_LINE, {"item_id": item_id})).one_or_none()
        return None if row is None else _cart_line(row)

    async def add(
        self, user_id: int, book_id: int, quantity: int, *, added_at: datetime
    ) -> CartLine:
        """Insert the line (one statement).

        Raises:
            CartItemDuplicate: the cart has the book already.
            BookNotFound: the book was deleted since the caller read it.
        """
        parameters = {
            "new_user_id": user_id,
            "new_book_id": book_id,
            "new_quantity": quantity,
            "new_added_at": added_at,
        }
        row = (await self._execute(_ADD_CART_LINE, parameters)).one_or_none()
        if row is None:
            raise BookNotFound(f"Book {book_id} not found")
        return _cart_line(row)

    async def set_quantity(self, item_id: int, quantity: int) -> CartLine | None:
        parameters = {"item_id": item_id, "new_quantity": quantity}
        row = (await self._execute(_SET_CART_QUANTITY, parameters)).one_or_none()
        return None if row is None else _cart_line(row)

    async def remove(self, item_id: int) -> bool:
        result = await self._execute(_REMOVE_CART_LINE, {"item_id": item_id})
        return result.rowcount > 0

    async def hold(self, user_id: int, order_id: int) -> None:
        await self._execute(_HOLD_CART, {"owner_id": user_id, "order_id": order_id})

    async def release(self, order_id: int) -> None:
        await self._execute(_RELEASE_CART, {"order_id": order_id})

    async def remove_held(self, order_id: int) -> None:
        await self._execute(_REMOVE_HELD, {"order_id": order_id})


# -- orders ----------------------------------------------------------------------------------

_ORDER_COLUMNS: Final = (
    _orders.c.id,
    _orders.c.user_id,
    _orders.c.status,
    _orders.c.total_cents,
    _orders.c.created_at,
    _orders.c.updated_at,
    _orders.c.idempotency_key,
    _orders.c.cart_fingerprint,
    _orders.c.payment_reference,
    _orders.c.failure_reason,
)

#: An order line and its book as it is now (``book_ref`` is NULL once the book is deleted).
_LINE_COLUMNS: Final = (
    _items.c.id.label("item_id"),
    _items.c.order_id.label("item_order_id"),
    _items.c.book_id.label("item_book_id"),
    _items.c.title.label("item_title"),
    _items.c.author.label("item_author"),
    _items.c.quantity.label("item_quantity"),
    _items.c.unit_price_cents.label("item_unit_price_cents"),
    _books.c.id.label("book_ref"),
    *_BOOK_SUMMARY,
)

_lines_with_books: Final = _items.outerjoin(_books, _books.c.id == _items.c.book_id)

#: An order with its lines, one row per line (``get``, ``find_by_key``).
_ORDER_JOINED: Final = select(*_ORDER_COLUMNS, *_LINE_COLUMNS).select_from(
    _orders.outerjoin(_lines_with_books, _items.c.order_id == _orders.c.id)
)

_GET_ORDER: Final = _ORDER_JOINED.where(_orders.c.id == bindparam("order_id")).order_by(_items.c.id)

_FIND_BY_KEY: Final = _ORDER_JOINED.where(
    _orders.c.user_id == bindparam("user_id"),
    _orders.c.idempotency_key == bindparam("idempotency_key"),
).order_by(_items.c.id)

#: The lines of several orders (a page of a listing, a transitioned order).
_LINES_OF: Final = (
    select(*_LINE_COLUMNS)
    .select_from(_lines_with_books)
    .where(_items.c.order_id.in_(bindparam("order_ids", expanding=True)))
    .order_by(_items.c.order_id, _items.c.id)
)

_INSERT_ORDER: Final = insert(_orders).returning(_orders.c.id)

#: ``add_pending``'s lines: built once and executed with a list of rows, which SQLAlchemy
#: sends as multi-row ``INSERT ... VALUES`` batches ("insertmanyvalues", one statement per
#: batch, compiled once); ``RETURNING`` the ids in the rows' order.
_INSERT_LINES: Final = insert(_items).returning(_items.c.id)

#: Each book of the order once, with the quantity the order moves.
_moved: Final = (
    select(_items.c.book_id, func.sum(_items.c.quantity).label("quantity"))
    .where(_items.c.order_id == bindparam("order_id"), _items.c.book_id.is_not(None))
    .group_by(_items.c.book_id)
    .subquery("moved")
)

#: The order's books, row-locked in book id order (PostgreSQL: the sub-select sorts, then
#: locks; a plain multi-row ``UPDATE`` would lock in whatever order it scans), with the
#: quantity to move.
_locked: Final = (
    select(_books.c.id, _moved.c.quantity)
    .join_from(_books, _moved, _moved.c.book_id == _books.c.id)
    .order_by(_books.c.id)
    .with_for_update(of=_books)
    .subquery("locked")
)

#: ``add_pending``: take every line's quantity from its book, where the stock covers it.
#: ``RETURNING`` the books as they are now (the order's lines show them).
_TAKE_STOCK: Final = (
    update(_books)
    .where(_books.c.id == _locked.c.id, _books.c.stock_quantity >= _locked.c.quantity)
    .values(stock_quantity=_books.c.stock_quantity - _locked.c.quantity)
    .returning(_books.c.id, *_BOOK_SUMMARY)
)

#: ``add_pending`` on PostgreSQL: the order, its lines and the stock taken in one statement
#: (data-modifying ``WITH`` queries; the lines arrive as one array per column, so the
#: statement is the same for any number of lines). The stock is taken as in
#: :data:`_TAKE_STOCK`: every book of the order row-locked in book id order, then guarded.
#: One row per book whose stock was taken (one with NULL book columns when none was): the
#: order's id, and its line ids in line order (identity values follow the ``ORDER BY``).
_ADD_PENDING_AT_ONCE: Final = text(
    """
WITH new_order AS (
    INSERT INTO orders (user_id, status, total_cents, created_at, updated_at,
                        idempotency_key, cart_fingerprint)
    VALUES (:user_id, :status, :total_cents, :created_at, :created_at,
            :idempotency_key, :cart_fingerprint)
    RETURNING id
), new_lines AS (
    INSERT INTO order_items (order_id, book_id, title, author, quantity, unit_price_cents)
    SELECT new_order.id, line.book_id, line.title, line.author, line.quantity, line.price
    FROM new_order, unnest(
        CAST(:book_ids AS BIGINT[]), CAST(:titles AS VARCHAR[]), CAST(:authors AS VARCHAR[]),
        CAST(:quantities AS INTEGER[]), CAST(:prices AS BIGINT[])
    ) WITH ORDINALITY AS line(book_id, title, author, quantity, price, n)
    ORDER BY line.n
    RETURNING id
), moved AS (
    SELECT book_id, sum(quantity) AS quantity
    FROM unnest(CAST(:book_ids AS BIGINT[]), CAST(:quantities AS INTEGER[]))
        AS line(book_id, quantity)
    GROUP BY book_id
), locked AS (
    SELECT books.id, moved.quantity
    FROM books JOIN moved ON moved.book_id = books.id
    ORDER BY books.id
    FOR UPDATE OF books
), taken AS (
    UPDATE books SET stock_quantity = books.stock_quantity - locked.quantity
    FROM locked
    WHERE books.id = locked.id AND books.stock_quantity >= locked.quantity
    RETURNING books.id, books.title AS book_title, books.author AS book_author,
        books.price_cents AS book_price_cents,
        books.cover_image_url AS book_cover_image_url,
        books.stock_quantity AS book_stock_quantity
)
SELECT new_order.id AS order_id,
    (SELECT array_agg(new_lines.id ORDER BY new_lines.id) FROM new_lines) AS line_ids,
    taken.*
FROM new_order LEFT JOIN taken ON true
"""
).bindparams(bindparam("created_at", type_=UTCDateTime()))

#: The quantity ``return_stock`` gave each book, for its ``RETURNING`` (SQLite refuses the
#: ``FROM`` sub-select's columns there; see :func:`_book_returning` for the spelling).
_RETURNED_QUANTITY: Final = (
    select(func.sum(literal_column("order_items.quantity", Integer())))
    .select_from(text("order_items"))
    .where(
        literal_column("order_items.order_id") == bindparam("order_id"),
        literal_column("order_items.book_id") == literal_column("books.id"),
    )
    .scalar_subquery()
).label("returned")

_GIVE_BACK_STOCK: Final = (
    update(_books)
    .where(_books.c.id == _locked.c.id)
    .values(stock_quantity=_books.c.stock_quantity + _locked.c.quantity)
    .returning(_books.c.id, _books.c.stock_quantity, _RETURNED_QUANTITY)
)

_STOCK_OF: Final = select(_books.c.id, _books.c.stock_quantity).where(
    _books.c.id.in_(bindparam("book_ids", expanding=True))
)

_PENDING_BEFORE: Final = (
    select(_orders.c.id)
    .where(_orders.c.status == _PENDING, _orders.c.created_at < bindparam("cutoff"))
    .order_by(_orders.c.created_at, _orders.c.id)
    .limit(bindparam("limit"))
)


@functools.cache
def _transition_statement(reference: bool, reason: bool, sources: int) -> Any:
    """``transition``'s conditional ``UPDATE``, writing the optional columns given, from one
    of ``sources`` statuses (bound as ``from_0``, ``from_1``, ...: plain parameters, which
    unlike an expanding ``IN`` need no rendering per call)."""
    values: dict[str, Any] = {"status": bindparam("to"), "updated_at": bindparam("now")}
    if reference:
        values["payment_reference"] = bindparam("new_payment_reference")
    if reason:
        values["failure_reason"] = bindparam("new_failure_reason")
    return (
        update(_orders)
        .where(
            _orders.c.id == bindparam("order_id"),
            _orders.c.status.in_([bindparam(f"from_{n}") for n in range(sources)]),
        )
        .values(values)
        .returning(*_ORDER_COLUMNS)
    )


class _ListShape(NamedTuple):
    """Which filters an order listing uses."""

    user: bool
    status: bool
    created_from: bool
    created_to: bool


@functools.cache
def _list_statements(shape: _ListShape) -> tuple[Select[Any], Select[Any]]:
    """The page and count statements of an order listing of this shape, with bound
    parameters ``user_id``, ``status``, ``created_from``, ``created_to``, ``limit``,
    ``offset``. Pending orders are never listed."""
    conditions: list[ColumnElement[bool]] = [_orders.c.status != _PENDING]
    if shape.user:
        conditions.append(_orders.c.user_id == bindparam("user_id"))
    if shape.status:
        conditions.append(_orders.c.status == bindparam("status"))
    if shape.created_from:
        conditions.append(_orders.c.created_at >= bindparam("created_from"))
    if shape.created_to:
        conditions.append(_orders.c.created_at < bindparam("created_to"))
    page = (
        select(*_ORDER_COLUMNS)
        .where(*conditions)
        .order_by(_orders.c.created_at.desc(), _orders.c.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    count = select(func.count()).select_from(_orders).where(*conditions)
    return page, count


def _order_line(row: Row[Any]) -> OrderLine:
    return OrderLine(
        id=row.item_id,
        book_id=row.item_book_id,
        title=row.item_title,
        author=row.item_author,
        quantity=row.item_quantity,
        unit_price=cents_to_money(row.item_unit_price_cents),
        book=None if row.book_ref is None else _summary(row.book_ref, row),
    )


def _order(row: Row[Any], lines: Iterable[OrderLine]) -> Order:
    return Order(
        id=row.id,
        user_id=row.user_id,
        status=OrderStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        items=tuple(lines),
        total=cents_to_money(row.total_cents),
        idempotency_key=row.idempotency_key,
        cart_fingerprint=row.cart_fingerprint,
        payment_reference=row.payment_reference,
        failure_reason=row.failure_reason,
    )


def _joined_order(rows: Sequence[Row[Any]]) -> Order | None:
    """The order of :data:`_ORDER_JOINED` rows (one per line), or ``None`` for no rows."""
    if not rows:
        return None
    return _order(rows[0], (_order_line(row) for row in rows if row.item_id is not None))


class SqlOrderRepository(SqlRepository):
    """Orders in ``orders`` and their lines in ``order_items``; money in cents."""

    async def add_pending(self, order: NewOrder) -> Order:
        """Insert the order and its lines, and take the stock (one statement on PostgreSQL,
        three on SQLite).

        Raises:
            OrderCheckoutInProgress: another checkout with the same idempotency key wrote
                its order first.
            OrderInsufficientStock: a book's stock does not cover its line (the caller
                checked it under lock, so only a caller that did not lock sees it).
        """
        total_cents = sum(money_to_cents(line.unit_price) * line.quantity for line in order.lines)
        if self._dialect_name == "postgresql":
            order_id, line_ids, books = await self._add_pending_at_once(order, total_cents)
        else:
            order_id, line_ids, books = await self._add_pending_in_steps(order, total_cents)
        wanted = {line.book_id for line in order.lines}
        if books.keys() != wanted:
            await self._refuse_short(order, wanted - books.keys())
        lines = [
            OrderLine(
                id=line_id,
                book_id=line.book_id,
                title=line.title,
                author=line.author,
                quantity=line.quantity,
                unit_price=line.unit_price,
                book=books.get(line.book_id),
            )
            for line_id, line in zip(line_ids, order.lines, strict=True)
        ]
        return Order(
            id=order_id,
            user_id=order.user_id,
            status=OrderStatus.PENDING,
            created_at=order.created_at,
            updated_at=order.created_at,
            items=lines,
            total=cents_to_money(total_cents),
            idempotency_key=order.idempotency_key,
            cart_fingerprint=order.cart_fingerprint,
        )

    async def _add_pending_at_once(
        self, order: NewOrder, total_cents: int
    ) -> tuple[int, list[int], dict[int, BookSummary]]:
        """PostgreSQL: :data:`_ADD_PENDING_AT_ONCE` (one statement); the order's id, its
        line ids in line order, and the books whose stock was taken."""
        lines = order.lines
        rows = (
            await self._execute(
                _ADD_PENDING_AT_ONCE,
                {
                    "user_id": order.user_id,
                    "status": _PENDING,
                    "total_cents": total_cents,
                    "created_at": order.created_at,
                    "idempotency_key": order.idempotency_key,
                    "cart_fingerprint": order.cart_fingerprint,
                    "book_ids": [line.book_id for line in lines],
                    "titles": [line.title for line in lines],
                    "authors": [line.author for line in lines],
                    "quantities": [line.quantity for line in lines],
                    "prices": [money_to_cents(line.unit_price) for line in lines],
                },
            )
        ).all()
        books = {row.id: _summary(row.id, row) for row in rows if row.id is not None}
        return rows[0].order_id, list(rows[0].line_ids or ()), books

    async def _add_pending_in_steps(
        self, order: NewOrder, total_cents: int
    ) -> tuple[int, list[int], dict[int, BookSummary]]:
        """SQLite (no data-modifying ``WITH``): the order, its lines, the stock (three
        statements); the order's id, its line ids in line order, and the books whose stock
        was taken."""
        result = await self._execute(
            _INSERT_ORDER,
            {
                "user_id": order.user_id,
                "status": _PENDING,
                "total_cents": total_cents,
                "created_at": order.created_at,
                "updated_at": order.created_at,
                "idempotency_key": order.idempotency_key,
                "cart_fingerprint": order.cart_fingerprint,
                "payment_reference": None,
                "failure_reason": None,
            },
        )
        order_id: int = result.scalar_one()
        line_ids = await self._insert_lines(order_id, order)
        books = {
            row.id: _summary(row.id, row)
            for row in await self._execute(_TAKE_STOCK, {"order_id": order_id})
        }
        return order_id, line_ids, books

    async def _insert_lines(self, order_id: int, order: NewOrder) -> list[int]:
        """Insert the order's lines (one prebuilt ``INSERT`` executed with every line: one
        statement per :data:`BATCH_SIZE` lines); their ids in the order of ``order.lines``."""
        ids: list[int] = []
        for start in range(0, len(order.lines), BATCH_SIZE):
            rows = [
                {
                    "order_id": order_id,
                    "book_id": line.book_id,
                    "title": line.title,
                    "author": line.author,
                    "quantity": line.quantity,
                    "unit_price_cents": money_to_cents(line.unit_price),
                }
                for line in order.lines[start : start + BATCH_SIZE]
            ]
            # Both backends number the rows of one statement in VALUES order, and the batches
            # run in turn; RETURNING follows no order.
            ids.extend(sorted((await self._execute(_INSERT_LINES, rows)).scalars()))
        return ids

    async def _refuse_short(self, order: NewOrder, short_books: set[int]) -> None:
        """Raise ``ORDER_INSUFFICIENT_STOCK`` for the lines whose stock did not cover them
        (one read; the transaction must be rolled back)."""
        rows = await self._execute(_STOCK_OF, {"book_ids": sorted(short_books)})
        stock = {row.id: row.stock_quantity for row in rows}
        raise OrderInsufficientStock(
            [
                ShortLine(line.book_id, line.title, line.quantity, stock.get(line.book_id, 0))
                for line in order.lines
                if line.book_id in short_books
            ]
        )

    async def get(self, order_id: int) -> Order | None:
        rows = (await self._execute(_GET_ORDER, {"order_id": order_id})).all()
        return _joined_order(rows)

    async def find_by_key(self, user_id: int, idempotency_key: str) -> Order | None:
        parameters = {"user_id": user_id, "idempotency_key": idempotency_key}
        rows = (await self._execute(_FIND_BY_KEY, parameters)).all()
        return _joined_order(rows)

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
        """One conditional ``UPDATE ... RETURNING``, then the lines unless ``items`` are
        given (two statements, or one)."""
        if not from_:
            return None
        statement = _transition_statement(
            payment_reference is not None, failure_reason is not None, len(from_)
        )
        parameters: dict[str, Any] = {
            "order_id": order_id,
            "to": to.value,
            "now": now,
            "new_payment_reference": payment_reference,
            "new_failure_reason": failure_reason,
        }
        for n, status in enumerate(sorted(status.value for status in from_)):
            parameters[f"from_{n}"] = status
        row = (await self._execute(statement, parameters)).one_or_none()
        if row is None:
            return None
        if items is None:
            items = (await self._lines_by_order([order_id])).get(order_id, ())
        return _order(row, items)

    async def return_stock(self, order_id: int) -> Sequence[StockChange]:
        """One ``UPDATE`` of every book of the order still in the catalog."""
        rows = await self._execute(_GIVE_BACK_STOCK, {"order_id": order_id})
        changes = [
            StockChange(row.id, row.stock_quantity - row.returned, row.stock_quantity)
            for row in rows
        ]
        return sorted(changes, key=lambda change: change.book_id)

    async def list(self, query: OrderQuery, page: PageRequest) -> Page[Order]:
        """The page, its count, and every line of the page (three statements)."""
        shape = _ListShape(
            user=query.user_id is not None,
            status=query.status is not None,
            created_from=query.created_from is not None,
            created_to=query.created_to is not None,
        )
        page_statement, count_statement = _list_statements(shape)
        parameters: dict[str, Any] = {"limit": page.limit, "offset": page.offset}
        if query.user_id is not None:
            parameters["user_id"] = query.user_id
        if query.status is not None:
            parameters["status"] = query.status.value
        if query.created_from is not None:
            parameters["created_from"] = query.created_from
        if query.created_to is not None:
            parameters["created_to"] = query.created_to
        rows = (await self._execute(page_statement, parameters)).all()
        total: int = (await self._execute(count_statement, parameters)).scalar_one()
        lines = await self._lines_by_order([row.id for row in rows])
        orders = [_order(row, lines.get(row.id, ())) for row in rows]
        return Page.of(orders, total, page)

    async def pending_before(self, cutoff: datetime, limit: int) -> Sequence[int]:
        rows = await self._execute(_PENDING_BEFORE, {"cutoff": cutoff, "limit": limit})
        return list(rows.scalars())

    async def _lines_by_order(self, order_ids: Sequence[int]) -> Mapping[int, Sequence[OrderLine]]:
        """The lines of each order, in one statement (none for no orders)."""
        by_order: dict[int, list[OrderLine]] = {}
        if not order_ids:
            return by_order
        rows = await self._execute(_LINES_OF, {"order_ids": list(order_ids)})
        for row in rows:
            by_order.setdefault(row.item_order_id, []).append(_order_line(row))
        return by_order


# -- wishlist --------------------------------------------------------------------------------

_WISH_COLUMNS: Final = (
    _wishlist.c.id,
    _wishlist.c.user_id,
    _wishlist.c.book_id,
    _wishlist.c.added_at,
)

#: ``wishlist.add``: inserts only when the book exists (``None`` otherwise).
_ADD_WISH: Final = (
    insert(_wishlist)
    .from_select(
        ["user_id", "book_id", "added_at"],
        select(
            bindparam("new_user_id", type_=BigInteger()),
            _books.c.id,
            bindparam("new_added_at", type_=UTCDateTime()),
        ).where(_books.c.id == bindparam("new_book_id")),
    )
    .returning(*_WISH_COLUMNS, *_book_returning("wishlist_items"))
)

_REMOVE_WISH: Final = delete(_wishlist).where(
    _wishlist.c.user_id == bindparam("user_id"), _wishlist.c.book_id == bindparam("book_id")
)

_LIST_WISHES: Final = (
    select(*_WISH_COLUMNS, *_BOOK_SUMMARY)
    .select_from(_wishlist.join(_books, _books.c.id == _wishlist.c.book_id))
    .where(_wishlist.c.user_id == bindparam("user_id"))
    .order_by(_wishlist.c.added_at.desc(), _wishlist.c.id.desc())
)


def _wish(row: Row[Any]) -> WishlistItem:
    return WishlistItem(
        id=row.id,
        user_id=row.user_id,
        book_id=row.book_id,
        added_at=row.added_at,
        book=_summary(row.book_id, row),
    )


class SqlWishlistRepository(SqlRepository):
    """Wishlist entries in ``wishlist_items``: one per user and book
    (``uq_wishlist_items_user_id_book_id``, translated to ``WISHLIST_ITEM_DUPLICATE``)."""

    async def add(self, user_id: int, book_id: int, *, added_at: datetime) -> WishlistItem | None:
        parameters = {"new_user_id": user_id, "new_book_id": book_id, "new_added_at": added_at}
        row = (await self._execute(_ADD_WISH, parameters)).one_or_none()
        return None if row is None else _wish(row)

    async def remove(self, user_id: int, book_id: int) -> bool:
        result = await self._execute(_REMOVE_WISH, {"user_id": user_id, "book_id": book_id})
        return result.rowcount > 0

    async def list_for_user(self, user_id: int) -> Sequence[WishlistItem]:
        rows = await self._execute(_LIST_WISHES, {"user_id": user_id})
        return [_wish(row) for row in rows]
