"""Commerce use cases: the cart, checkout and orders, the wishlist.

Checkout never holds a database lock while the payment gateway answers: it reserves the stock
and writes a ``pending`` order in one transaction (locking the cart's books in book id order,
so concurrent checkouts never deadlock), calls the gateway with no transaction open, then
confirms or fails the order in a second transaction. A pending order left by a crash between
the two is settled by :meth:`Orders.recover_pending`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Protocol

from attrs import field, frozen

from bookshop_core.catalog.entities import BookRestocked
from bookshop_core.catalog.errors import BookNotFound
from bookshop_core.catalog.ports import CatalogUnitOfWork
from bookshop_core.commerce.commands import (
    AddToCart,
    Checkout,
    ListOrders,
    SetOrderStatus,
    SetQuantity,
)
from bookshop_core.commerce.entities import (
    Cart,
    CartLine,
    NewOrder,
    NewOrderLine,
    Order,
    OrderLine,
    OrderQuery,
    OrderStatus,
    ShortLine,
    WishlistItem,
    cart_fingerprint,
)
from bookshop_core.commerce.errors import (
    CartBookOutOfStock,
    CartInsufficientStock,
    CartItemForbidden,
    CartItemNotFound,
    OrderCartEmpty,
    OrderCheckoutInProgress,
    OrderIdempotencyKeyReused,
    OrderInsufficientStock,
    OrderInvalidTransition,
    OrderNotFound,
    OrderPaymentFailed,
    WishlistItemNotFound,
)
from bookshop_core.commerce.ports import (
    CommerceUnitOfWork,
    PaymentGateway,
    PaymentRequest,
    PaymentResult,
)
from bookshop_core.identity.ports import IdentityUnitOfWork
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.pagination import Page
from bookshop_core.kernel.principal import Principal, require_admin
from bookshop_core.kernel.uow import Transaction, Transactions, retry_busy
from bookshop_core.notifications.messages import MessageKind
from bookshop_core.notifications.outbox import NewOutboxMessage, OutboxUnitOfWork, queue_email

__all__ = [
    "Carts",
    "CommerceSettings",
    "CommerceShopUnitOfWork",
    "Orders",
    "RecoveryReport",
    "Wishlists",
]

log = logging.getLogger("bookshop.commerce")


class CommerceShopUnitOfWork(
    CommerceUnitOfWork, CatalogUnitOfWork, IdentityUnitOfWork, OutboxUnitOfWork, Protocol
):
    """The commerce use cases' unit of work: ``carts``, ``orders``, ``wishlist``, the
    catalog's ``books`` (existence and stock), identity's ``users`` (the buyer's address for
    the confirmation) and the ``outbox``."""


@frozen
class CommerceSettings:
    """How checkout behaves.

    Args:
        pending_timeout: How old a ``pending`` order must be before
            :meth:`Orders.recover_pending` settles it; longer than any payment call.
        key_wait: How long a checkout retried with the idempotency key of a checkout still
            paying waits for it to settle before answering ``ORDER_CHECKOUT_IN_PROGRESS``.
    """

    pending_timeout: timedelta = field(default=timedelta(minutes=15))
    key_wait: timedelta = field(default=timedelta(seconds=30))


@frozen
class RecoveryReport:
    """What :meth:`Orders.recover_pending` did: orders confirmed (the gateway had charged
    them) and failed (never charged, or declined), by id."""

    confirmed: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()


def _order_not_found(order_id: int) -> OrderNotFound:
    return OrderNotFound(f"Order {order_id} not found")


def _book_not_found(book_id: int) -> BookNotFound:
    return BookNotFound(f"Book {book_id} not found")


def _check_stock(book_stock: int, quantity: int) -> None:
    if book_stock == 0:
        raise CartBookOutOfStock()
    if quantity > book_stock:
        raise CartInsufficientStock(
            f"Only {book_stock} in stock", details={"available": book_stock}
        )


class Carts:
    """A user's cart. Every caller acts on their own cart.

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now".
    """

    def __init__(self, transactions: Transactions[CommerceShopUnitOfWork], clock: Clock) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)

    async def view(self, principal: Principal) -> Cart:
        """The caller's cart with current prices, line totals and availability."""
        async with self._tx.read() as uow:
            return Cart(principal.user_id, tuple(await uow.carts.lines(principal.user_id)))

    async def add(self, principal: Principal, command: AddToCart) -> CartLine:
        """Add a book to the caller's cart.

        Raises:
            NotFound: ``BOOK_NOT_FOUND``.
            Conflict: ``CART_BOOK_OUT_OF_STOCK``, ``CART_INSUFFICIENT_STOCK`` (quantity above
                the stock), ``CART_ITEM_DUPLICATE`` (the book is in the cart already).
        """
        async with self._tx.write() as tx:
            book = await tx.uow.books.get(command.book_id)
            if book is None:
                raise _book_not_found(command.book_id)
            _check_stock(book.stock_quantity, command.quantity)
            line = await tx.uow.carts.add(
                principal.user_id, book.id, command.quantity, added_at=self._clock.now()
            )
            await tx.commit()
        return line

    async def set_quantity(
        self, principal: Principal, item_id: int, command: SetQuantity
    ) -> CartLine:
        """Change the quantity of one of the caller's cart lines.

        Raises:
            NotFound: ``CART_ITEM_NOT_FOUND``.
            PermissionDenied: ``CART_ITEM_FORBIDDEN`` (another user's line).
            Conflict: ``CART_BOOK_OUT_OF_STOCK``, ``CART_INSUFFICIENT_STOCK``,
                ``ORDER_CHECKOUT_IN_PROGRESS`` (a checkout is paying for the line).
        """
        check_id(item_id, "item_id")
        async with self._tx.write() as tx:
            line = await self._own_line(tx, principal, item_id)
            _check_stock(line.book.stock_quantity, command.quantity)
            changed = await tx.uow.carts.set_quantity(item_id, command.quantity)
            if changed is None:
                raise CartItemNotFound()
            if changed.held_by is not None:
                # A checkout held the line between the read above and the write (stores
                # whose writers run at once): its order has the old quantity, so the change
                # is rolled back rather than left on a line being paid for.
                raise OrderCheckoutInProgress()
            await tx.commit()
        return changed

    async def remove(self, principal: Principal, item_id: int) -> None:
        """Remove one of the caller's cart lines.

        Raises:
            NotFound: ``CART_ITEM_NOT_FOUND``.
            PermissionDenied: ``CART_ITEM_FORBIDDEN``.
            Conflict: ``ORDER_CHECKOUT_IN_PROGRESS`` (a checkout is paying for the line).
        """
        check_id(item_id, "item_id")
        async with self._tx.write() as tx:
            await self._own_line(tx, principal, item_id)
            if not await tx.uow.carts.remove(item_id):
                raise CartItemNotFound()
            await tx.commit()

    @staticmethod
    async def _own_line(
        tx: Transaction[CommerceShopUnitOfWork], principal: Principal, item_id: int
    ) -> CartLine:
        line = await tx.uow.carts.get(item_id)
        if line is None:
            raise CartItemNotFound(f"Cart item {item_id} not found")
        if line.user_id != principal.user_id:
            raise CartItemForbidden()
        if line.held_by is not None:
            # Its checkout is paying for it: the order has its quantity already.
            raise OrderCheckoutInProgress()
        return line


class Orders:
    """Checkout and orders: users buy their cart, list, read and cancel their own orders;
    admins list every order and move orders along.

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now".
        gateway: Charges orders.
        currency: The shop's ISO 4217 currency code, sent to the gateway.
        settings: Checkout's timeouts.
    """

    def __init__(
        self,
        transactions: Transactions[CommerceShopUnitOfWork],
        clock: Clock,
        gateway: PaymentGateway,
        *,
        currency: str = "USD",
        settings: CommerceSettings | None = None,
    ) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)
        self._gateway = gateway
        self._currency = currency
        self._settings = settings or CommerceSettings()

    # -- checkout ----------------------------------------------------------------------------

    async def checkout(self, principal: Principal, command: Checkout | None = None) -> Order:
        """Buy every line of the caller's cart, or nothing.

        Returns:
            The confirmed order (or, for a retried idempotency key, the order it made).

        Raises:
            OrderCartEmpty: ``ORDER_CART_EMPTY``.
            Conflict: ``ORDER_INSUFFICIENT_STOCK`` (``details['items']`` lists each short
                line; nothing changed), ``ORDER_PAYMENT_FAILED`` (402; stock and cart as they
                were, the attempt recorded), ``ORDER_IDEMPOTENCY_KEY_REUSED`` (the key was
                used for another cart), ``ORDER_CHECKOUT_IN_PROGRESS`` (another checkout of
                this cart is paying).
        """
        command = command or Checkout()
        # Lock order makes deadlocks between checkouts impossible; a store may still refuse a
        # transaction as busy (a deadlock with another kind of writer): it rolled back, so
        # running it again is safe.
        order, fresh = await retry_busy(lambda: self._reserve(principal, command))
        if not fresh:
            return await self._replay(order)
        result = await self._charge(order, command)
        return await self._settle(order, result)

    async def _reserve(self, principal: Principal, command: Checkout) -> tuple[Order, bool]:
        """Transaction 1: lock the cart's books, check the stock, write a pending order that
        takes the stock, hold the cart lines.

        Returns:
            The pending order and ``True``; or, for a retried idempotency key, the order the
            key made earlier and ``False``.
        """
        key = command.idempotency_key
        async with self._tx.write() as tx:
            # Locking the cart first serialises concurrent checkouts of one cart (two tabs,
            # a retried key): the second sees the lines held, or the order the key made.
            lines = await tx.uow.carts.lines(principal.user_id, lock=True)
            open_lines = [line for line in lines if line.held_by is None]
            fingerprint = cart_fingerprint((line.book_id, line.quantity) for line in open_lines)
            if key is not None:
                earlier = await tx.uow.orders.find_by_key(principal.user_id, key)
                if earlier is not None:
                    # A retry finds the cart emptied (paid), held (still paying) or as it was
                    # (declined); anything else is another purchase under a used key.
                    if open_lines and fingerprint != earlier.cart_fingerprint:
                        raise OrderIdempotencyKeyReused()
                    return earlier, False
            if not open_lines:
                if lines:
                    raise OrderCheckoutInProgress()
                raise OrderCartEmpty()
            short = [
                ShortLine(line.book_id, line.book.title, line.quantity, line.book.stock_quantity)
                for line in open_lines
                if line.quantity > line.book.stock_quantity
            ]
            if short:
                raise OrderInsufficientStock(short)
            order = await tx.uow.orders.add_pending(
                NewOrder(
                    user_id=principal.user_id,
                    lines=tuple(
                        NewOrderLine(
                            line.book_id,
                            line.book.title,
                            line.book.author,
                            line.quantity,
                            line.book.price,
                        )
                        for line in open_lines
                    ),
                    created_at=self._clock.now(),
                    idempotency_key=key,
                    cart_fingerprint=fingerprint,
                )
            )
            await tx.uow.carts.hold(principal.user_id, order.id)
            await tx.commit()
        return order, True

    async def _replay(self, order: Order) -> Order:
        """The outcome of an earlier checkout with the same key: its order, or its payment
        failure again. One still paying is waited for (up to ``settings.key_wait``)."""
        waited = timedelta(0)
        delay = timedelta(milliseconds=20)
        while order.status is OrderStatus.PENDING:
            if waited >= self._settings.key_wait:
                raise OrderCheckoutInProgress()
            await asyncio.sleep(delay.total_seconds())
            waited += delay
            delay = min(delay * 2, timedelta(milliseconds=500))
            async with self._tx.read() as uow:
                found = await uow.orders.get(order.id)
            assert found is not None  # orders are never deleted
            order = found
        if order.status is OrderStatus.PAYMENT_FAILED:
            raise OrderPaymentFailed(order.failure_reason, order_id=order.id)
        return order

    async def _charge(self, order: Order, command: Checkout) -> PaymentResult:
        """Call the gateway, outside any transaction. An exception is a decline: the caller
        gets ``ORDER_PAYMENT_FAILED`` and the cause is logged."""
        request = PaymentRequest(
            order_id=order.id,
            user_id=order.user_id,
            amount=order.total,
            currency=self._currency,
            force_failure=command.force_payment_failure,
        )
        try:
            return await self._gateway.charge(request)
        except Exception:
            log.exception("payment gateway failed for order %s", order.id)
            return PaymentResult.decline("The payment could not be processed")

    async def _settle(self, order: Order, result: PaymentResult) -> Order:
        """Transaction 2: confirm the paid order (cart emptied, confirmation queued) or fail
        it (stock returned, cart lines given back, the attempt kept)."""

        async def settle() -> Order | None:
            now = self._clock.now()
            async with self._tx.write() as tx:
                # The lines written in transaction 1 are the order's: not read again.
                if result.approved:
                    done = await self._confirm(tx, order.id, result, now, items=order.items)
                else:
                    done = await self._fail(tx, order.id, result.reason, now, items=order.items)
                await tx.commit()
            return done

        settled = await retry_busy(settle)
        if settled is None:  # recovery settled it meanwhile
            async with self._tx.read() as uow:
                settled = await uow.orders.get(order.id)
            assert settled is not None
        if settled.status is OrderStatus.PAYMENT_FAILED:
            raise OrderPaymentFailed(settled.failure_reason, order_id=settled.id)
        return settled

    async def _confirm(
        self,
        tx: Transaction[CommerceShopUnitOfWork],
        order_id: int,
        result: PaymentResult,
        now: datetime,
        *,
        items: Sequence[OrderLine] | None = None,
    ) -> Order | None:
        """Confirm the pending order (``items``: its lines, when the caller has them)."""
        order = await tx.uow.orders.transition(
            order_id,
            from_=frozenset({OrderStatus.PENDING}),
            to=OrderStatus.CONFIRMED,
            now=now,
            payment_reference=result.reference,
            items=items,
        )
        if order is None:
            return None
        await tx.uow.carts.remove_held(order_id)
        buyer = await tx.uow.users.get(order.user_id)
        if buyer is not None:
            await queue_email(tx, _confirmation(order, buyer.email, now))
        return order

    async def _fail(
        self,
        tx: Transaction[CommerceShopUnitOfWork],
        order_id: int,
        reason: str | None,
        now: datetime,
        *,
        items: Sequence[OrderLine] | None = None,
    ) -> Order | None:
        """Fail the pending order (``items``: its lines, when the caller has them)."""
        order = await tx.uow.orders.transition(
            order_id,
            from_=frozenset({OrderStatus.PENDING}),
            to=OrderStatus.PAYMENT_FAILED,
            now=now,
            failure_reason=reason or "The payment was declined",
            items=items,
        )
        if order is None:
            return None
        await _return_stock(tx, order)
        await tx.uow.carts.release(order_id)
        return order

    async def recover_pending(
        self, principal: Principal, *, older_than: timedelta | None = None, limit: int = 100
    ) -> RecoveryReport:
        """Settle orders left ``pending`` by a crash between checkout's two transactions:
        each is confirmed when the gateway says it charged the order, else failed (stock and
        cart lines given back). Each order is settled in its own transaction, with a
        conditional write, so concurrent recoveries (or a late checkout) never settle one
        twice.

        Args:
            principal: An admin (or ``Principal.system()`` from a console).
            older_than: Only orders pending for longer (default: ``settings.pending_timeout``).
            limit: At most this many orders per call.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
        """
        require_admin(principal)
        age = self._settings.pending_timeout if older_than is None else older_than
        cutoff = self._clock.now() - age
        async with self._tx.read() as uow:
            stale = await uow.orders.pending_before(cutoff, limit)
        confirmed: list[int] = []
        failed: list[int] = []
        for order_id in stale:
            result = await self._gateway.find(order_id)
            # Settling locks the order's books, as checkout's second transaction does: the
            # same bounded retries when the store refuses it as busy.
            settled = await retry_busy(partial(self._recover, order_id, result))
            if settled is not None:
                done = confirmed if settled.status is OrderStatus.CONFIRMED else failed
                done.append(order_id)
        return RecoveryReport(tuple(confirmed), tuple(failed))

    async def _recover(self, order_id: int, result: PaymentResult | None) -> Order | None:
        """Confirm or fail one pending order on what the gateway knows of it; ``None`` when
        something else settled it first."""
        now = self._clock.now()
        async with self._tx.write() as tx:
            if result is not None and result.approved:
                settled = await self._confirm(tx, order_id, result, now)
            else:
                reason = "Not settled in time" if result is None else result.reason
                settled = await self._fail(tx, order_id, reason, now)
            await tx.commit()
        return settled

    # -- orders ------------------------------------------------------------------------------

    async def list_mine(
        self, principal: Principal, command: ListOrders | None = None
    ) -> Page[Order]:
        """The caller's orders (every status but pending), newest first; ``command.user_id``
        is ignored."""
        command = command or ListOrders()
        async with self._tx.read() as uow:
            return await uow.orders.list(
                _query(command, user_id=principal.user_id), command.page_request
            )

    async def get_mine(self, principal: Principal, order_id: int) -> Order:
        """One of the caller's orders.

        Raises:
            NotFound: ``ORDER_NOT_FOUND`` (also for another user's, and a pending one).
        """
        check_id(order_id, "order_id")
        async with self._tx.read() as uow:
            order = await uow.orders.get(order_id)
        if (
            order is None
            or order.user_id != principal.user_id
            or order.status is OrderStatus.PENDING
        ):
            raise _order_not_found(order_id)
        return order

    async def cancel_mine(self, principal: Principal, order_id: int) -> Order:
        """Cancel one of the caller's confirmed orders; its stock goes back.

        Raises:
            NotFound: ``ORDER_NOT_FOUND``.
            Conflict: ``ORDER_INVALID_TRANSITION`` (not confirmed).
        """
        check_id(order_id, "order_id")
        return await retry_busy(
            lambda: self._move(order_id, OrderStatus.CANCELLED, owner=principal.user_id)
        )

    async def list_all(
        self, principal: Principal, command: ListOrders | None = None
    ) -> Page[Order]:
        """Every order (admins), filtered by status, user and days, newest first.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
        """
        require_admin(principal)
        command = command or ListOrders()
        async with self._tx.read() as uow:
            return await uow.orders.list(
                _query(command, user_id=command.user_id), command.page_request
            )

    async def get(self, principal: Principal, order_id: int) -> Order:
        """Any order (admins).

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``ORDER_NOT_FOUND``.
        """
        require_admin(principal)
        check_id(order_id, "order_id")
        async with self._tx.read() as uow:
            order = await uow.orders.get(order_id)
        if order is None or order.status is OrderStatus.PENDING:
            raise _order_not_found(order_id)
        return order

    async def set_status(
        self, principal: Principal, order_id: int, command: SetOrderStatus
    ) -> Order:
        """Move an order along the transition table (admins): confirmed -> shipped ->
        delivered, confirmed -> cancelled (stock returned).

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            NotFound: ``ORDER_NOT_FOUND``.
            Conflict: ``ORDER_INVALID_TRANSITION``.
        """
        require_admin(principal)
        check_id(order_id, "order_id")
        return await retry_busy(lambda: self._move(order_id, command.status, owner=None))

    async def _move(self, order_id: int, target: OrderStatus, *, owner: int | None) -> Order:
        async with self._tx.write() as tx:
            order = await tx.uow.orders.get(order_id)
            if (
                order is None
                or order.status is OrderStatus.PENDING
                or (owner is not None and order.user_id != owner)
            ):
                raise _order_not_found(order_id)
            if not order.status.can_become(target):
                raise OrderInvalidTransition(
                    f"An order that is {order.status.value} cannot become {target.value}"
                )
            moved = await tx.uow.orders.transition(
                order_id,
                from_=frozenset({order.status}),
                to=target,
                now=self._clock.now(),
                items=order.items,  # just read in this transaction
            )
            if moved is None:  # moved concurrently: check again against what it is now
                raise OrderInvalidTransition("The order changed meanwhile; reload it")
            if target is OrderStatus.CANCELLED:
                await _return_stock(tx, moved)
            await tx.commit()
        return moved


async def _return_stock(tx: Transaction[CommerceShopUnitOfWork], order: Order) -> None:
    """Give the order's stock back; a book going from 0 to above 0 is a restock (pre-bookers
    hear of it)."""
    titles = {line.book_id: line.title for line in order.items}
    for change in await tx.uow.orders.return_stock(order.id):
        if change.before == 0 < change.after:
            tx.record(BookRestocked(change.book_id, titles.get(change.book_id, ""), change.after))


def _query(command: ListOrders, *, user_id: int | None) -> OrderQuery:
    """The repository query of a list command: days in UTC, ``date_to`` inclusive."""
    start = None if command.date_from is None else datetime.combine(command.date_from, time(), UTC)
    # The last representable day has no next midnight: it bounds nothing.
    end = (
        None
        if command.date_to is None or command.date_to == date.max
        else datetime.combine(command.date_to + timedelta(days=1), time(), UTC)
    )
    return OrderQuery(user_id=user_id, status=command.status, created_from=start, created_to=end)


def _confirmation(order: Order, email: str, now: datetime) -> NewOutboxMessage:
    return NewOutboxMessage(
        kind=MessageKind.ORDER_CONFIRMATION,
        recipients=(email,),
        variables={
            "order_id": order.id,
            "created_at": order.created_at.isoformat(),
            "items": [
                {"title": line.title, "quantity": line.quantity, "unit_price": str(line.unit_price)}
                for line in order.items
            ],
            "total": str(order.total),
        },
        created_at=now,
    )


class Wishlists:
    """A user's wishlist. Every caller acts on their own.

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now".
    """

    def __init__(self, transactions: Transactions[CommerceShopUnitOfWork], clock: Clock) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)

    async def add(self, principal: Principal, book_id: int) -> WishlistItem:
        """Put a book on the caller's wishlist.

        Raises:
            NotFound: ``BOOK_NOT_FOUND``.
            Conflict: ``WISHLIST_ITEM_DUPLICATE``.
        """
        check_id(book_id, "book_id")
        async with self._tx.write() as tx:
            item = await tx.uow.wishlist.add(principal.user_id, book_id, added_at=self._clock.now())
            if item is None:
                raise _book_not_found(book_id)
            await tx.commit()
        return item

    async def remove(self, principal: Principal, book_id: int) -> None:
        """Take a book off the caller's wishlist.

        Raises:
            NotFound: ``WISHLIST_ITEM_NOT_FOUND``.
        """
        check_id(book_id, "book_id")
        async with self._tx.write() as tx:
            if not await tx.uow.wishlist.remove(principal.user_id, book_id):
                raise WishlistItemNotFound()
            await tx.commit()

    async def list_mine(self, principal: Principal) -> list[WishlistItem]:
        """The caller's wishlist with each book's current price and stock, newest first."""
        async with self._tx.read() as uow:
            return list(await uow.wishlist.list_for_user(principal.user_id))
