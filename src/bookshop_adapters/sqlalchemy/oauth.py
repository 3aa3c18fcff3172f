"""The SQL OAuth state repository and its table.

Statement budget: each method is one statement. :meth:`SqlOAuthStateRepository.take` is a
single ``DELETE ... RETURNING``, so of two concurrent callbacks with the same state exactly one
gets the record, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, delete, insert

from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import OAuthStateRow, table_of
from bookshop_core.identity.oauth import OAuthState

__all__ = ["OAuthStateRow", "SqlOAuthStateRepository"]

_states: Final = table_of(OAuthStateRow)

_COLUMNS: Final = (
    _states.c.state,
    _states.c.provider,
    _states.c.code_verifier,
    _states.c.nonce,
    _states.c.redirect_uri,
    _states.c.created_at,
    _states.c.expires_at,
)


def _from_row(row: Row[Any]) -> OAuthState:
    return OAuthState(
        state=row.state,
        provider=row.provider,
        code_verifier=row.code_verifier,
        nonce=row.nonce,
        redirect_uri=row.redirect_uri,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


class SqlOAuthStateRepository(SqlRepository):
    """Started OAuth sign-ins in the ``oauth_states`` table."""

    async def add(self, record: OAuthState) -> None:
        """Insert ``record``."""
        await self._execute(
            insert(_states).values(
                state=record.state,
                provider=record.provider,
                code_verifier=record.code_verifier,
                nonce=record.nonce,
                redirect_uri=record.redirect_uri,
                created_at=record.created_at,
                expires_at=record.expires_at,
            )
        )

    async def take(self, state: str) -> OAuthState | None:
        """Delete the record for ``state`` and return it, in one ``DELETE ... RETURNING``."""
        result = await self._execute(
            delete(_states).where(_states.c.state == state).returning(*_COLUMNS)
        )
        row = result.first()
        return None if row is None else _from_row(row)

    async def purge_expired(self, now: datetime) -> int:
        """Delete every record with ``expires_at <= now``; returns how many."""
        result = await self._execute(delete(_states).where(_states.c.expires_at <= now))
        return result.rowcount
