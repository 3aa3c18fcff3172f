"""The one error tree of bookshop.

Every failure a caller can cause is a :class:`DomainError` with a stable machine ``code``, a
human ``message``, the ``field`` at fault when one input is to blame, and structured
``details``. Frontends map codes to their transport's status codes; adapters translate driver
exceptions into these classes at the boundary (``raise ... from exc``)::

    DomainError
    ├── ValidationError            VALIDATION_ERROR (every bad field at once, in ``errors``)
    ├── NotFound                   BOOK_NOT_FOUND, GENRE_NOT_FOUND, USER_NOT_FOUND, ...
    ├── Conflict                   BOOK_ISBN_CONFLICT, GENRE_CONFLICT, GENRE_IN_USE, ...
    ├── AuthenticationError        AUTH_INVALID_CREDENTIALS, AUTH_TOKEN_INVALID, ...
    ├── PermissionDenied           AUTH_FORBIDDEN, AUTH_ACCOUNT_DEACTIVATED, ...
    ├── RateLimited                AUTH_TOO_MANY_ATTEMPTS
    └── Unavailable                STORE_UNAVAILABLE, ...

Codes are the contract; classes are a convenience for ``except`` clauses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attrs import field, frozen

__all__ = [
    "AuthenticationError",
    "Conflict",
    "DomainError",
    "FieldError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "Unavailable",
    "ValidationError",
]


class DomainError(Exception):
    """Base of every error a bookshop use case raises on purpose.

    Args:
        message: A sentence for humans; never parsed by machines.
        code: The stable machine code; defaults to the class's ``default_code``.
        field: The one input at fault, when there is one.
        details: JSON-ready structured extras (e.g. ``existing_review_id``).
    """

    default_code = "DOMAIN_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
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
    """Input of the wrong shape, type or range. ``errors`` lists every bad field at once."""

    default_code = "VALIDATION_ERROR"

    def __init__(
        self,
        errors: Sequence[FieldError],
        *,
        message: str | None = None,
        code: str | None = None,
    ) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        fields = [".".join(str(part) for part in e.loc) for e in self.errors]
        only = fields[0] if len(set(fields)) == 1 and fields[0] else None
        text = message or "; ".join(
            f"{name}: {e.msg}" if name else e.msg
            for name, e in zip(fields, self.errors, strict=True)
        )
        super().__init__(text or "invalid input", code=code, field=only)

    @classmethod
    def single(cls, field_name: str, msg: str, type_: str = "value_error") -> ValidationError:
        """A validation error about one field."""
        return cls([FieldError((field_name,), msg, type_)])

    def to_dict(self) -> dict[str, Any]:
        return {"detail": [e.to_dict() for e in self.errors], "code": self.code}


class NotFound(DomainError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    default_code = "NOT_FOUND"


class Conflict(DomainError):
    """The request contradicts the current state (duplicates, illegal transitions, in use)."""

    default_code = "CONFLICT"


class AuthenticationError(DomainError):
    """Who is calling could not be established."""

    default_code = "AUTH_TOKEN_INVALID"


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    default_code = "AUTH_FORBIDDEN"


class RateLimited(DomainError):
    """Too many attempts; try again later (``details['retry_after']`` seconds when known)."""

    default_code = "TOO_MANY_ATTEMPTS"


class Unavailable(DomainError):
    """A backing service (the store, a provider) cannot be reached right now."""

    default_code = "STORE_UNAVAILABLE"
