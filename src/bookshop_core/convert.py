"""The one converter between untrusted data, commands, and JSON-ready results.

``structure(data, Command)`` turns a decoded JSON object or query-string-like data into a
validated command; any wrong shape or wrong type becomes a
:class:`~bookshop_core.errors.ValidationError` naming each bad field, never a cattrs or Python
exception. By default it reads data as it comes off the wire (``"true"`` for a bool, ``"3"``
for an int, unknown keys ignored and never applied); ``strict=True`` wants each value in its
own JSON type and refuses unknown keys. ``unstructure(result)`` turns entities and pages into
plain dicts: money as two-decimal strings, timestamps as ISO-8601 with offset.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections import abc
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

import attrs
from cattrs import Converter
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)

from bookshop_core.catalog.entities import Book, Genre, GenreNode
from bookshop_core.errors import FieldError, ValidationError
from bookshop_core.identity.entities import User
from bookshop_core.kernel.pagination import Page
from bookshop_core.kernel.validation import Unset, field_problems

__all__ = ["converter", "strict_converter", "structure", "unstructure"]

T = TypeVar("T")


class _TypeMismatch(TypeError):
    def __init__(self, expected: str) -> None:
        super().__init__(f"must be {expected}")
        self.expected = expected


def _strict(kind: type, expected: str) -> Callable[[Any, type], Any]:
    def hook(value: Any, _: type) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise _TypeMismatch(expected)
        if not isinstance(value, kind):
            raise _TypeMismatch(expected)
        return value

    return hook


_INTEGER_TEXT = re.compile(r"[+-]?\d{1,20}")
_DECIMAL_TEXT_MAX = 64
_TRUE_TEXT = frozenset({"true", "1"})
_FALSE_TEXT = frozenset({"false", "0"})


def _structure_strict_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _TypeMismatch("an integer")


def _structure_lenient_int(value: Any, _: type) -> int:
    # As lenient as the bookstore REST API's original models were (web clients rely on it):
    # an integer, a string of digits, or a float with no fraction. Never a bool.
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return _structure_strict_int(value, int)


def _structure_lenient_bool(value: Any, _: type) -> bool:
    # What a query string carries: "true"/"false"/"1"/"0", in any case.
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_TEXT:
            return True
        if text in _FALSE_TEXT:
            return False
    if isinstance(value, bool):
        return value
    raise _TypeMismatch("a boolean (true or false)")


def _structure_decimal(value: Any, _: type) -> Decimal:
    # A JSON number, or a decimal string (the form money is written in) in both modes. Range
    # and precision are the command's business; here only the shape is read.
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # 15.99 is 15.99, not its binary approximation
    if isinstance(value, str) and len(value) <= _DECIMAL_TEXT_MAX:
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            pass
    raise _TypeMismatch("a decimal number or numeric string")


def _structure_date(value: Any, _: type) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _TypeMismatch("a date as YYYY-MM-DD")


def _structure_datetime(value: Any, _: type) -> datetime:
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _TypeMismatch("an ISO-8601 timestamp with a UTC offset")
    return parsed


def _structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except (ValueError, TypeError):
        allowed = ", ".join(str(m.value) for m in cls)
        raise _TypeMismatch(f"one of: {allowed}") from None


def _is_unset_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and Unset in typing.get_args(tp)


def _unset_union_hook(conv: Converter) -> Callable[[Any, Any], Any]:
    def structure_unset_union(value: Any, tp: Any) -> Any:
        # ``UNSET`` is the default for an absent key; input never carries it, so structure as
        # the rest of the union.
        rest = tuple(arg for arg in typing.get_args(tp) if arg is not Unset)
        target: Any = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007
        return conv.structure(value, target)

    return structure_unset_union


#: Collection types a command may declare; a string is never one of them (``"12"`` is not the
#: ids ``(1, 2)``), nor is a mapping (its keys).
_COLLECTIONS: Final = (tuple, list, set, frozenset, abc.Sequence, abc.Set, abc.Collection)


def _is_collection(tp: Any) -> bool:
    return typing.get_origin(tp) in _COLLECTIONS or tp in _COLLECTIONS


def _no_text_as_collection(base: Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    """A hook factory refusing text and mappings where a collection is declared, then
    structuring as ``base`` (the converter as it was before this hook) does."""

    def factory(tp: Any) -> Callable[[Any, Any], Any]:
        default = base.get_structure_hook(tp)

        def structure_collection(value: Any, target: Any) -> Any:
            if isinstance(value, str | bytes | bytearray | abc.Mapping):
                raise _TypeMismatch("a list")
            return default(value, target)

        return structure_collection

    return factory


def _is_page(tp: Any) -> bool:
    return tp is Page or typing.get_origin(tp) is Page


def _make_converter(*, strict: bool) -> Converter:
    conv = Converter(forbid_extra_keys=strict, detailed_validation=True)
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(int, _structure_strict_int if strict else _structure_lenient_int)
    conv.register_structure_hook(
        bool, _strict(bool, "a boolean") if strict else _structure_lenient_bool
    )
    conv.register_structure_hook(float, _strict(float, "a number"))
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook(date, _structure_date)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum) and t is not Unset,
        _structure_enum,
    )
    conv.register_structure_hook_func(_is_unset_union, _unset_union_hook(conv))
    conv.register_structure_hook_factory(_is_collection, _no_text_as_collection(conv.copy()))

    conv.register_unstructure_hook(Decimal, lambda d: f"{d:.2f}")
    conv.register_unstructure_hook(datetime, lambda d: d.isoformat())
    conv.register_unstructure_hook(date, lambda d: d.isoformat())
    conv.register_unstructure_hook(Book, _unstructure_book)
    conv.register_unstructure_hook(User, _refuse_user)
    conv.register_unstructure_hook(Genre, _unstructure_genre)
    conv.register_unstructure_hook(GenreNode, _unstructure_genre_node)
    conv.register_unstructure_hook_func(_is_page, _unstructure_page)
    return conv


def _unstructure_book(book: Book) -> dict[str, Any]:
    avg = book.avg_rating
    return {
        "id": book.id,
        "title": book.title,
        "author": book.author,
        "price": f"{book.price:.2f}",
        "isbn": book.isbn,
        "genre_id": book.genre_id,
        "description": book.description,
        "cover_image_url": book.cover_image_url,
        "publish_date": book.publish_date.isoformat() if book.publish_date else None,
        "stock_quantity": book.stock_quantity,
        "in_stock": book.in_stock,
        "avg_rating": float(avg) if avg is not None else None,
        "review_count": book.review_count,
        "created_at": book.created_at.isoformat(),
        "updated_at": book.updated_at.isoformat(),
    }


def _refuse_user(user: User) -> Any:
    # A stored account carries its password hash; only ``UserView`` ever leaves the core.
    raise TypeError("a User holds its password hash; unstructure a UserView instead")


def _unstructure_genre(genre: Genre) -> dict[str, Any]:
    return {"id": genre.id, "name": genre.name, "parent_id": genre.parent_id}


def _unstructure_genre_node(root: GenreNode) -> dict[str, Any]:
    # With a stack, not recursion: a tree of any depth renders (stores may hold chains from
    # before the depth limit).
    def shell(node: GenreNode) -> dict[str, Any]:
        return {"id": node.id, "name": node.name, "parent_id": node.parent_id, "children": []}

    top = shell(root)
    stack = [(root, top)]
    while stack:
        node, rendered = stack.pop()
        for child in node.children:
            rendered["children"].append(shell(child))
            stack.append((child, rendered["children"][-1]))
    return top


def _unstructure_page(page: Page[Any]) -> dict[str, Any]:
    return {
        "items": [converter.unstructure(item) for item in page.items],
        "total": page.total,
        "page": page.page,
        "size": page.size,
    }


#: Reads wire and query-string data: digit strings as ints, "true"/"false"/"1"/"0" as bools;
#: unknown keys are ignored. The default of :func:`structure`.
converter = _make_converter(strict=False)
#: Wants each value in its JSON type (a decimal may still be a numeric string, the form money
#: is written in) and refuses unknown keys: ``structure(..., strict=True)``.
strict_converter = _make_converter(strict=True)


def structure(data: object, cls: type[T], *, strict: bool = False) -> T:
    """Build a ``cls`` command from untrusted data: decoded JSON or a query string's values.

    Args:
        data: A mapping of field names to values (for a command class).
        cls: The command (or any type the converter knows).
        strict: ``False`` (the default, for data off the wire): an int may be a string of
            digits or a whole float, a bool ``"true"``/``"false"``/``"1"``/``"0"``, and an
            unknown key is ignored (never applied: a command has no field to put it in).
            ``True``: ints and bools must be JSON numbers and booleans, and each unknown key is
            an ``extra_forbidden`` error. In both, a decimal is a number or a numeric string
            and a date an ISO-8601 string.

    Returns:
        The command, validated and normalised.

    Raises:
        ValidationError: every bad or missing field (and, when ``strict``, unknown field), each
            with its path: wrong types and refused values together.
    """
    if attrs.has(cls) and not isinstance(data, dict):
        raise ValidationError([FieldError((), "must be a JSON object", "type_error")])
    conv = strict_converter if strict else converter
    try:
        return conv.structure(data, cls)
    except ValidationError:
        raise
    except Exception as exc:  # cattrs groups; anything else is a malformed input too
        errors = _field_errors(exc, ())
        if isinstance(data, dict):
            errors += _value_errors_beside(conv, cls, data, {e.loc[0] for e in errors if e.loc})
        raise ValidationError(errors) from None


def unstructure(obj: object) -> Any:
    """Entities, pages and values as JSON-ready data."""
    return converter.unstructure(obj)


def _value_errors_beside(
    conv: Converter, cls: type[Any], data: dict[Any, Any], failed: set[str | int]
) -> list[FieldError]:
    """The value errors of the fields that did structure, so that one answer names every bad
    field even when some others had the wrong type or were missing.

    Each well-typed field is checked on its own by its rule; cross-field checks need every
    field and wait for a structurally sound input.
    """
    if not attrs.has(cls):
        return []
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        return []
    typed: dict[str, Any] = {}
    for spec in attrs.fields(cls):
        if spec.name in data and spec.name not in failed:
            try:
                typed[spec.name] = conv.structure(data[spec.name], hints[spec.name])
            except Exception:
                continue
    return field_problems(cls, typed)


def _field_errors(exc: BaseException, loc: tuple[str | int, ...]) -> list[FieldError]:
    if isinstance(exc, ForbiddenExtraKeysError):
        return [
            FieldError((*loc, name), "unknown field", "extra_forbidden")
            for name in sorted(exc.extra_fields)
        ]
    if isinstance(exc, ClassValidationError | IterableValidationError):
        found: list[FieldError] = []
        for inner in exc.exceptions:
            here = loc
            for note in getattr(inner, "__notes__", ()):
                if isinstance(note, AttributeValidationNote):
                    here = (*loc, note.name)
                elif isinstance(note, IterableValidationNote):
                    here = (*loc, note.index)
            found.extend(_field_errors(inner, here))
        return found
    if isinstance(exc, ValidationError):
        return [FieldError((*loc, *e.loc), e.msg, e.type) for e in exc.errors]
    if isinstance(exc, KeyError):
        return [FieldError(loc, "field required", "missing")]
    if isinstance(exc, _TypeMismatch):
        return [FieldError(loc, str(exc), "type_error")]
    return [FieldError(loc, "invalid value", "value_error")]
