"""Identity commands: what a caller asks for, validated and normalised on construction.

Build them in Python, or from untrusted JSON with ``bookshop_core.structure``: unknown keys (a
``role`` smuggled into a registration, say) are refused with ``VALIDATION_ERROR``, and every bad
field is reported at once.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from attrs import field, frozen

from bookshop_core.errors import ValidationError
from bookshop_core.identity.passwords import (
    DEFAULT_PASSWORD_POLICY,
    HARD_MAX_PASSWORD_LENGTH,
    normalize_password,
)
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, PageRequest
from bookshop_core.kernel.principal import Role
from bookshop_core.kernel.validation import Problems

__all__ = [
    "EMAIL_MAX_LENGTH",
    "ChangeRole",
    "ListUsers",
    "Login",
    "Register",
    "normalize_email",
]

EMAIL_MAX_LENGTH: Final = 254
_LOCAL_MAX: Final = 64
_LABEL_MAX: Final = 63
_LOCAL_SPECIALS: Final = frozenset("!#$%&'*+-/=?^_`{|}~.")
_SEARCH_MAX: Final = 254


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen command in its own post-init


def _email_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > EMAIL_MAX_LENGTH * 4:
        return f"must have at most {EMAIL_MAX_LENGTH} characters"
    email = unicodedata.normalize("NFC", value.strip())
    if not email:
        return "must not be empty"
    if len(email) > EMAIL_MAX_LENGTH:
        return f"must have at most {EMAIL_MAX_LENGTH} characters"
    if any(unicodedata.category(c).startswith(("C", "Z")) for c in email):
        return "must not contain spaces or control characters"
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return "must be an email address like name@example.com"
    if len(local) > _LOCAL_MAX:
        return f"must have at most {_LOCAL_MAX} characters before the @"
    if (
        local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or any(not (c.isalnum() or c in _LOCAL_SPECIALS) for c in local)
    ):
        return "has an invalid part before the @"
    labels = domain.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return "must have a domain like example.com"
    for label in labels:
        if (
            not 1 <= len(label) <= _LABEL_MAX
            or label.startswith("-")
            or label.endswith("-")
            or any(not (c.isalnum() or c == "-") for c in label)
        ):
            return "has an invalid domain"
    return None


def normalize_email(value: object, *, field: str = "email") -> str:
    """The canonical form of an email: trimmed, NFC, lower case (so uniqueness is
    case-insensitive).

    Raises:
        ValidationError: not a plausible email address (field ``field``).
    """
    problem = _email_problem(value)
    if problem is not None:
        raise ValidationError.single(field, problem)
    assert isinstance(value, str)
    return unicodedata.normalize("NFC", value.strip()).lower()


def _check_email(problems: Problems, cmd: object) -> None:
    try:
        _set(cmd, "email", normalize_email(getattr(cmd, "email")))  # noqa: B009
    except ValidationError as exc:
        problems.absorb(exc)


@frozen
class Register:
    """Open an account with an email and a password. There is deliberately no ``role``: every
    registered account is a plain user.

    The email is normalised; the password must satisfy the default
    :class:`~bookshop_core.identity.PasswordPolicy` (the shop's configured policy is applied
    again by :meth:`Identity.register <bookshop_core.identity.Identity.register>`).

    Raises:
        ValidationError: a bad email and/or a weak, common or malformed password, together.
    """

    email: str
    password: str = field(repr=False)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_email(problems, self)
        email = self.email if not problems.errors else None
        for reason in DEFAULT_PASSWORD_POLICY.problems(self.password, email=email):
            problems.add("password", reason)
        problems.raise_if_any()
        _set(self, "password", normalize_password(self.password))


@frozen
class Login:
    """Sign in with an email and a password.

    Only the shape is checked here: an email that names no account, or a password that no
    policy would accept, is simply wrong credentials (the same answer as a wrong password).

    Raises:
        ValidationError: a field that is not a string, or absurdly long.
    """

    email: str
    password: str = field(repr=False)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        if not isinstance(self.email, str):
            problems.add("email", "must be a string", "type_error")
        elif len(self.email) > EMAIL_MAX_LENGTH * 4:
            problems.add("email", f"must have at most {EMAIL_MAX_LENGTH} characters")
        else:
            _set(self, "email", unicodedata.normalize("NFC", self.email.strip()).lower())
        if not isinstance(self.password, str):
            problems.add("password", "must be a string", "type_error")
        elif len(self.password) > HARD_MAX_PASSWORD_LENGTH:
            problems.add("password", f"must have at most {HARD_MAX_PASSWORD_LENGTH} characters")
        else:
            _set(self, "password", normalize_password(self.password))
        problems.raise_if_any()


@frozen
class ListUsers:
    """Filters and page for the admin's list of accounts (newest first).

    Args:
        page: From 1.
        per_page: From 1 to 100.
        role: Only accounts with this role.
        is_active: Only active (``True``) or deactivated (``False``) accounts.
        q: Only accounts whose email contains this text (case-insensitive, literal).
    """

    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE
    role: Role | None = None
    is_active: bool | None = None
    q: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        try:
            PageRequest(self.page, self.per_page)
        except ValidationError as exc:
            for error in exc.errors:
                name = "per_page" if error.loc == ("size",) else str(error.loc[0])
                problems.add(name, error.msg, error.type)
        if self.role is not None:
            try:
                _set(self, "role", Role(self.role))
            except ValueError:
                problems.add("role", "must be one of: user, admin", "enum")
        if self.is_active is not None and not isinstance(self.is_active, bool):
            problems.add("is_active", "must be a boolean", "type_error")
        if self.q is not None:
            text = problems.text("q", self.q, max_length=_SEARCH_MAX, nullable=True)
            _set(self, "q", text.lower() if text else None)
        problems.raise_if_any()

    @property
    def page_request(self) -> PageRequest:
        return PageRequest(self.page, self.per_page)


@frozen
class ChangeRole:
    """Give an account the role ``role``."""

    role: Role

    def __attrs_post_init__(self) -> None:
        try:
            _set(self, "role", Role(self.role))
        except ValueError:
            raise ValidationError.single("role", "must be one of: user, admin", "enum") from None
