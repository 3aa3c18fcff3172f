"""Counting the SQL statements a piece of code sends, for statement-budget tests (no N+1).

Usage::

    with count_statements(backend) as counted:
        await shop.catalog.list_books()
    assert counted.count == 2, counted.statements
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["StatementCounter", "count_statements"]

#: Transaction control is not counted: budgets must mean the same on every backend, and only
#: some of it goes through a cursor (savepoints do; BEGIN, COMMIT and ROLLBACK are driver
#: calls on both backends).
_TRANSACTION_CONTROL: Final = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|END)\b", re.IGNORECASE
)


class _HasEngine(Protocol):
    @property
    def engine(self) -> AsyncEngine: ...


class StatementCounter:
    """The statements seen so far: ``count`` and their SQL text, in order."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        """Forget what was counted so far (e.g. after setting up data)."""
        self.statements.clear()

    def __repr__(self) -> str:
        return f"StatementCounter(count={self.count})"


@contextmanager
def count_statements(target: AsyncEngine | _HasEngine) -> Iterator[StatementCounter]:
    """Count the SQL statements executed on an engine (or a backend's engine) in a block.

    Every statement SQLAlchemy sends through a cursor counts once (an ``executemany`` batch
    counts once per batch sent), reads included; ``BEGIN``/``COMMIT``/``ROLLBACK``/savepoints
    do not. Statements of every task using the engine during the block are counted, so
    measure one use case at a time.

    Args:
        target: An ``AsyncEngine``, or anything with an ``engine`` attribute such as
            :class:`~bookshop_adapters.sqlalchemy.engine.SqlBackend`.
    """
    engine = target if isinstance(target, AsyncEngine) else target.engine
    counter = StatementCounter()

    def _record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if not _TRANSACTION_CONTROL.match(statement):
            counter.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", _record)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _record)
