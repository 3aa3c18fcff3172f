"""Health: is the app up, and does its store answer?"""

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
    responses={503: {"model": HealthUnavailable, "description": "The store is unreachable"}},
    summary="Liveness and store reachability",
)
async def health(shop: Annotated[Shop | None, Depends(find_shop)]) -> Any:
    """200 with the library version when the store answers a ping, else 503."""
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
