"""Health: is the app up, and can its store serve requests?

``GET /health`` is 200 only when the shop's ``ping()`` says the store is usable. For the SQL
stores that means more than "it answers" (see :meth:`bookshop_adapters.sqlalchemy.SqlBackend.ping`):

- its schema is not missing or behind the code (an unmigrated database would fail every
  request with ``STORE_SCHEMA_MISSING``): one small query of the Alembic version table;
- it accepts writes: we chose a probe on a write-capable connection over a check of the
  file's permissions, because permissions do not tell (root writes a 0444 file; a read-only
  mount or a ``mode=ro`` open refuses writes to a 0644 one). The probe writes nothing and
  never queues behind writers (SQLite: ``DELETE ... WHERE 0`` with a zero busy timeout;
  PostgreSQL: ``transaction_read_only``).

A store that does not finish the check within :data:`PING_TIMEOUT` counts as unavailable.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import bookshop_core
from bookshop_adapters.bootstrap import Shop
from bookshop_examples.http.deps import find_shop

__all__ = ["PING_TIMEOUT", "HealthOk", "HealthUnavailable", "router"]

log = logging.getLogger("bookshop.http")

#: A store that takes longer than this to answer a ping counts as unreachable.
PING_TIMEOUT = 5.0

router = APIRouter(tags=["health"])


class HealthOk(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class HealthUnavailable(BaseModel):
    status: Literal["unavailable"] = "unavailable"


@router.get(
    "/health",
    response_model=HealthOk,
    responses={
        503: {
            "model": HealthUnavailable,
            "description": "The store is unreachable, unmigrated or behind, or read-only",
        }
    },
    summary="Liveness and store readiness",
)
async def health(shop: Annotated[Shop | None, Depends(find_shop)]) -> Any:
    """200 with the library version when the store can serve requests (it answers, its schema
    is migrated, it accepts writes), else 503."""
    if shop is not None and await _answers(shop):
        return HealthOk(version=bookshop_core.__version__)
    return JSONResponse(HealthUnavailable().model_dump(), status_code=503)


async def _answers(shop: Shop) -> bool:
    try:
        async with asyncio.timeout(PING_TIMEOUT):
            return await shop.ping()
    except Exception:  # any failure to answer is "unavailable"; the cause goes to the log
        log.warning("health check: the store did not answer", exc_info=True)
        return False
