"""PKCE, state and nonce helpers of the core's OAuth module."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bookshop_core.identity.oauth import (
    OAuthState,
    code_challenge_s256,
    new_code_verifier,
    new_nonce,
    new_state,
)

UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")


def test_rfc7636_example() -> None:
    """The S256 challenge matches RFC 7636, appendix B."""
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifiers_are_long_random_and_unreserved() -> None:
    """Verifiers carry at least 32 random bytes in 43..128 unreserved characters."""
    verifiers = {new_code_verifier() for _ in range(200)}
    assert len(verifiers) == 200
    for verifier in verifiers:
        assert 43 <= len(verifier) <= 128
        assert UNRESERVED.fullmatch(verifier)
        assert len(code_challenge_s256(verifier)) == 43


def test_states_and_nonces_are_unique_and_url_safe() -> None:
    """State and nonce values never repeat and need no escaping."""
    values = [new_state() for _ in range(200)] + [new_nonce() for _ in range(200)]
    assert len(set(values)) == 400
    assert all(len(v) >= 43 and UNRESERVED.fullmatch(v) for v in values)


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "a" * 42 + " ", "é" * 43])
def test_invalid_verifiers_are_refused(verifier: str) -> None:
    """A verifier outside RFC 7636's alphabet or length is a programming error."""
    with pytest.raises(ValueError, match="verifier"):
        code_challenge_s256(verifier)


def test_state_record_hides_its_secret_and_expires() -> None:
    """The verifier never shows in a repr; a state is refused from its expiry instant on."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    record = OAuthState(
        state="s" * 43,
        provider="github",
        code_verifier="v" * 64,
        nonce="n" * 43,
        redirect_uri="http://app.test/cb",
        created_at=start,
        expires_at=start + timedelta(minutes=10),
    )
    assert "v" * 64 not in repr(record)
    assert "s" * 43 not in repr(record)
    assert not record.is_expired(start + timedelta(minutes=9, seconds=59))
    assert record.is_expired(start + timedelta(minutes=10))
