"""User routes: the caller's own account, and user administration for admins.

A user reaches only their own account (``/users/me``: the id comes from the token, never from
the request); every ``/admin/users`` route requires an active admin.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from bookshop_core import ChangeDisplayName, ChangeRole, ListUsers, Role, UserView, unstructure
from bookshop_core.kernel.ids import MAX_ID
from bookshop_examples.http.deps import (
    ADMIN_AUTH_CODES,
    USER_AUTH_CODES,
    AdminDep,
    AdminPage,
    AdminPerPage,
    JsonObject,
    ShopDep,
    UserDep,
    admin_page,
    json_body,
    structure_input,
    structure_query,
)
from bookshop_examples.http.errors import error_responses
from bookshop_examples.http.wire import Timestamp

__all__ = ["ChangeRoleIn", "MeOut", "ProfileIn", "ProfileOut", "UserOut", "UserPageOut", "router"]

router = APIRouter(tags=["users"])

# -- wire models ------------------------------------------------------------------------------
RoleName = Literal["user", "admin"]


class MeOut(BaseModel):
    """The caller's own account."""

    id: int
    email: str
    role: RoleName
    is_active: bool
    created_at: Timestamp


class ProfileOut(BaseModel):
    """The caller's public profile."""

    display_name: str = Field(
        description='The name others see on your reviews ("Reader #<id>" until you set one).'
    )


class ProfileIn(BaseModel):
    """The caller's profile fields to change."""

    display_name: str | None = Field(
        max_length=100, description='Your public name; null or blank: "Reader #<id>".'
    )


class UserOut(BaseModel):
    """An account as admins see it."""

    id: int
    email: str
    full_name: str | None
    role: RoleName
    is_active: bool
    created_at: Timestamp


class UserPageOut(BaseModel):
    """One page of accounts, newest first (``total_pages`` is 0 when there are none)."""

    items: list[UserOut]
    total_count: int
    page: int
    per_page: int
    total_pages: int


class ChangeRoleIn(BaseModel):
    """The account's new role."""

    model_config = ConfigDict(extra="forbid")

    role: RoleName


UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="The account's id.")]


# -- the caller -------------------------------------------------------------------------------


@router.get(
    "/users/me",
    response_model=MeOut,
    responses=error_responses(401, 403, codes=USER_AUTH_CODES),
    summary="My account",
)
async def me(shop: ShopDep, principal: UserDep) -> Any:
    """The account the bearer token belongs to."""
    return unstructure(await shop.identity.me(principal))


def _profile(view: UserView) -> dict[str, Any]:
    return {"display_name": view.display_name}


@router.get(
    "/users/me/profile",
    response_model=ProfileOut,
    responses=error_responses(401, 403, codes=USER_AUTH_CODES),
    summary="My public profile",
)
async def my_profile(shop: ShopDep, principal: UserDep) -> Any:
    """The caller's display name, as their reviews show it."""
    return _profile(await shop.identity.me(principal))


@router.patch(
    "/users/me/profile",
    response_model=ProfileOut,
    responses=error_responses(401, 403, 422, codes=USER_AUTH_CODES),
    summary="Change my public profile",
)
async def update_my_profile(
    shop: ShopDep, principal: UserDep, body: Annotated[JsonObject, json_body(ProfileIn)]
) -> Any:
    """Set the caller's display name, the name shown on their reviews (null: the neutral
    "Reader #<id>")."""
    command = structure_input(body, ChangeDisplayName, source="body")
    return _profile(await shop.identity.set_display_name(principal, command))


# -- administration ---------------------------------------------------------------------------


@router.get(
    "/admin/users",
    response_model=UserPageOut,
    responses=error_responses(401, 403, 422, codes=ADMIN_AUTH_CODES),
    summary="List accounts",
)
async def list_users(
    shop: ShopDep,
    principal: AdminDep,
    page: AdminPage = None,
    per_page: AdminPerPage = None,
    role: Annotated[
        str | None,
        Query(
            description="Only accounts with this role.",
            json_schema_extra={"enum": [r.value for r in Role]},
        ),
    ] = None,
    is_active: Annotated[
        bool | None, Query(description="Only active (true) or deactivated (false) accounts.")
    ] = None,
    q: Annotated[
        str | None, Query(description="Only emails containing this text (case-insensitive).")
    ] = None,
) -> Any:
    """Accounts newest first, filtered by every given parameter."""
    query = structure_query(
        ListUsers, page=page, per_page=per_page, role=role, is_active=is_active, q=q
    )
    return admin_page(await shop.identity.list_users(principal, query))


@router.patch(
    "/admin/users/{user_id}/deactivate",
    response_model=UserOut,
    responses=error_responses(
        401,
        403,
        404,
        422,
        codes=[*ADMIN_AUTH_CODES, "ADMN_CANNOT_DEACTIVATE_ADMIN", "USER_NOT_FOUND"],
    ),
    summary="Deactivate an account",
)
async def deactivate(shop: ShopDep, principal: AdminDep, user_id: UserId) -> Any:
    """Deactivate a (non-admin) account: its sessions are revoked and its access tokens
    refused at once. Idempotent."""
    return unstructure(await shop.identity.deactivate(principal, user_id))


@router.patch(
    "/admin/users/{user_id}/reactivate",
    response_model=UserOut,
    responses=error_responses(401, 403, 404, 422, codes=[*ADMIN_AUTH_CODES, "USER_NOT_FOUND"]),
    summary="Reactivate an account",
)
async def reactivate(shop: ShopDep, principal: AdminDep, user_id: UserId) -> Any:
    """Reactivate an account; tokens issued before its deactivation stay dead. Idempotent."""
    return unstructure(await shop.identity.reactivate(principal, user_id))


@router.patch(
    "/admin/users/{user_id}/role",
    response_model=UserOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*ADMIN_AUTH_CODES, "USER_NOT_FOUND", "ADMN_LAST_ADMIN", "ADMN_USER_INACTIVE"],
    ),
    summary="Change an account's role",
)
async def change_role(
    shop: ShopDep,
    principal: AdminDep,
    user_id: UserId,
    body: Annotated[JsonObject, json_body(ChangeRoleIn)],
) -> Any:
    """Promote or demote an account. Nobody demotes themselves or the last admin."""
    command = structure_input(body, ChangeRole, source="body")
    return unstructure(await shop.identity.change_role(principal, user_id, command))
