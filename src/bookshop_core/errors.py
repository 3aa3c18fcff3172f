"""The one error tree of bookshop, and the registry of every error code.

Every failure a caller can cause is a :class:`DomainError` with a stable machine ``code``, a
human ``message``, the ``field`` at fault when one input is to blame, and structured
``details``. Each code is one class, declared once, in the core, beside its context
(``catalog/errors.py``, ``identity/errors.py``; the shared ones below). The class fixes the
code, its category (the class it derives from) and its field; adapters raise those classes,
never a code spelled as a string. Adapters translate driver exceptions into them at the
boundary (``raise ... from exc``)::

    DomainError
    ├── ValidationError            VALIDATION_ERROR (every bad field at once, in ``errors``)
    ├── NotFound                   BOOK_NOT_FOUND, GENRE_NOT_FOUND, USER_NOT_FOUND, ...
    ├── Conflict                   BOOK_ISBN_CONFLICT, GENRE_CONFLICT, GENRE_IN_USE, ...
    ├── AuthenticationError        AUTH_INVALID_CREDENTIALS, AUTH_TOKEN_INVALID, ...
    ├── PermissionDenied           AUTH_FORBIDDEN, AUTH_ACCOUNT_DEACTIVATED, ...
    ├── RateLimited                AUTH_TOO_MANY_ATTEMPTS
    ├── Unavailable                STORE_UNAVAILABLE, STORE_BUSY, STORE_SCHEMA_MISSING, ...
    └── BadRequest                 HTTP_400 (an upload that is not an acceptable image)

The categories themselves are abstract: only a class that declares a ``code`` can be raised.
Declaring one registers it in :data:`ERRORS`, the public map from code to class that
frontends build their status tables from (each class suggests an ``http_status``)::

    from bookshop_core.errors import ERRORS

    status = ERRORS["BOOK_NOT_FOUND"].http_status  # 404

Codes are the contract; classes are for ``except`` clauses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, Final

from attrs import field, frozen

__all__ = [
    "ERRORS",
    "AuthenticationError",
    "BadRequest",
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "StoreBusy",
    "StoreSchemaMissing",
    "StoreUnavailable",
    "Unavailable",
    "ValidationError",
]

_registry: dict[str, type[DomainError]] = {}

#: Every error code of the library and the one class that raises it (read-only). Each
#: class carries its category (its base), ``http_status`` and ``default_field``.
ERRORS: Final[Mapping[str, type[DomainError]]] = MappingProxyType(_registry)


class DomainError(Exception):
    """Base of every error a bookshop use case raises on purpose.

    Subclasses declare ``code`` (which registers them in :data:`ERRORS`), ``message`` (the
    default sentence), ``default_field`` and ``http_status``.

    Args:
        message: A sentence for humans; never parsed by machines (default: the class's).
        code: Selects the registered class of that code, which must belong to the class
            called (``NotFound("...", code="BOOK_NOT_FOUND")`` is a ``BookNotFound``); prefer
            the class itself.
        field: The one input at fault, when there is one (default: the class's).
        details: JSON-ready structured extras (e.g. ``existing_review_id``).

    Raises:
        TypeError: instantiating a category (a class that declares no ``code`` of its own),
            or a ``code`` that is not registered under the class called.
    """

    code: ClassVar[str] = ""
    default_message: ClassVar[str] = "The request failed"
    default_field: ClassVar[str | None] = None
    #: The HTTP status a frontend should answer with (a suggestion; frontends decide).
    http_status: ClassVar[int] = 400

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if not code:
            return
        taken = _registry.get(code)
        if taken is not None and taken.__qualname__ != cls.__qualname__:
            raise TypeError(f"error code {code} is already {taken.__qualname__}")
        _registry[code] = cls

    def __new__(cls, *args: Any, code: str | None = None, **kwargs: Any) -> DomainError:
        if code is not None:
            # A code spelled as a string only selects its registered class.
            registered = _registry.get(code)
            if registered is None or not issubclass(registered, cls):
                raise TypeError(f"{code!r} is not a registered {cls.__name__} code")
            cls = registered
        elif not cls.__dict__.get("code"):
            raise TypeError(f"{cls.__name__} is a category; raise one of its registered errors")
        return super().__new__(cls, *args)

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        text = message or self.default_message
        super().__init__(text)
        self.message = text
        self.field = field if field is not None else self.default_field
        self.details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data: ``detail``, ``code``, ``field`` and any details."""
        body: dict[str, Any] = {"detail": self.message, "code": self.code}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.details)
        return body


def _to_loc(parts: Iterable[str | int]) -> tuple[str | int, ...]:
    return tuple(parts)


@frozen
class FieldError:
    """One bad input: where (``loc``, a path of keys and indexes), why, and a short type tag."""

    loc: tuple[str | int, ...] = field(converter=_to_loc)
    msg: str
    type: str = "value_error"

    def to_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class ValidationError(DomainError):
    """Bad input. ``errors`` lists every bad field at once.

    Two shapes, as the wire contract has them: input of the wrong shape, type or range (what a
    request schema catches: :meth:`single`, or a list of :class:`FieldError`) renders every
    field in a list; a well-formed value that a domain rule refuses (a common password, an
    unknown genre: :meth:`refused`) renders flat, ``{"detail": "<message>", "code",
    "field"}``, because it is one sentence about one field.
    """

    code = "VALIDATION_ERROR"
    default_message = "Invalid input"
    http_status = 422

    def __init__(
        self,
        errors: Sequence[FieldError],
        *,
        message: str | None = None,
        rule: bool = False,
    ) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        #: ``True`` when a domain rule refused a well-formed value (the flat wire form).
        self.rule = rule
        fields = [".".join(str(part) for part in e.loc) for e in self.errors]
        only = fields[0] if len(set(fields)) == 1 and fields[0] else None
        text = message or "; ".join(
            f"{name}: {e.msg}" if name else e.msg
            for name, e in zip(fields, self.errors, strict=True)
        )
        super().__init__(text or "invalid input", field=only)
        if rule and self.errors:
            # The flat form names the field by its last key, as existing web clients expect.
            self.field = str(self.errors[0].loc[-1]) if self.errors[0].loc else None

    @classmethod
    def single(cls, field_name: str, msg: str, type_: str = "value_error") -> ValidationError:
        """Input of the wrong shape, type or range, in one field."""
        return cls([FieldError((field_name,), msg, type_)])

    @classmethod
    def refused(cls, field_name: str, msg: str, type_: str = "value_error") -> ValidationError:
        """A well-formed value of ``field_name`` that a domain rule refuses; ``msg`` is the
        whole sentence a user reads."""
        return cls([FieldError((field_name,), msg, type_)], message=msg, rule=True)

    def located(self, *prefix: str | int) -> ValidationError:
        """The same error with every field located under ``prefix`` (e.g. ``"body"``)."""
        errors = [FieldError((*prefix, *e.loc), e.msg, e.type) for e in self.errors]
        return ValidationError(errors, message=self.message, rule=self.rule)

    def to_dict(self) -> dict[str, Any]:
        if self.rule:
            return super().to_dict()
        return {"detail": [e.to_dict() for e in self.errors], "code": self.code}


class NotFound(DomainError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    http_status = 404


class Conflict(DomainError):
    """The request contradicts the current state (duplicates, illegal transitions, in use)."""

    http_status = 409


class AuthenticationError(DomainError):
    """Who is calling could not be established."""

    http_status = 401


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    http_status = 403


class RateLimited(DomainError):
    """Too many attempts; try again later (``details['retry_after']`` seconds when known)."""

    http_status = 429


class Unavailable(DomainError):
    """A backing service (the store, a provider) cannot be reached right now."""

    http_status = 503


class BadRequest(DomainError):
    """A request the transport should refuse as a whole (e.g. an upload that is no image)."""

    http_status = 400


# -- the errors every context shares ----------------------------------------------------------


class Forbidden(PermissionDenied):
    """The caller lacks the role this needs (admin)."""

    code = "AUTH_FORBIDDEN"
    default_message = "Admin privileges required"


class StoreUnavailable(Unavailable):
    """The store cannot be reached: connection refused or lost, file unopenable, disk full,
    or a statement or connection wait past its configured timeout."""

    code = "STORE_UNAVAILABLE"
    default_message = "The store is unavailable"


class StoreBusy(Unavailable):
    """The store is too contended right now; retrying may succeed."""

    code = "STORE_BUSY"
    default_message = "The store is busy; try again"


class StoreSchemaMissing(Unavailable):
    """The database lacks a table or column: it was never migrated, or is behind the code."""

    code = "STORE_SCHEMA_MISSING"
    default_message = (
        "The database schema is missing or out of date; run the migrations (bookshop migrate)"
    )
