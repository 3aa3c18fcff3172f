"""Request dependencies and input helpers shared by every router."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from bookshop_adapters.bootstrap import Shop
from bookshop_core import FieldError, Unavailable, ValidationError, structure

__all__ = ["ShopDep", "find_shop", "get_shop", "structure_input"]

T = TypeVar("T")


async def find_shop(request: Request) -> Shop | None:
    """The shop the app's lifespan opened; ``None`` before startup or after shutdown."""
    shop: Shop | None = getattr(request.app.state, "shop", None)
    return shop


async def get_shop(request: Request) -> Shop:
    """The open shop.

    Raises:
        Unavailable: ``STORE_UNAVAILABLE`` (503) when the app is not serving a shop.
    """
    shop = await find_shop(request)
    if shop is None:
        raise Unavailable("The shop is not open", code="STORE_UNAVAILABLE")
    return shop


ShopDep = Annotated[Shop, Depends(get_shop)]


def structure_input(data: Mapping[str, object], cls: type[T], *, source: str) -> T:
    """Build the command ``cls`` from request input with the core's validation.

    Each reported field is located like FastAPI's own errors, under ``source`` (``"query"``,
    ``"body"``, ``"path"``), so a client sees one shape of 422 whatever caught the problem.

    Raises:
        ValidationError: every bad field at once.
    """
    try:
        return structure(dict(data), cls)
    except ValidationError as exc:
        located = [FieldError((source, *error.loc), error.msg, error.type) for error in exc.errors]
        raise ValidationError(located, message=exc.message, code=exc.code) from None
