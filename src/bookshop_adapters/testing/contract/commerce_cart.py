"""Contract: the cart and the wishlist, on every backend.

A cart holds one line per book, its quantity within the book's stock; it is shown with the
books as they are now (price, stock, availability). Only the owner sees or changes a line. A
wishlist holds each book once, newest first, shown as the books are now. A deleted book's
lines and entries vanish.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import ADMIN
from bookshop_adapters.testing.contract.commerce import (
    add_buyers,
    code_of,
    commerce_picture,
    fill_cart,
    stocked_book,
)
from bookshop_core.catalog.commands import SetStock, UpdateBook
from bookshop_core.commerce.commands import AddToCart, SetQuantity
from bookshop_core.commerce.entities import BookSummary
from bookshop_core.errors import DomainError
from bookshop_core.kernel.clock import ManualClock

__all__ = ["CartContract", "WishlistContract"]


@pytest.mark.asyncio
class CartContract:
    """Add (in stock, within stock, once per book), change the quantity, remove, view with
    current prices and availability; only the owner's lines."""

    async def test_adding_a_book_stores_a_line_with_the_book_as_it_is(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The new line has the quantity, the time, and the book's title, price and stock."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, "Dune", price="12.50", stock=4)
        line = await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=2))
        assert (line.user_id, line.book_id, line.quantity, line.added_at, line.held_by) == (
            buyer.user_id,
            book.id,
            2,
            clock.now(),
            None,
        )
        assert line.book == BookSummary(
            id=book.id,
            title="Dune",
            author="Author of Dune",
            price=Decimal("12.50"),
            cover_image_url=None,
            stock_quantity=4,
        )
        assert (await shop.cart.view(buyer)).lines == (line,)

    async def test_adding_a_book_already_in_the_cart_is_a_duplicate(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The same book twice: CART_ITEM_DUPLICATE, the first line unchanged."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop)
        [line] = await fill_cart(shop, buyer, (book, 1))
        code = await code_of(shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=2)))
        assert code == "CART_ITEM_DUPLICATE"
        assert (await shop.cart.view(buyer)).lines == (line,)

    async def test_adding_an_out_of_stock_book_is_refused(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Stock 0: CART_BOOK_OUT_OF_STOCK, the cart stays empty."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=0)
        code = await code_of(shop.cart.add(buyer, AddToCart(book_id=book.id)))
        assert code == "CART_BOOK_OUT_OF_STOCK"
        assert (await shop.cart.view(buyer)).lines == ()

    async def test_adding_more_than_the_stock_is_insufficient_stock(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A quantity above the stock: CART_INSUFFICIENT_STOCK with the available count."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=3)
        with pytest.raises(DomainError) as caught:
            await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=4))
        assert (caught.value.code, caught.value.details) == (
            "CART_INSUFFICIENT_STOCK",
            {"available": 3},
        )
        assert (await shop.cart.view(buyer)).lines == ()

    async def test_adding_an_unknown_book_is_book_not_found(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """An id no book has: BOOK_NOT_FOUND."""
        [buyer] = await add_buyers(shop, clock, 1)
        assert await code_of(shop.cart.add(buyer, AddToCart(book_id=999_999))) == "BOOK_NOT_FOUND"

    async def test_setting_the_quantity_changes_the_line(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The line has the new quantity, in the cart too."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=5)
        [line] = await fill_cart(shop, buyer, (book, 1))
        changed = await shop.cart.set_quantity(buyer, line.id, SetQuantity(quantity=5))
        assert (changed.id, changed.quantity) == (line.id, 5)
        assert (await shop.cart.view(buyer)).lines == (changed,)

    async def test_setting_a_quantity_above_the_stock_is_refused(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Above the stock: CART_INSUFFICIENT_STOCK; the quantity is kept."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=2)
        [line] = await fill_cart(shop, buyer, (book, 1))
        code = await code_of(shop.cart.set_quantity(buyer, line.id, SetQuantity(quantity=3)))
        assert code == "CART_INSUFFICIENT_STOCK"
        assert (await shop.cart.view(buyer)).lines == (line,)

    async def test_setting_a_quantity_once_the_book_sold_out_is_out_of_stock(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The book's stock fell to 0 since: CART_BOOK_OUT_OF_STOCK."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=2)
        [line] = await fill_cart(shop, buyer, (book, 1))
        await shop.catalog.set_stock(ADMIN, book.id, SetStock(quantity=0))
        code = await code_of(shop.cart.set_quantity(buyer, line.id, SetQuantity(quantity=1)))
        assert code == "CART_BOOK_OUT_OF_STOCK"

    async def test_removing_a_line_empties_it_from_the_cart(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The removed line is gone; the others stay."""
        [buyer] = await add_buyers(shop, clock, 1)
        first, second = await stocked_book(shop, "A"), await stocked_book(shop, "B")
        removed, kept = await fill_cart(shop, buyer, (first, 1), (second, 1))
        await shop.cart.remove(buyer, removed.id)
        assert (await shop.cart.view(buyer)).lines == (kept,)
        assert await code_of(shop.cart.remove(buyer, removed.id)) == "CART_ITEM_NOT_FOUND"

    async def test_another_users_line_is_forbidden_and_unchanged(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Another user's line: CART_ITEM_FORBIDDEN to change or remove; it stays the owner's."""
        owner, other = await add_buyers(shop, clock, 2)
        [line] = await fill_cart(shop, owner, (await stocked_book(shop), 1))
        code = await code_of(shop.cart.set_quantity(other, line.id, SetQuantity(quantity=2)))
        assert code == "CART_ITEM_FORBIDDEN"
        assert await code_of(shop.cart.remove(other, line.id)) == "CART_ITEM_FORBIDDEN"
        assert (await shop.cart.view(owner)).lines == (line,)
        assert (await shop.cart.view(other)).lines == ()

    async def test_an_unknown_line_is_not_found(self, shop: Shop, clock: ManualClock) -> None:
        """An id no line has: CART_ITEM_NOT_FOUND, for a quantity change and a removal."""
        [buyer] = await add_buyers(shop, clock, 1)
        code = await code_of(shop.cart.set_quantity(buyer, 999_999, SetQuantity(quantity=1)))
        assert code == "CART_ITEM_NOT_FOUND"
        assert await code_of(shop.cart.remove(buyer, 999_999)) == "CART_ITEM_NOT_FOUND"

    async def test_the_cart_shows_lines_by_book_with_line_totals_and_the_total(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Lines by book id; each line's total is quantity x price; the cart sums them."""
        [buyer] = await add_buyers(shop, clock, 1)
        first = await stocked_book(shop, "A", price="10.00")
        second = await stocked_book(shop, "B", price="2.25")
        await fill_cart(shop, buyer, (second, 4), (first, 1))
        cart = await shop.cart.view(buyer)
        assert [(line.book_id, line.line_total) for line in cart.lines] == [
            (first.id, Decimal("10.00")),
            (second.id, Decimal("9.00")),
        ]
        assert (cart.user_id, cart.total_items, cart.total_price, cart.available) == (
            buyer.user_id,
            5,
            Decimal("19.00"),
            True,
        )

    async def test_the_cart_shows_a_price_change_since_adding(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A new price shows up in the line, its total and the cart total."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, price="10.00")
        await fill_cart(shop, buyer, (book, 2))
        await shop.catalog.update_book(ADMIN, book.id, UpdateBook(price=Decimal("7.50")))
        cart = await shop.cart.view(buyer)
        assert (cart.lines[0].book.price, cart.lines[0].line_total, cart.total_price) == (
            Decimal("7.50"),
            Decimal("15.00"),
            Decimal("15.00"),
        )

    async def test_the_cart_shows_a_line_the_stock_no_longer_covers(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Stock fallen below a line's quantity: that line and the cart are unavailable."""
        [buyer] = await add_buyers(shop, clock, 1)
        short, fine = await stocked_book(shop, "A", stock=3), await stocked_book(shop, "B")
        await fill_cart(shop, buyer, (short, 3), (fine, 1))
        await shop.catalog.set_stock(ADMIN, short.id, SetStock(quantity=1))
        cart = await shop.cart.view(buyer)
        assert [(line.book.stock_quantity, line.available) for line in cart.lines] == [
            (1, False),
            (5, True),
        ]
        assert cart.available is False

    async def test_a_deleted_books_line_vanishes_from_the_cart(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Deleting a book takes its cart lines with it; the id is then not found."""
        [buyer] = await add_buyers(shop, clock, 1)
        gone, kept = await stocked_book(shop, "A"), await stocked_book(shop, "B")
        deleted, line = await fill_cart(shop, buyer, (gone, 1), (kept, 1))
        await shop.catalog.delete_book(ADMIN, gone.id)
        assert (await shop.cart.view(buyer)).lines == (line,)
        assert await code_of(shop.cart.remove(buyer, deleted.id)) == "CART_ITEM_NOT_FOUND"

    async def test_a_refused_cart_change_changes_nothing(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Duplicate, over-stock and forbidden changes leave every table as it was."""
        owner, other = await add_buyers(shop, clock, 2)
        book = await stocked_book(shop, stock=2)
        [line] = await fill_cart(shop, owner, (book, 1))
        before = await commerce_picture(shop, [owner, other])
        await code_of(shop.cart.add(owner, AddToCart(book_id=book.id)))
        await code_of(shop.cart.add(other, AddToCart(book_id=book.id, quantity=3)))
        await code_of(shop.cart.remove(other, line.id))
        assert await commerce_picture(shop, [owner, other]) == before


@pytest.mark.asyncio
class WishlistContract:
    """Add once per book, remove by book, list newest first with current price and stock;
    each user's own."""

    async def test_adding_a_book_lists_it_with_its_price_and_stock(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The entry has the time and the book as it is; the list shows it."""
        [user] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, "Dune", price="8.00", stock=2)
        item = await shop.wishlist.add(user, book.id)
        assert (item.user_id, item.book_id, item.added_at) == (user.user_id, book.id, clock.now())
        assert (item.book.title, item.book.price, item.book.stock_quantity) == (
            "Dune",
            Decimal("8.00"),
            2,
        )
        assert await shop.wishlist.list_mine(user) == [item]

    async def test_an_out_of_stock_book_can_be_wished_for(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Unlike the cart, the wishlist takes a book with stock 0."""
        [user] = await add_buyers(shop, clock, 1)
        item = await shop.wishlist.add(user, (await stocked_book(shop, stock=0)).id)
        assert item.book.stock_quantity == 0

    async def test_adding_a_book_twice_is_a_duplicate(self, shop: Shop, clock: ManualClock) -> None:
        """The second add: WISHLIST_ITEM_DUPLICATE; one entry stays."""
        [user] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop)
        item = await shop.wishlist.add(user, book.id)
        assert await code_of(shop.wishlist.add(user, book.id)) == "WISHLIST_ITEM_DUPLICATE"
        assert await shop.wishlist.list_mine(user) == [item]

    async def test_adding_an_unknown_book_is_book_not_found(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """An id no book has: BOOK_NOT_FOUND, nothing stored."""
        [user] = await add_buyers(shop, clock, 1)
        assert await code_of(shop.wishlist.add(user, 999_999)) == "BOOK_NOT_FOUND"
        assert await shop.wishlist.list_mine(user) == []

    async def test_removing_a_book_takes_it_off(self, shop: Shop, clock: ManualClock) -> None:
        """Removal by book id; a second removal is WISHLIST_ITEM_NOT_FOUND."""
        [user] = await add_buyers(shop, clock, 1)
        gone, kept = await stocked_book(shop, "A"), await stocked_book(shop, "B")
        await shop.wishlist.add(user, gone.id)
        item = await shop.wishlist.add(user, kept.id)
        await shop.wishlist.remove(user, gone.id)
        assert await shop.wishlist.list_mine(user) == [item]
        assert await code_of(shop.wishlist.remove(user, gone.id)) == "WISHLIST_ITEM_NOT_FOUND"

    async def test_the_list_is_newest_first_with_current_prices_and_stock(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Newest first; a price or stock change since adding shows up."""
        [user] = await add_buyers(shop, clock, 1)
        books = [await stocked_book(shop, f"Book {n}") for n in range(3)]
        for book in books:
            await shop.wishlist.add(user, book.id)
            clock.advance(timedelta(minutes=1))
        await shop.catalog.update_book(ADMIN, books[0].id, UpdateBook(price=Decimal("1.00")))
        await shop.catalog.set_stock(ADMIN, books[1].id, SetStock(quantity=0))
        listed = await shop.wishlist.list_mine(user)
        assert [(i.book_id, i.book.price, i.book.stock_quantity) for i in listed] == [
            (books[2].id, Decimal("10.00"), 5),
            (books[1].id, Decimal("10.00"), 0),
            (books[0].id, Decimal("1.00"), 5),
        ]

    async def test_each_user_sees_and_removes_only_their_own(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Each user lists only their own entries; removing a book one never added is not found."""
        owner, other = await add_buyers(shop, clock, 2)
        book, elsewhere = await stocked_book(shop, "A"), await stocked_book(shop, "B")
        mine = await shop.wishlist.add(owner, book.id)
        theirs = await shop.wishlist.add(other, elsewhere.id)
        assert await code_of(shop.wishlist.remove(other, book.id)) == "WISHLIST_ITEM_NOT_FOUND"
        assert await shop.wishlist.list_mine(owner) == [mine]
        assert await shop.wishlist.list_mine(other) == [theirs]

    async def test_a_deleted_book_vanishes_from_the_wishlist(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Deleting a book takes its entries with it."""
        [user] = await add_buyers(shop, clock, 1)
        gone, kept = await stocked_book(shop, "A"), await stocked_book(shop, "B")
        await shop.wishlist.add(user, gone.id)
        item = await shop.wishlist.add(user, kept.id)
        await shop.catalog.delete_book(ADMIN, gone.id)
        assert await shop.wishlist.list_mine(user) == [item]
        assert await code_of(shop.wishlist.remove(user, gone.id)) == "WISHLIST_ITEM_NOT_FOUND"
