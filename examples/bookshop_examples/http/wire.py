"""Wire pieces several routers write: money, timestamps, and a book as a cart line, an order
line or a wishlist entry shows it.

One definition each, so a field the web client reads has the same name, format and pattern on
every route that shows it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from bookshop_core import unstructure
from bookshop_core.commerce import BookSummary

__all__ = ["BookSummaryOut", "Money", "Timestamp", "book_summary_wire"]

#: Money in the catalog, cart and orders: a JSON string with two decimals.
Money = Annotated[
    str,
    Field(
        pattern=r"^-?\d+\.\d{2}$",
        examples=["15.99"],
        description="An exact amount with two decimals, as a string.",
    ),
]
#: An ISO-8601 instant with its offset (UTC).
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class BookSummaryOut(BaseModel):
    """The book as it is now (current price)."""

    id: int
    title: str
    author: str
    price: Money
    cover_image_url: str | None


def book_summary_wire(book: BookSummary) -> dict[str, Any]:
    """``book`` as :class:`BookSummaryOut` shows it."""
    return {
        "id": book.id,
        "title": book.title,
        "author": book.author,
        "price": unstructure(book.price),
        "cover_image_url": book.cover_image_url,
    }
