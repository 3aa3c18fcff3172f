"""Outbox administration, for admins: the queued, sent and dead emails, and retrying a dead one.

Each route takes an active admin (:data:`~bookshop_examples.http.deps.AdminDep`); the list
answers the admin list envelope ``{items, total_count, page, per_page, total_pages}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from bookshop_core import unstructure
from bookshop_core.kernel.ids import MAX_ID
from bookshop_core.notifications import ListOutbox, OutboxStatus
from bookshop_examples.http.deps import (
    ADMIN_AUTH_CODES,
    AdminDep,
    AdminPage,
    AdminPerPage,
    ShopDep,
    admin_page,
    structure_query,
)
from bookshop_examples.http.errors import error_responses
from bookshop_examples.http.wire import Timestamp

__all__ = ["OutboxMessageOut", "OutboxPageOut", "router"]

router = APIRouter(tags=["outbox"])

# -- wire models ------------------------------------------------------------------------------

StatusName = Literal["pending", "sending", "sent", "dead"]


class OutboxMessageOut(BaseModel):
    """A queued email and its delivery state."""

    id: int
    message_id: str = Field(description="Stable across retries; the email's Message-ID.")
    kind: str = Field(description="The message kind, which names its templates.")
    recipients: list[str]
    variables: dict[str, Any] = Field(description="The templates' variables, as queued.")
    status: StatusName
    attempts: int = Field(description="How many times it was claimed for sending.")
    next_attempt_at: Timestamp = Field(description="A pending message is not sent before.")
    claimed_until: Timestamp | None = Field(description="While sending, the lease's end.")
    last_error: str | None = Field(description="Why the latest attempt failed, if it did.")
    created_at: Timestamp
    sent_at: Timestamp | None


class OutboxPageOut(BaseModel):
    """One page of outbox messages, newest first (``total_pages`` is 0 when there are none)."""

    items: list[OutboxMessageOut]
    total_count: int
    page: int
    per_page: int
    total_pages: int


MessageId = Annotated[int, Path(ge=1, le=MAX_ID, description="The outbox message's id.")]


# -- routes -----------------------------------------------------------------------------------


@router.get(
    "/admin/outbox",
    response_model=OutboxPageOut,
    responses=error_responses(401, 403, 422, codes=ADMIN_AUTH_CODES),
    summary="List queued emails",
)
async def list_outbox(
    shop: ShopDep,
    principal: AdminDep,
    status: Annotated[
        str | None,
        Query(
            description="Only messages in this status.",
            json_schema_extra={"enum": [s.value for s in OutboxStatus]},
        ),
    ] = None,
    page: AdminPage = None,
    per_page: AdminPerPage = None,
) -> Any:
    """Outbox messages newest first, optionally of one status (``dead``: out of attempts or
    refused by the mail server, waiting for an admin's retry)."""
    query = structure_query(ListOutbox, status=status, page=page, per_page=per_page)
    return admin_page(await shop.outbox.list_messages(principal, query))


@router.post(
    "/admin/outbox/{message_id}/retry",
    response_model=OutboxMessageOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*ADMIN_AUTH_CODES, "OUTBOX_MESSAGE_NOT_FOUND", "OUTBOX_NOT_DEAD"],
    ),
    summary="Retry a dead email",
)
async def retry_message(shop: ShopDep, principal: AdminDep, message_id: MessageId) -> Any:
    """Give a dead message a fresh set of attempts: pending and due at once. Any other
    status is 409 ``OUTBOX_NOT_DEAD`` (with its ``status``)."""
    return unstructure(await shop.outbox.retry(principal, message_id))
