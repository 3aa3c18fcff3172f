"""The base of every SQL repository: statements on the unit of work's connection, with driver
errors translated at the boundary."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.ext.asyncio import AsyncConnection

from bookshop_adapters.sqlalchemy.errors import translating_errors

__all__ = ["SqlRepository"]


class SqlRepository:
    """Runs Core statements in the transaction of one unit of work.

    Subclass it for a context's repositories and add the class to ``SqlUnitOfWork`` with one
    line (``things = repository(SqlThingRepository)``).

    Args:
        connection: The unit of work's connection, inside its transaction.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._dialect_name = connection.dialect.name

    async def _execute(
        self, statement: Executable, parameters: Any | None = None
    ) -> CursorResult[Any]:
        """Execute ``statement``; driver errors become domain errors (``raise ... from``)."""
        with translating_errors():
            return await self._connection.execute(statement, parameters)
