"""Short ways to put genres and books into a shop, for tests.

Each builder goes through the public use cases, so what it makes is exactly what a caller
would get; pass only the fields a test is about.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bookshop_adapters.bootstrap import Shop
from bookshop_core.catalog.commands import CreateBook, CreateGenre, SetStock
from bookshop_core.catalog.entities import Book, Genre
from bookshop_core.kernel.principal import Principal, Role

__all__ = ["ADMIN", "CUSTOMER", "add_book", "add_genre"]

#: An admin caller (user 1), allowed to change the catalog.
ADMIN = Principal(user_id=1, role=Role.ADMIN)
#: A plain customer (user 2), allowed to read only.
CUSTOMER = Principal(user_id=2, role=Role.USER)


async def add_genre(
    shop: Shop, name: str, *, parent: Genre | int | None = None, by: Principal = ADMIN
) -> Genre:
    """Create the genre ``name``, under ``parent`` when given."""
    parent_id = parent.id if isinstance(parent, Genre) else parent
    return await shop.catalog.create_genre(by, CreateGenre(name=name, parent_id=parent_id))


async def add_book(
    shop: Shop,
    title: str = "Dune",
    *,
    author: str = "Frank Herbert",
    price: Decimal | str = "9.99",
    isbn: str | None = None,
    genre: Genre | int | None = None,
    description: str | None = None,
    cover_image_url: str | None = None,
    publish_date: date | None = None,
    stock: int = 0,
    by: Principal = ADMIN,
) -> Book:
    """Create a book with sensible defaults; ``stock`` above 0 is set after creation."""
    book = await shop.catalog.create_book(
        by,
        CreateBook(
            title=title,
            author=author,
            price=Decimal(price),
            isbn=isbn,
            genre_id=genre.id if isinstance(genre, Genre) else genre,
            description=description,
            cover_image_url=cover_image_url,
            publish_date=publish_date,
        ),
    )
    if stock:
        book = await shop.catalog.set_stock(by, book.id, SetStock(quantity=stock))
    return book
