"""The error registry: one class per code, categories abstract, two wire shapes of validation."""

from __future__ import annotations

import pytest

from bookshop_core import (
    ERRORS,
    BookNotFound,
    Conflict,
    DomainError,
    GenreNotFound,
    NotFound,
    ValidationError,
)


def test_every_registered_class_declares_its_own_code() -> None:
    """ERRORS maps each code to the one class that declares it."""
    assert ERRORS
    for code, error_class in ERRORS.items():
        assert error_class.code == code
        assert issubclass(error_class, DomainError)


def test_a_registered_error_carries_its_code_field_and_message() -> None:
    """A class fixes code and field; the message defaults to the class's."""
    error = BookNotFound()
    assert (error.code, error.field, error.message) == (
        "BOOK_NOT_FOUND",
        "book_id",
        "Book not found",
    )


def test_the_field_can_be_named_at_the_raise() -> None:
    """One code, several inputs: GENRE_NOT_FOUND on parent_id."""
    assert GenreNotFound(field="parent_id").field == "parent_id"


@pytest.mark.parametrize("category", [DomainError, NotFound, Conflict])
def test_a_category_cannot_be_raised_by_itself(category: type[DomainError]) -> None:
    """Only a registered code can be raised; a bare category is a programming error."""
    with pytest.raises(TypeError):
        category("something happened")


def test_a_code_given_as_a_string_selects_its_registered_class() -> None:
    """NotFound(code="BOOK_NOT_FOUND") is a BookNotFound, so `except BookNotFound` sees it."""
    error = NotFound("Book 9 not found", code="BOOK_NOT_FOUND")
    assert type(error) is BookNotFound
    assert error.to_dict() == {
        "detail": "Book 9 not found",
        "code": "BOOK_NOT_FOUND",
        "field": "book_id",
    }


@pytest.mark.parametrize(
    ("category", "code"), [(NotFound, "NO_SUCH_CODE"), (Conflict, "BOOK_NOT_FOUND")]
)
def test_an_unknown_or_foreign_code_is_refused(category: type[DomainError], code: str) -> None:
    """A code outside the registry, or registered under another category, is a TypeError."""
    with pytest.raises(TypeError):
        category("x", code=code)


def test_a_code_cannot_be_registered_twice() -> None:
    """Declaring a second class for an existing code fails at definition time."""
    with pytest.raises(TypeError):

        class Again(NotFound):
            code = "BOOK_NOT_FOUND"


def test_a_shape_error_renders_every_field_in_a_list() -> None:
    """Request-shape errors keep the list form of the wire contract."""
    body = ValidationError.single("size", "must be at most 100").to_dict()
    assert body == {
        "detail": [{"loc": ["size"], "msg": "must be at most 100", "type": "value_error"}],
        "code": "VALIDATION_ERROR",
    }


def test_a_refused_value_renders_flat() -> None:
    """A domain rule refusing a well-formed value is one sentence about one field."""
    error = ValidationError.refused("password", "This password is too common")
    assert error.to_dict() == {
        "detail": "This password is too common",
        "code": "VALIDATION_ERROR",
        "field": "password",
    }


def test_locating_a_refusal_keeps_it_flat() -> None:
    """A frontend prefixing the source (body, query) keeps the wire shape and the field."""
    error = ValidationError.refused("genre_id", "unknown genre").located("body")
    assert error.to_dict() == {
        "detail": "unknown genre",
        "code": "VALIDATION_ERROR",
        "field": "genre_id",
    }
    assert error.errors[0].loc == ("body", "genre_id")
