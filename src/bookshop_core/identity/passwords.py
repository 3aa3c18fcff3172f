"""The password policy: length bounds, a bundled list of common passwords, context checks.

The rules follow NIST SP 800-63B: at least 8 characters, long passphrases welcome (up to
:data:`MAX_PASSWORD_LENGTH` by default, far more than 64), no composition rules, but known
common passwords, very repetitive ones and ones built from the account's email are refused.
An upper bound keeps a client from making the server hash megabytes (hash-DoS).

Passwords are normalised to Unicode NFKC before checking and hashing (and again at sign-in), so
the same password typed on two keyboards producing different code points still matches.
"""

from __future__ import annotations

import functools
import unicodedata
from importlib.resources import files
from typing import Final

from attrs import field, frozen

from bookshop_core.kernel.validation import has_lone_surrogates

__all__ = [
    "COMMON_PASSWORDS_RESOURCE",
    "DEFAULT_PASSWORD_POLICY",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PasswordPolicy",
    "common_passwords",
    "is_common_password",
    "normalize_password",
]

MIN_PASSWORD_LENGTH: Final = 8
#: Long passphrases are welcome; beyond this a "password" is an attempt to burn CPU.
MAX_PASSWORD_LENGTH: Final = 256
#: No policy may allow more than this many characters.
HARD_MAX_PASSWORD_LENGTH: Final = 1024
#: The bundled list, one lower-case password per line (a resource of this package).
COMMON_PASSWORDS_RESOURCE: Final = "common_passwords.txt"
_MIN_DISTINCT_CHARACTERS: Final = 4
_MIN_EMAIL_PART: Final = 4


def normalize_password(password: str) -> str:
    """The NFKC form of ``password``: what is checked, hashed and verified."""
    return unicodedata.normalize("NFKC", password)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords, lower case (loaded once)."""
    text = files(__package__ or "bookshop_core.identity").joinpath(COMMON_PASSWORDS_RESOURCE)
    lines = text.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip())


def is_common_password(password: str) -> bool:
    """Whether ``password`` (compared case-insensitively) is on the bundled list."""
    return normalize_password(password).casefold() in common_passwords()


def _check_bounds(instance: PasswordPolicy, attribute: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("password lengths must be integers")
    if not 1 <= value <= HARD_MAX_PASSWORD_LENGTH:
        raise ValueError(f"password lengths must be from 1 to {HARD_MAX_PASSWORD_LENGTH}")


@frozen
class PasswordPolicy:
    """What a new password must satisfy.

    Args:
        min_length: Fewest characters (after NFKC normalisation); at least 8 is recommended.
        max_length: Most characters; keep it well above 64 for passphrases.
        refuse_common: Refuse passwords on the bundled common-password list.

    Raises:
        ValueError: ``min_length`` greater than ``max_length`` or a bound out of range.
    """

    min_length: int = field(default=MIN_PASSWORD_LENGTH, validator=_check_bounds)
    max_length: int = field(default=MAX_PASSWORD_LENGTH, validator=_check_bounds)
    refuse_common: bool = True

    def __attrs_post_init__(self) -> None:
        if self.min_length > self.max_length:
            raise ValueError("min_length must not exceed max_length")

    def problems(self, password: object, *, email: str | None = None) -> list[str]:
        """Every reason ``password`` is refused (empty when it is acceptable).

        Args:
            password: The candidate, as received (not yet normalised).
            email: The account's normalised email, to refuse passwords made from it.

        Returns:
            Human-readable reasons, for ``VALIDATION_ERROR`` messages on field ``password``.
        """
        if not isinstance(password, str):
            return ["must be a string"]
        if "\x00" in password:
            return ["must not contain NUL characters"]
        if has_lone_surrogates(password):
            return ["must be valid Unicode (no lone surrogates)"]
        candidate = normalize_password(password)
        if len(candidate) < self.min_length:
            return [f"must have at least {self.min_length} characters"]
        if len(candidate) > self.max_length:
            return [f"must have at most {self.max_length} characters"]
        folded = candidate.casefold()
        found: list[str] = []
        if self.refuse_common and folded in common_passwords():
            found.append("is too common; choose a less predictable password")
        elif len(set(folded)) < _MIN_DISTINCT_CHARACTERS:
            found.append("is too repetitive; use more different characters")
        if email:
            local = email.split("@", 1)[0].casefold()
            if folded == email.casefold() or (len(local) >= _MIN_EMAIL_PART and local in folded):
                found.append("must not contain your email address")
        return found


DEFAULT_PASSWORD_POLICY: Final = PasswordPolicy()
