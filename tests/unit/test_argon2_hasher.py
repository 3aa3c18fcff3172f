"""The argon2id password hasher: parameters with a floor, salted hashes, safe verification."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher as RawHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError

from bookshop_adapters.argon2 import (
    MIN_MEMORY_COST,
    MIN_PARALLELISM,
    MIN_TIME_COST,
    Argon2PasswordHasher,
)


def test_defaults_meet_the_owasp_minimums() -> None:
    """The default parameters are at least m=19456 KiB, t=2, p=1."""
    hasher = Argon2PasswordHasher()
    assert hasher.memory_cost >= MIN_MEMORY_COST >= 19_456
    assert hasher.time_cost >= MIN_TIME_COST >= 2
    assert hasher.parallelism >= MIN_PARALLELISM >= 1


@pytest.mark.parametrize(
    "params",
    [{"memory_cost": 19_455}, {"time_cost": 1}, {"parallelism": 0}],
    ids=["memory", "time", "parallelism"],
)
def test_parameters_below_the_floor_are_refused(params: dict[str, int]) -> None:
    """Nobody configures a weak hasher by accident."""
    with pytest.raises(ValueError, match="at least"):
        Argon2PasswordHasher(**params)


def test_the_floor_itself_is_accepted() -> None:
    """m=19456, t=2, p=1 is allowed."""
    Argon2PasswordHasher(memory_cost=19_456, time_cost=2, parallelism=1)


async def test_hashes_are_salted_argon2id_and_verify() -> None:
    """argon2id PHC strings, a fresh salt each time; the right password verifies."""
    hasher = Argon2PasswordHasher.insecure_fast()
    first = await hasher.hash("correct horse battery staple")
    second = await hasher.hash("correct horse battery staple")
    assert first.startswith("$argon2id$")
    assert first != second
    assert await hasher.verify(first, "correct horse battery staple")
    assert not await hasher.verify(first, "correct horse battery stapler")


@pytest.mark.parametrize("stored", ["", "plain text", "$argon2id$garbage", "$2b$12$bcrypt..."])
async def test_malformed_hashes_never_verify_and_never_raise(stored: str) -> None:
    """A corrupt stored hash is a failed sign-in, not a crash."""
    hasher = Argon2PasswordHasher.insecure_fast()
    assert not await hasher.verify(stored, "anything at all")
    assert hasher.needs_rehash(stored)


async def test_changed_parameters_ask_for_a_rehash() -> None:
    """A hash made with other parameters (or argon2i) needs rehashing; a current one does not."""
    fast = Argon2PasswordHasher.insecure_fast()
    current = await fast.hash("pw-123456789")
    assert not fast.needs_rehash(current)
    stronger = Argon2PasswordHasher(memory_cost=19_456, time_cost=2, parallelism=1)
    assert stronger.needs_rehash(current)
    argon2i = RawHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.I).hash("pw")
    assert fast.needs_rehash(argon2i)


def test_raw_library_raises_what_the_adapter_catches() -> None:
    """Sanity: argon2-cffi raises on malformed hashes; the adapter turns that into False."""
    with pytest.raises(InvalidHashError):
        RawHasher().verify("nonsense", "pw")


def test_max_concurrency_must_be_positive() -> None:
    """A zero-slot hasher would deadlock every sign-in."""
    with pytest.raises(ValueError, match="max_concurrency"):
        Argon2PasswordHasher(max_concurrency=0)
