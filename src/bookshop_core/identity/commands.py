"""Identity commands: what a caller asks for, validated and normalised on construction.

Every field has its true type and holds its normalised value once the command exists. Build
them in Python, or from untrusted JSON with ``bookshop_core.structure``: an unknown key (a
``role`` smuggled into a registration, say) is ignored (refused in strict mode) and never
applied, and every bad field is reported at once.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final

from attrs import field, frozen

from bookshop_core.errors import ValidationError
from bookshop_core.identity.passwords import (
    DEFAULT_PASSWORD_POLICY,
    HARD_MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    normalize_password,
)
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, PageRequest
from bookshop_core.kernel.principal import Role
from bookshop_core.kernel.validation import (
    Problems,
    check_fields,
    check_optional_flag,
    check_page,
    check_page_size,
    has_lone_surrogates,
    install_normalisers,
    rule,
    strip_optional_text,
    text,
)

__all__ = [
    "DISPLAY_NAME_MAX_LENGTH",
    "EMAIL_MAX_LENGTH",
    "ChangeDisplayName",
    "ChangeRole",
    "ListUsers",
    "Login",
    "Register",
    "normalize_email",
]

EMAIL_MAX_LENGTH: Final = 254
#: The longest display name (the public name shown on reviews).
DISPLAY_NAME_MAX_LENGTH: Final = 100
#: A display name: trimmed, 1..100 characters; blank or ``None`` means "none" (the account
#: then shows as ``"Reader #<id>"``).
_DISPLAY_NAME: Final = text(max_length=DISPLAY_NAME_MAX_LENGTH, nullable=True)
_LOCAL_MAX: Final = 64
_LABEL_MAX: Final = 63
_LOCAL_SPECIALS: Final = frozenset("!#$%&'*+-/=?^_`{|}~.")
_SEARCH_MAX: Final = 254


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


def _password_shape_problems(password: object) -> list[str]:
    """What the request's schema refuses in a new password (type, encoding, length); the
    shop's password policy (common, repetitive, made from the email) is a domain rule that
    :class:`~bookshop_core.identity.Identity` applies afterwards, refusing in the flat form."""
    if not isinstance(password, str) or "\x00" in password or has_lone_surrogates(password):
        return DEFAULT_PASSWORD_POLICY.problems(password)  # says which of the three
    length = len(normalize_password(password))
    if length < MIN_PASSWORD_LENGTH:
        return [f"must have at least {MIN_PASSWORD_LENGTH} characters"]
    if length > HARD_MAX_PASSWORD_LENGTH:
        return [f"must have at most {HARD_MAX_PASSWORD_LENGTH} characters"]
    return []


def _normalise_email(value: Any) -> Any:
    try:
        return normalize_email(value)
    except ValidationError:
        return value


def _check_email(problems: Problems, name: str, value: Any) -> None:
    problem = _email_problem(value)
    if problem is not None:
        problems.add(name, problem)


def _check_new_password(problems: Problems, name: str, value: Any) -> None:
    for reason in _password_shape_problems(value):
        problems.add(name, reason)


def _normalise_password(value: Any) -> Any:
    # Bounded: a megabyte of "password" is refused by the check, not normalised first.
    if isinstance(value, str) and len(value) <= HARD_MAX_PASSWORD_LENGTH:
        return normalize_password(value)
    return value


def _check_given_password(problems: Problems, name: str, value: Any) -> None:
    if not isinstance(value, str):
        problems.add(name, "must be a string", "type_error")
    elif len(value) > HARD_MAX_PASSWORD_LENGTH:
        problems.add(name, f"must have at most {HARD_MAX_PASSWORD_LENGTH} characters")


def _normalise_login_email(value: Any) -> Any:
    # Only the shape of a sign-in email is checked: one that names no account is simply
    # wrong credentials. It is compared in the same canonical form as a registered one.
    if isinstance(value, str) and len(value) <= EMAIL_MAX_LENGTH * 4:
        return unicodedata.normalize("NFC", value.strip()).lower()
    return value


def _check_login_email(problems: Problems, name: str, value: Any) -> None:
    if not isinstance(value, str):
        problems.add(name, "must be a string", "type_error")
    elif len(value) > EMAIL_MAX_LENGTH * 4:
        problems.add(name, f"must have at most {EMAIL_MAX_LENGTH} characters")
    elif has_lone_surrogates(value) or not value.strip().isprintable():
        # Never text a store could hold (a lone surrogate does not encode, PostgreSQL refuses
        # NUL): refused here so that no adapter ever sees it.
        problems.add(name, "must not contain control characters or invalid Unicode")


def _role(value: Any) -> Any:
    try:
        return Role(value)
    except ValueError:
        return value


def _check_role(problems: Problems, name: str, value: Any) -> None:
    if value is not None and not isinstance(value, Role):
        problems.add(name, "must be one of: user, admin", "enum")


def _search_text(value: Any) -> Any:
    stripped = strip_optional_text(value)
    return stripped.lower() if isinstance(stripped, str) else stripped


def _check_search(problems: Problems, name: str, value: Any) -> None:
    problems.check_text(name, value, max_length=_SEARCH_MAX, nullable=True)


@frozen(field_transformer=install_normalisers)
class Register:
    """Open an account with an email and a password. There is deliberately no ``role``: every
    registered account is a plain user (``structure`` ignores, or in strict mode refuses, a
    ``role`` key; it is never applied).

    The email is normalised (trimmed, NFC, lower case) and the password NFKC-normalised. Only
    the password's shape is checked here (a string, valid Unicode, a length in bounds); the
    shop's :class:`~bookshop_core.identity.PasswordPolicy` is applied by
    :meth:`Identity.register <bookshop_core.identity.Identity.register>`.

    Raises:
        ValidationError: a bad email and/or a malformed password, together.
    """

    email: str = field(metadata=rule(_check_email, _normalise_email))
    password: str = field(repr=False, metadata=rule(_check_new_password, _normalise_password))
    #: The name others see on the account's reviews (optional, 1..100 characters).
    display_name: str | None = field(default=None, metadata=_DISPLAY_NAME)

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen(field_transformer=install_normalisers)
class ChangeDisplayName:
    """Set the caller's display name (1..100 characters, trimmed); ``None`` or blank goes
    back to the neutral ``"Reader #<id>"``."""

    display_name: str | None = field(metadata=_DISPLAY_NAME)

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen(field_transformer=install_normalisers)
class Login:
    """Sign in with an email and a password.

    Only the shape is checked here: an email that names no account, or a password that no
    policy would accept, is simply wrong credentials (the same answer as a wrong password).

    Raises:
        ValidationError: a field that is not a string, or absurdly long.
    """

    email: str = field(metadata=rule(_check_login_email, _normalise_login_email))
    password: str = field(repr=False, metadata=rule(_check_given_password, _normalise_password))

    def __attrs_post_init__(self) -> None:
        check_fields(self).raise_if_any()


@frozen(field_transformer=install_normalisers)
class ListUsers:
    """Filters and page for the admin's list of accounts (newest first).

    Args:
        page: From 1.
        per_page: From 1 to 100.
        role: Only accounts with this role.
        is_active: Only active (``True``) or deactivated (``False``) accounts.
        q: Only accounts whose email contains this text (case-insensitive, literal).
    """

    page: int = field(default=1, metadata=rule(check_page))
    per_page: int = field(default=DEFAULT_PAGE_SIZE, metadata=rule(check_page_size))
    role: Role | None = field(default=None, metadata=rule(_check_role, _role))
    is_active: bool | None = field(default=None, metadata=rule(check_optional_flag))
    q: str | None = field(default=None, metadata=rule(_check_search, _search_text))

    def __attrs_post_init__(self) -> None:
        problems = check_fields(self)
        if not problems.errors:
            try:
                PageRequest(self.page, self.per_page)  # how deep a page may go
            except ValidationError as exc:
                for error in exc.errors:
                    name = "per_page" if error.loc == ("size",) else str(error.loc[0])
                    problems.add(name, error.msg, error.type)
        problems.raise_if_any()

    @property
    def page_request(self) -> PageRequest:
        return PageRequest(self.page, self.per_page)


@frozen(field_transformer=install_normalisers)
class ChangeRole:
    """Give an account the role ``role`` (a :class:`Role` or its value)."""

    role: Role = field(metadata=rule(_check_role, _role))

    def __attrs_post_init__(self) -> None:
        problems = check_fields(self)
        if self.role is None:
            problems.add("role", "must be one of: user, admin", "enum")
        problems.raise_if_any()
