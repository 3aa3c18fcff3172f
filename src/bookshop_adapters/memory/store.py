"""The state of an in-memory shop and the undo journal that makes its transactions atomic."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from typing import Any

__all__ = ["Journal", "MemoryStore", "Table"]

_MISSING: Any = object()

Table = MutableMapping[Any, Any]


class MemoryStore:
    """Every table of an in-memory shop, plus the lock that serialises its transactions.

    Tables are plain dicts of immutable domain objects, so a reader can never observe a
    half-applied change, and the journal only needs to remember whole values.
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.tables: dict[str, dict[Any, Any]] = {}
        self._sequences: dict[str, Iterator[int]] = {}

    def table(self, name: str) -> dict[Any, Any]:
        """The table called ``name``, created empty on first use."""
        return self.tables.setdefault(name, {})

    def next_id(self, name: str) -> int:
        """The next id for ``name``; like SQL sequences, ids are not reused after a rollback."""
        return next(self._sequences.setdefault(name, itertools.count(1)))

    def snapshot(self) -> dict[str, dict[Any, Any]]:
        """A copy of every table, for tests that assert a failure changed nothing."""
        return {name: dict(rows) for name, rows in self.tables.items() if rows}


class Journal:
    """Records the previous value of every key a transaction touches, to undo them."""

    def __init__(self) -> None:
        self._undo: list[tuple[Table, Hashable, Any] | Callable[[], None]] = []

    def put(self, table: Table, key: Hashable, value: Any) -> None:
        self._undo.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def remove(self, table: Table, key: Hashable) -> None:
        if key in table:
            self._undo.append((table, key, table[key]))
            del table[key]

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Call ``undo`` on rollback, in reverse order with the other undos (for derived
        structures, such as the search index's postings, that are not plain tables)."""
        self._undo.append(undo)

    def rollback(self) -> None:
        for entry in reversed(self._undo):
            if callable(entry):
                entry()
                continue
            table, key, previous = entry
            if previous is _MISSING:
                table.pop(key, None)
            else:
                table[key] = previous
        self._undo.clear()

    def forget(self) -> None:
        self._undo.clear()
