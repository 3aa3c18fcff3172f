"""The in-memory OAuth state repository: the reference model of ``OAuthStateRepository``."""

from __future__ import annotations

from datetime import datetime

from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.identity.oauth import OAuthState

__all__ = ["MemoryOAuthStateRepository"]


class MemoryOAuthStateRepository:
    """Started OAuth sign-ins by ``state``; :meth:`take` removes what it returns.

    Args:
        store: The shop's in-memory tables.
        journal: The unit of work's undo journal.
    """

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._rows: dict[str, OAuthState] = store.table("oauth_states")
        self._journal = journal

    async def add(self, record: OAuthState) -> None:
        """Store ``record`` under its state."""
        if record.state in self._rows:  # mirrors the SQL primary key
            raise ValueError("duplicate OAuth state")
        self._journal.put(self._rows, record.state, record)

    async def take(self, state: str) -> OAuthState | None:
        """Remove and return the record for ``state`` (transactions are serialised)."""
        record = self._rows.get(state)
        if record is not None:
            self._journal.remove(self._rows, state)
        return record

    async def purge_expired(self, now: datetime) -> int:
        """Delete every record expired at ``now``; returns how many."""
        expired = [key for key, record in self._rows.items() if record.is_expired(now)]
        for key in expired:
            self._journal.remove(self._rows, key)
        return len(expired)
