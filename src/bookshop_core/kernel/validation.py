"""Small helpers that check many inputs and report every bad field at once.

A command is an attrs class whose fields carry a :class:`Rule` (``field(metadata=rule(...))``):
the constructor normalises each value (:func:`install_normalisers`), then the command's
``__attrs_post_init__`` runs :func:`check_fields`, adds its cross-field checks and raises one
``ValidationError`` naming every bad field.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
from attrs import frozen

from bookshop_core.errors import FieldError, ValidationError
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.pagination import MAX_PAGE_SIZE

__all__ = [
    "UNSET",
    "Problems",
    "Rule",
    "Unset",
    "check_fields",
    "check_flag",
    "check_id_field",
    "check_optional_flag",
    "check_optional_id",
    "check_page",
    "check_page_size",
    "field_problems",
    "has_lone_surrogates",
    "install_normalisers",
    "integer",
    "rule",
    "strip_optional_text",
    "strip_text",
    "text",
]


class Unset(enum.Enum):
    """Marks a field absent from a PATCH-style command (as opposed to ``None``, "clear it")."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset.UNSET


def has_lone_surrogates(value: str) -> bool:
    """Whether ``value`` holds an unpaired UTF-16 surrogate (JSON's ``"\\ud800"`` decodes to
    one): not text, UTF-8 cannot encode it, so once stored it would break every response
    showing it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class Problems:
    """Collects field errors, then raises them together as one :class:`ValidationError`."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, msg: str, type_: str = "value_error") -> None:
        self.errors.append(FieldError((field,), msg, type_))

    def absorb(self, error: ValidationError) -> None:
        self.errors.extend(error.errors)

    def check_text(
        self,
        field: str,
        value: str | None,
        *,
        max_length: int,
        min_length: int = 1,
        nullable: bool = False,
    ) -> None:
        """Report what :meth:`text` would, without returning the normalised text."""
        self.text(field, value, max_length=max_length, min_length=min_length, nullable=nullable)

    def text(
        self,
        field: str,
        value: str | None,
        *,
        max_length: int,
        min_length: int = 1,
        nullable: bool = False,
    ) -> str | None:
        """Strip ``value`` and check its length; ``None`` passes only when ``nullable``.

        Empty optional text becomes ``None`` so that "" and null mean the same thing.
        """
        if value is None:
            if not nullable:
                self.add(field, "may not be null", "missing")
            return None
        if not isinstance(value, str):
            self.add(field, "must be a string", "type_error")
            return None
        if "\x00" in value:
            self.add(field, "must not contain NUL characters")
            return None
        if has_lone_surrogates(value):
            self.add(field, "must be valid Unicode (no lone surrogates)")
            return None
        stripped = value.strip()
        if nullable and not stripped:
            return None
        if len(stripped) < min_length:
            self.add(field, f"must have at least {min_length} character(s)")
        elif len(stripped) > max_length:
            self.add(field, f"must have at most {max_length} characters")
        return stripped

    def failed(self, field: str) -> bool:
        """Whether a problem was already found on ``field``."""
        return any(error.loc[:1] == (field,) for error in self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


# -- command fields: normalise, then check -------------------------------------------------------

_RULE: Final = "bookshop.rule"


def _unchanged(value: Any) -> Any:
    return value


def _no_check(problems: Problems, name: str, value: Any) -> None:
    return None


@frozen
class Rule:
    """How one command field is normalised and checked.

    ``normalise`` turns a good value into its canonical form (a trimmed text, a price in
    cents, an ISBN-13) and leaves a value it cannot read exactly as it was; ``check`` then
    reports, into a :class:`Problems`, whatever is wrong with the normalised value. Keeping the
    two apart lets a command report every bad field at once while its attributes only ever hold
    normalised values of their declared types once it exists.
    """

    normalise: Callable[[Any], Any] = _unchanged
    check: Callable[[Problems, str, Any], None] = _no_check


def rule(
    check: Callable[[Problems, str, Any], None] = _no_check,
    normalise: Callable[[Any], Any] = _unchanged,
) -> dict[str, Rule]:
    """Field metadata for a command field: ``field(metadata=rule(check, normalise))``."""
    return {_RULE: Rule(normalise, check)}


def _rule_of(spec: attrs.Attribute[Any]) -> Rule | None:
    found = spec.metadata.get(_RULE)
    return found if isinstance(found, Rule) else None


def _skipping_unset(normalise: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return value if value is UNSET else normalise(value)

    return convert


def install_normalisers(cls: type, specs: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """An attrs ``field_transformer``: each field's rule normaliser becomes its converter.

    Usage: ``@frozen(field_transformer=install_normalisers)``. Type checkers see the fields'
    true types; at run time the constructor normalises every value before it is stored.
    """
    installed = []
    for spec in specs:
        found = _rule_of(spec)
        if found is not None and found.normalise is not _unchanged:
            spec = spec.evolve(converter=_skipping_unset(found.normalise))
        installed.append(spec)
    return installed


def check_fields(command: attrs.AttrsInstance) -> Problems:
    """Run the rule of every field of ``command`` (``UNSET`` fields are skipped).

    Returns:
        The problems found, for the command to add its cross-field checks and raise.
    """
    problems = Problems()
    for spec in attrs.fields(type(command)):
        found = _rule_of(spec)
        value = getattr(command, spec.name)
        if found is not None and value is not UNSET:
            found.check(problems, spec.name, value)
    return problems


def field_problems(cls: type, values: Mapping[str, Any]) -> list[FieldError]:
    """The problems of the given field values of command ``cls``, each normalised and checked
    on its own (no cross-field checks): what a parser reports beside fields of a wrong type.
    """
    problems = Problems()
    for spec in attrs.fields(cls):
        found = _rule_of(spec)
        if found is None or spec.name not in values or values[spec.name] is UNSET:
            continue
        found.check(problems, spec.name, found.normalise(values[spec.name]))
    return problems.errors


def strip_text(value: Any) -> Any:
    """A string without its surrounding whitespace; anything else as it is."""
    return value.strip() if isinstance(value, str) else value


def strip_optional_text(value: Any) -> Any:
    """As :func:`strip_text`, and blank text becomes ``None`` ("" and null mean "none")."""
    stripped = strip_text(value)
    return None if stripped == "" else stripped


def text(*, max_length: int, min_length: int = 1, nullable: bool = False) -> dict[str, Rule]:
    """The rule of a text field: trimmed; no NUL or lone surrogate; a length in bounds;
    ``None`` (or blank) allowed only when ``nullable``."""

    def check(problems: Problems, name: str, value: Any) -> None:
        problems.check_text(
            name, value, max_length=max_length, min_length=min_length, nullable=nullable
        )

    return rule(check, strip_optional_text if nullable else strip_text)


# -- checks shared by many commands ---------------------------------------------------------------


def check_id_field(problems: Problems, name: str, value: Any) -> None:
    """A required store id (:func:`~bookshop_core.kernel.ids.check_id`)."""
    try:
        check_id(value, name)
    except ValidationError as exc:
        problems.absorb(exc)


def check_optional_id(problems: Problems, name: str, value: Any) -> None:
    """A store id, or ``None``."""
    if value is not None:
        check_id_field(problems, name, value)


def check_flag(problems: Problems, name: str, value: Any) -> None:
    """A boolean."""
    if not isinstance(value, bool):
        problems.add(name, "must be a boolean", "type_error")


def check_optional_flag(problems: Problems, name: str, value: Any) -> None:
    """A boolean, or ``None``."""
    if value is not None:
        check_flag(problems, name, value)


def check_page(problems: Problems, name: str, value: Any) -> None:
    """A page number, from 1 (:class:`~bookshop_core.kernel.pagination.PageRequest` adds the
    depth limit)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.add(name, "must be an integer >= 1")


def check_page_size(problems: Problems, name: str, value: Any) -> None:
    """A page size, from 1 to :data:`~bookshop_core.kernel.pagination.MAX_PAGE_SIZE`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        problems.add(name, f"must be an integer from 1 to {MAX_PAGE_SIZE}")


def integer(low: int, high: int, *, nullable: bool = False) -> dict[str, Rule]:
    """The rule of an integer field from ``low`` to ``high`` (never a bool); ``None`` allowed
    only when ``nullable``."""

    def check(problems: Problems, name: str, value: Any) -> None:
        if value is None and nullable:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(name, "must be an integer", "type_error")
        elif not low <= value <= high:
            problems.add(name, f"must be an integer from {low} to {high}")

    return rule(check)
