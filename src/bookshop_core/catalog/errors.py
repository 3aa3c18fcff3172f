"""Every error code of the catalog context, declared once (see :mod:`bookshop_core.errors`)."""

from __future__ import annotations

from bookshop_core.errors import BadRequest, Conflict, NotFound

__all__ = [
    "BookIsbnConflict",
    "BookNotFound",
    "GenreConflict",
    "GenreInUse",
    "GenreNotFound",
    "InsufficientStock",
    "UploadRejected",
]


class BookNotFound(NotFound):
    """No book with that id."""

    code = "BOOK_NOT_FOUND"
    default_message = "Book not found"
    default_field = "book_id"


class GenreNotFound(NotFound):
    """No genre with that id (``field`` is ``genre_id`` or ``parent_id``)."""

    code = "GENRE_NOT_FOUND"
    default_message = "Genre not found"
    default_field = "genre_id"


class BookIsbnConflict(Conflict):
    """Another book has this ISBN."""

    code = "BOOK_ISBN_CONFLICT"
    default_message = "A book with this ISBN already exists"
    default_field = "isbn"


class GenreConflict(Conflict):
    """Another genre has this name (case-insensitively)."""

    code = "GENRE_CONFLICT"
    default_message = "A genre with this name already exists"
    default_field = "name"


class GenreInUse(Conflict):
    """The genre still has books or sub-genres."""

    code = "GENRE_IN_USE"
    default_message = "Genre is used by books or sub-genres"
    default_field = "genre_id"


class InsufficientStock(Conflict):
    """A stock change would take a book's stock below zero."""

    code = "BOOK_INSUFFICIENT_STOCK"
    default_message = "Not enough stock"
    default_field = "stock_quantity"


class UploadRejected(BadRequest):
    """The upload is not an acceptable image. The code stays ``HTTP_400``, the one existing web
    clients know; ``details['reason']`` says why."""

    code = "HTTP_400"
    default_message = "The file is not an acceptable image"
    default_field = "file"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, details={"reason": reason})
