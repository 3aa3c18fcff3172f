"""The argon2id password hasher (argon2-cffi), implementing the core's ``PasswordHasher`` port.

The defaults are argon2-cffi's RFC 9106 "low memory" profile (t=3, m=64 MiB, p=4), well above
the OWASP floor this adapter enforces (m >= 19456 KiB, t >= 2, p >= 1). Hashing runs in a
worker thread so the event loop keeps serving, and a semaphore bounds how many hashes run at
once, so a burst of sign-ins cannot take ``threads x memory_cost`` of RAM.

Stored hashes carry their parameters; after the parameters change, :meth:`needs_rehash` says
so and the identity context rehashes on the next successful sign-in.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Final

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "DEFAULT_MEMORY_COST",
    "DEFAULT_PARALLELISM",
    "DEFAULT_TIME_COST",
    "MIN_MEMORY_COST",
    "MIN_PARALLELISM",
    "MIN_TIME_COST",
    "Argon2PasswordHasher",
]

#: The floor (OWASP's argon2id minimum): 19 MiB, two passes, one lane.
MIN_MEMORY_COST: Final = 19_456
MIN_TIME_COST: Final = 2
MIN_PARALLELISM: Final = 1
#: The defaults: RFC 9106's second recommended option ("low memory").
DEFAULT_TIME_COST: Final = 3
DEFAULT_MEMORY_COST: Final = 65_536
DEFAULT_PARALLELISM: Final = 4
_SALT_LEN: Final = 16
_HASH_LEN: Final = 32


class Argon2PasswordHasher:
    """argon2id hashing with a floor on its parameters.

    Args:
        time_cost: Passes over memory (>= 2).
        memory_cost: KiB of memory per hash (>= 19456).
        parallelism: Lanes (>= 1).
        max_concurrency: How many hashes may run at once (default: the CPU count).

    Raises:
        ValueError: a parameter below the floor. (Tests that need speed use
            :meth:`insecure_fast`, which says what it is.)
    """

    def __init__(
        self,
        *,
        time_cost: int = DEFAULT_TIME_COST,
        memory_cost: int = DEFAULT_MEMORY_COST,
        parallelism: int = DEFAULT_PARALLELISM,
        max_concurrency: int | None = None,
        _allow_weak: bool = False,
    ) -> None:
        if not _allow_weak:
            if time_cost < MIN_TIME_COST:
                raise ValueError(f"argon2 time_cost must be at least {MIN_TIME_COST}")
            if memory_cost < MIN_MEMORY_COST:
                raise ValueError(f"argon2 memory_cost must be at least {MIN_MEMORY_COST} KiB")
            if parallelism < MIN_PARALLELISM:
                raise ValueError(f"argon2 parallelism must be at least {MIN_PARALLELISM}")
        slots = max_concurrency if max_concurrency is not None else (os.cpu_count() or 2)
        if slots < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._hasher = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=_HASH_LEN,
            salt_len=_SALT_LEN,
            type=Type.ID,
        )
        self._slots = threading.BoundedSemaphore(slots)

    @classmethod
    def insecure_fast(cls) -> Argon2PasswordHasher:
        """A hasher with trivially weak parameters, for test suites only (never production):
        the same code paths, a thousand times faster."""
        return cls(time_cost=1, memory_cost=8, parallelism=1, _allow_weak=True)

    @property
    def time_cost(self) -> int:
        return int(self._hasher.time_cost)

    @property
    def memory_cost(self) -> int:
        return int(self._hasher.memory_cost)

    @property
    def parallelism(self) -> int:
        return int(self._hasher.parallelism)

    def _hash_now(self, password: str) -> str:
        with self._slots:
            return str(self._hasher.hash(password))

    def _verify_now(self, password_hash: str, password: str) -> bool:
        with self._slots:
            try:
                return bool(self._hasher.verify(password_hash, password))
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
            except (ValueError, TypeError):  # a hash with absurd parameters, say
                return False

    async def hash(self, password: str) -> str:
        """An argon2id PHC string for ``password``, with a fresh random salt.

        Args:
            password: The (already normalised) password.

        Returns:
            ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``.
        """
        return await asyncio.to_thread(self._hash_now, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; ``False`` for a mismatch or a malformed hash.

        Args:
            password_hash: A stored PHC string.
            password: The (already normalised) candidate.

        Returns:
            ``True`` only for a match.
        """
        return await asyncio.to_thread(self._verify_now, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether ``password_hash`` used other parameters (or another argon2 variant).

        Returns:
            ``True`` also for a hash this hasher cannot parse.
        """
        try:
            return bool(self._hasher.check_needs_rehash(password_hash))
        except (InvalidHashError, ValueError):
            return True
