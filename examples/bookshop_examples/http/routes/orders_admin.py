"""Order administration, for admins: list every order with filters, move an order along.

Each route takes an active admin (:data:`~bookshop_examples.http.deps.AdminDep`). The list is
the orders list's shape (a bare array, newest first, the total in ``X-Total-Count``), not the
admin envelope: the existing web client's admin panel reads it that way.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from bookshop_core.commerce import ListOrders, SetOrderStatus
from bookshop_core.kernel.ids import MAX_ID
from bookshop_examples.http.deps import (
    ADMIN_AUTH_CODES,
    AdminDep,
    JsonObject,
    PageNumber,
    PageSize,
    ShopDep,
    json_body,
    structure_input,
    structure_query,
)
from bookshop_examples.http.errors import error_responses
from bookshop_examples.http.routes.orders import (
    LIST_RESPONSE,
    STATUS_VALUES,
    OrderId,
    OrderOut,
    order_list,
    order_wire,
)

__all__ = ["SetOrderStatusIn", "router"]

router = APIRouter(tags=["orders"])


class SetOrderStatusIn(BaseModel):
    """The order's next status: confirmed -> shipped -> delivered, or confirmed ->
    cancelled (stock returned)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["shipped", "delivered", "cancelled"]


_DATE = {"format": "date"}


@router.get(
    "/admin/orders",
    response_model=list[OrderOut],
    responses={
        **LIST_RESPONSE,
        **error_responses(401, 403, 422, codes=ADMIN_AUTH_CODES),
    },
    summary="List every order",
)
async def list_all_orders(
    shop: ShopDep,
    principal: AdminDep,
    response: Response,
    status: Annotated[
        str | None,
        Query(description="Only orders in this status.", json_schema_extra={"enum": STATUS_VALUES}),
    ] = None,
    user_id: Annotated[
        int | None,
        Query(
            description="Only this buyer's orders.",
            json_schema_extra={"minimum": 1, "maximum": MAX_ID},
        ),
    ] = None,
    date_from: Annotated[
        str | None,
        Query(
            description="Only orders placed on or after this day (UTC), YYYY-MM-DD.",
            json_schema_extra=_DATE,
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(
            description="Only orders placed on or before this day (UTC), YYYY-MM-DD.",
            json_schema_extra=_DATE,
        ),
    ] = None,
    page: PageNumber = None,
    size: PageSize = None,
) -> Any:
    """Orders of every user (and recorded failed payment attempts), newest first, filtered
    by every given parameter; the total across pages is in ``X-Total-Count``."""
    query = structure_query(
        ListOrders,
        status=status,
        user_id=user_id,
        date_from=date_from,
        date_to=date_to,
        page=page,
        size=size,
    )
    return order_list(await shop.orders.list_all(principal, query), response)


@router.patch(
    "/admin/orders/{order_id}",
    response_model=OrderOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*ADMIN_AUTH_CODES, "ORDER_NOT_FOUND", "ORDER_INVALID_TRANSITION"],
    ),
    summary="Change an order's status",
)
async def set_order_status(
    shop: ShopDep,
    principal: AdminDep,
    order_id: OrderId,
    body: Annotated[JsonObject, json_body(SetOrderStatusIn)],
) -> Any:
    """Move an order along: confirmed -> shipped -> delivered, or confirmed -> cancelled
    (its stock goes back). Any other change is 409 ``ORDER_INVALID_TRANSITION``."""
    command = structure_input(body, SetOrderStatus, source="body")
    return order_wire(await shop.orders.set_status(principal, order_id, command))
