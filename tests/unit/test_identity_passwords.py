"""Password policy, email normalisation and the identity commands built from untrusted data."""

from __future__ import annotations

import pytest

from bookshop_core import ValidationError, structure
from bookshop_core.identity import (
    DEFAULT_PASSWORD_POLICY,
    ListUsers,
    Login,
    PasswordPolicy,
    Register,
    is_common_password,
    normalize_email,
)
from bookshop_core.identity.passwords import common_passwords


@pytest.mark.parametrize(
    "password", ["password", "12345678", "qwertyui", "iloveyou", "password1", "Password1"]
)
def test_classic_common_passwords_are_refused(password: str) -> None:
    """The bundled list contains the classics and is matched case-insensitively."""
    assert is_common_password(password)
    assert DEFAULT_PASSWORD_POLICY.problems(password)


def test_the_bundled_list_has_thousands_of_entries() -> None:
    """A few thousand common passwords ship with the package."""
    assert len(common_passwords()) >= 3000


def test_length_bounds() -> None:
    """8 characters minimum; 64+ character passphrases welcome; an upper bound stops hash-DoS."""
    policy = PasswordPolicy()
    assert policy.problems("Xk4#pq2") == ["must have at least 8 characters"]
    assert policy.problems("Xk4#pq2z") == []
    passphrase = "the quick brown fox jumps over the lazy dog and keeps on running " * 2
    assert len(passphrase) > 64
    assert policy.problems(passphrase) == []
    assert policy.problems("ab" * 200) == ["must have at most 256 characters"]


def test_repetitive_and_email_based_passwords_are_refused() -> None:
    """'aaaaaaaa'-like passwords and ones made from the account's email are refused."""
    assert DEFAULT_PASSWORD_POLICY.problems("zzzzyyyyzzzz")
    assert DEFAULT_PASSWORD_POLICY.problems("jonathan.smith2024", email="jonathan.smith@x.org")
    assert not DEFAULT_PASSWORD_POLICY.problems("violet tractor mirror", email="jon@x.org")


def test_policy_bounds_are_validated() -> None:
    """A policy cannot be configured with an inverted or absurd range."""
    with pytest.raises(ValueError, match="must not exceed"):
        PasswordPolicy(min_length=20, max_length=10)
    with pytest.raises(ValueError, match="from 1 to"):
        PasswordPolicy(max_length=10_000)


def test_passwords_are_nfkc_normalised() -> None:
    """Compatibility forms (fullwidth letters) normalise, so the same password matches."""
    command = Register(email="a@example.com", password="ｐａｓｓｐｈｒａｓｅ ｏｆ ｍｉｎｅ")
    assert command.password == "passphrase of mine"


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("Alice@Example.COM", "alice@example.com"), ("  bob@example.org ", "bob@example.org")],
)
def test_emails_are_normalised(raw: str, normalised: str) -> None:
    """Trimmed and lower-cased, so uniqueness is case-insensitive."""
    assert normalize_email(raw) == normalised


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a b@example.com",
        "a@exa mple.com",
        "a..b@example.com",
        ".a@example.com",
        "a@-example.com",
        "a@example.123",
        "a@example.com\x00",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_implausible_emails_are_refused(email: str) -> None:
    """Malformed addresses are a VALIDATION_ERROR on field email."""
    with pytest.raises(ValidationError) as caught:
        normalize_email(email)
    assert caught.value.field == "email"


def test_register_reports_every_bad_field_at_once() -> None:
    """A bad email and a malformed (too short) password are reported together."""
    with pytest.raises(ValidationError) as caught:
        structure({"email": "nope", "password": "short"}, Register)
    assert {e.loc for e in caught.value.errors} == {("email",), ("password",)}


@pytest.mark.parametrize(
    "extra",
    [
        {"role": "admin"},
        {"is_active": False},
        {"id": 1},
        {"token_version": 0},
        {"password_hash": "$argon2id$..."},
    ],
)
def test_register_refuses_fields_it_does_not_offer(extra: dict[str, object]) -> None:
    """Mass assignment: in strict mode any field besides email and password is refused."""
    data = {"email": "eve@example.com", "password": "violet tractor mirror", **extra}
    with pytest.raises(ValidationError) as caught:
        structure(data, Register, strict=True)
    assert caught.value.code == "VALIDATION_ERROR"
    assert [e.type for e in caught.value.errors] == ["extra_forbidden"]


@pytest.mark.parametrize("data", [{"email": 1, "password": "x"}, {"email": "a@b.c"}, [], "x"])
def test_login_checks_only_shape(data: object) -> None:
    """Wrong types and missing fields are validation errors; no policy applies at login."""
    with pytest.raises(ValidationError):
        structure(data, Login)
    assert structure({"email": "A@B.C", "password": "x"}, Login).email == "a@b.c"


def test_password_never_appears_in_a_repr() -> None:
    """Logging a command cannot leak the password."""
    command = Register(email="a@example.com", password="violet tractor mirror")
    assert "violet" not in repr(command)
    assert "violet" not in repr(Login(email="a@example.com", password="violet tractor mirror"))


def test_list_users_validates_its_filters() -> None:
    """Page bounds, role and the search text are checked together."""
    with pytest.raises(ValidationError) as caught:
        structure({"page": 0, "per_page": 1000, "role": "root"}, ListUsers)
    assert {e.loc for e in caught.value.errors} == {("page",), ("per_page",), ("role",)}
    assert structure({"q": "  ALICE "}, ListUsers).q == "alice"
