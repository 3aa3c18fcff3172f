"""The user routes over HTTP: /users/me and user administration (/admin/users...).

Runs on every backend of the shared harness, with the identity testing kit's fast hasher.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.oauth import OAuthSettings
from bookshop_adapters.testing.identity import TEST_PASSWORD, open_test_shop, sign_up
from bookshop_core import ManualClock, Role
from bookshop_examples.http.deps import admin_principal, current_principal
from bookshop_examples.http.routes import ROUTERS

USER_FIELDS = {"id", "email", "full_name", "role", "is_active", "created_at"}


@pytest.fixture
async def shop(backend_url: str, clock: ManualClock) -> AsyncIterator[Shop]:
    """The fast test hasher and the test JWT secret; no OAuth provider."""
    settings = ShopSettings(oauth=OAuthSettings())
    async with open_test_shop(backend_url, clock=clock, settings=settings) as opened:
        yield opened


@pytest.fixture
async def admin(shop: Shop) -> dict[str, str]:
    """An admin's bearer header (the first account)."""
    _, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return bearer(pair.access_token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: httpx.AsyncClient, email: str) -> tuple[int, dict[str, str]]:
    """A new user's id and token pair."""
    response = await client.post("/auth/register", json={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 201, response.text
    pair: dict[str, str] = response.json()
    account = (await client.get("/users/me", headers=bearer(pair["access_token"]))).json()
    return account["id"], pair


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


async def users(client: httpx.AsyncClient, admin: dict[str, str], **params: Any) -> Any:
    response = await client.get("/admin/users", params=params, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def emails(client: httpx.AsyncClient, admin: dict[str, str], **params: Any) -> list[str]:
    return [item["email"] for item in (await users(client, admin, **params))["items"]]


@pytest.fixture
async def readers(
    client: httpx.AsyncClient, admin: dict[str, str], clock: ManualClock
) -> dict[str, tuple[int, dict[str, str]]]:
    """Ann, Bob and Cy, registered a minute apart after the admin, by name."""
    found = {}
    for name in ("ann", "bob", "cy"):
        clock.advance(minutes=1)
        found[name] = await register(client, f"{name}@example.com")
    return found


# -- /users/me ----------------------------------------------------------------------------------


async def test_me_is_always_the_caller(
    client: httpx.AsyncClient, readers: dict[str, tuple[int, dict[str, str]]]
) -> None:
    """GET /users/me answers the token's account; an id in the query changes nothing."""
    ann_id, ann = readers["ann"]
    bob_id, _ = readers["bob"]
    for params in ({}, {"id": bob_id}, {"user_id": bob_id}):
        response = await client.get("/users/me", params=params, headers=bearer(ann["access_token"]))
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["email"]) == (ann_id, "ann@example.com")
        assert set(body) == {"id", "email", "role", "is_active", "created_at"}


# -- GET /admin/users ---------------------------------------------------------------------------


async def test_admin_list_is_the_documented_envelope_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], readers: Any
) -> None:
    """{items: [{id, email, full_name, role, is_active, created_at}], total_count, page,
    per_page, total_pages}, newest account first, 20 per page by default."""
    body = await users(client, admin)
    assert set(body) == {"items", "total_count", "page", "per_page", "total_pages"}
    assert (body["total_count"], body["page"], body["per_page"], body["total_pages"]) == (
        4,
        1,
        20,
        1,
    )
    assert all(set(item) == USER_FIELDS for item in body["items"])
    assert [item["email"] for item in body["items"]] == [
        "cy@example.com",
        "bob@example.com",
        "ann@example.com",
        "admin@example.com",
    ]
    assert body["items"][-1]["role"] == "admin"


async def test_admin_list_pages(
    client: httpx.AsyncClient, admin: dict[str, str], readers: Any
) -> None:
    """page and per_page slice the list; total_pages counts pages."""
    body = await users(client, admin, page=2, per_page=3)
    assert [item["email"] for item in body["items"]] == ["admin@example.com"]
    assert (body["total_count"], body["page"], body["per_page"], body["total_pages"]) == (
        4,
        2,
        3,
        2,
    )


async def test_admin_list_filters_reach_the_use_case(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str], readers: Any
) -> None:
    """role, is_active and q each reach the use case."""
    bob_id, _ = readers["bob"]
    assert (
        await client.patch(f"/admin/users/{bob_id}/deactivate", headers=admin)
    ).status_code == 200
    assert await emails(client, admin, role="admin") == ["admin@example.com"]
    assert await emails(client, admin, is_active="false") == ["bob@example.com"]
    assert await emails(client, admin, q="ann@") == ["ann@example.com"]


async def test_admin_list_of_no_match_has_zero_pages(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """An empty result: total_count 0 and total_pages 0."""
    body = await users(client, admin, q="nobody")
    assert (body["items"], body["total_count"], body["total_pages"]) == ([], 0, 0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"per_page": 0}, "per_page", id="per_page-0"),
        pytest.param({"per_page": 101}, "per_page", id="per_page-101"),
        pytest.param({"per_page": "ten"}, "per_page", id="per_page-not-int"),
        pytest.param({"page": 0}, "page", id="page-0"),
        pytest.param({"role": "root"}, "role", id="role-unknown"),
        pytest.param({"is_active": "maybe"}, "is_active", id="is_active-not-bool"),
        pytest.param({"q": "x" * 300}, "q", id="q-too-long"),
    ],
)
async def test_admin_list_bad_parameter_is_422_naming_it(
    client: httpx.AsyncClient, admin: dict[str, str], params: dict[str, Any], field: str
) -> None:
    """A bad query parameter is 422 VALIDATION_ERROR located at ["query", name]."""
    response = await client.get("/admin/users", params=params, headers=admin)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert [error["loc"] for error in body["detail"]] == [["query", field]]


# -- deactivate / reactivate --------------------------------------------------------------------


async def test_deactivation_refuses_the_account_everywhere_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], readers: Any
) -> None:
    """PATCH .../deactivate: 200 with the user (is_active false), idempotent; the user's
    unexpired access token is 403 AUTH_ACCOUNT_DEACTIVATED at its next use, the refresh token
    401 AUTH_USER_INACTIVE, and sign-in 403."""
    bob_id, bob = readers["bob"]
    response = await client.patch(f"/admin/users/{bob_id}/deactivate", headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_FIELDS
    assert (body["id"], body["email"], body["is_active"]) == (bob_id, "bob@example.com", False)
    again = await client.patch(f"/admin/users/{bob_id}/deactivate", headers=admin)
    assert (again.status_code, again.json()) == (200, body)
    me = await client.get("/users/me", headers=bearer(bob["access_token"]))
    assert_refused(me, 403, "AUTH_ACCOUNT_DEACTIVATED")
    refreshed = await client.post("/auth/refresh", json={"refresh_token": bob["refresh_token"]})
    assert_refused(refreshed, 401, "AUTH_USER_INACTIVE")
    login = await client.post(
        "/auth/login", json={"email": "bob@example.com", "password": TEST_PASSWORD}
    )
    assert_refused(login, 403, "AUTH_ACCOUNT_DEACTIVATED")
    _, ann = readers["ann"]
    assert (await client.get("/users/me", headers=bearer(ann["access_token"]))).status_code == 200


async def test_reactivation_answers_the_active_user(
    client: httpx.AsyncClient, admin: dict[str, str], readers: Any
) -> None:
    """PATCH .../reactivate: 200 with the user (is_active true); the account signs in again."""
    bob_id, _ = readers["bob"]
    await client.patch(f"/admin/users/{bob_id}/deactivate", headers=admin)
    response = await client.patch(f"/admin/users/{bob_id}/reactivate", headers=admin)
    assert response.status_code == 200
    assert set(response.json()) == USER_FIELDS
    assert response.json()["is_active"] is True
    login = await client.post(
        "/auth/login", json={"email": "bob@example.com", "password": TEST_PASSWORD}
    )
    assert login.status_code == 200


async def test_an_admin_cannot_be_deactivated(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    """Deactivating an admin account is 403 ADMN_CANNOT_DEACTIVATE_ADMIN on field user_id."""
    other, _ = await sign_up(shop, "other-admin@example.com", role=Role.ADMIN)
    response = await client.patch(f"/admin/users/{other.user_id}/deactivate", headers=admin)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Admin accounts cannot be deactivated; demote the account first",
        "code": "ADMN_CANNOT_DEACTIVATE_ADMIN",
        "field": "user_id",
    }


@pytest.mark.parametrize("action", ["deactivate", "reactivate", "role"])
async def test_an_unknown_user_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], action: str
) -> None:
    """Each admin action on an id that names no account is 404 USER_NOT_FOUND."""
    response = await client.patch(
        f"/admin/users/{2**63 - 1}/{action}", headers=admin, json={"role": "user"}
    )
    assert_refused(response, 404, "USER_NOT_FOUND")


@pytest.mark.parametrize("raw_id", ["0", "-1", "abc", str(2**63)])
async def test_a_bad_user_id_is_422(
    client: httpx.AsyncClient, admin: dict[str, str], raw_id: str
) -> None:
    """A user id that is not a positive 64-bit integer is 422 on the path parameter."""
    for action in ("deactivate", "reactivate", "role"):
        response = await client.patch(
            f"/admin/users/{raw_id}/{action}", headers=admin, json={"role": "user"}
        )
        assert response.status_code == 422
        assert [error["loc"] for error in response.json()["detail"]] == [["path", "user_id"]]


# -- role ---------------------------------------------------------------------------------------


async def test_role_change_answers_the_user_in_the_new_role(
    client: httpx.AsyncClient, admin: dict[str, str], readers: Any
) -> None:
    """PATCH .../role {role}: 200 with the user in the new role, either way."""
    ann_id, _ = readers["ann"]
    promoted = await client.patch(
        f"/admin/users/{ann_id}/role", json={"role": "admin"}, headers=admin
    )
    assert promoted.status_code == 200
    assert set(promoted.json()) == USER_FIELDS
    assert promoted.json()["role"] == "admin"
    demoted = await client.patch(
        f"/admin/users/{ann_id}/role", json={"role": "user"}, headers=admin
    )
    assert (demoted.status_code, demoted.json()["role"]) == (200, "user")


async def test_nobody_demotes_themselves(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """An admin demoting their own account (here also the last admin) is 409
    ADMN_LAST_ADMIN, and stays admin."""
    me = (await client.get("/users/me", headers=admin)).json()
    response = await client.patch(
        f"/admin/users/{me['id']}/role", json={"role": "user"}, headers=admin
    )
    assert_refused(response, 409, "ADMN_LAST_ADMIN")
    assert (await client.get("/users/me", headers=admin)).json()["role"] == "admin"


async def test_a_deactivated_account_cannot_be_promoted(
    client: httpx.AsyncClient, admin: dict[str, str], readers: Any
) -> None:
    """Promoting a deactivated account is 409 ADMN_USER_INACTIVE."""
    bob_id, _ = readers["bob"]
    await client.patch(f"/admin/users/{bob_id}/deactivate", headers=admin)
    response = await client.patch(
        f"/admin/users/{bob_id}/role", json={"role": "admin"}, headers=admin
    )
    assert_refused(response, 409, "ADMN_USER_INACTIVE")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"role": None}, id="null"),
    ],
)
async def test_role_body_is_validated(
    client: httpx.AsyncClient, admin: dict[str, str], readers: Any, body: dict[str, Any]
) -> None:
    """PATCH .../role needs a role: missing or null is 422, and nothing changes."""
    ann_id, _ = readers["ann"]
    response = await client.patch(f"/admin/users/{ann_id}/role", json=body, headers=admin)
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert await emails(client, admin, role="admin") == ["admin@example.com"]


# -- one user, another user's data --------------------------------------------------------------


async def test_a_user_cannot_read_or_change_another_users_account(
    client: httpx.AsyncClient, admin: dict[str, str], readers: Any
) -> None:
    """Ann reaching for Bob's account through every route that names an account gets 403
    AUTH_FORBIDDEN and changes nothing; she cannot promote herself either."""
    ann_id, ann = readers["ann"]
    bob_id, _ = readers["bob"]
    ann_auth = bearer(ann["access_token"])
    before = await users(client, admin)
    attempts = [
        ("GET", "/admin/users", None),
        ("GET", "/admin/users?q=bob", None),
        ("PATCH", f"/admin/users/{bob_id}/deactivate", None),
        ("PATCH", f"/admin/users/{bob_id}/reactivate", None),
        ("PATCH", f"/admin/users/{bob_id}/role", {"role": "admin"}),
        ("PATCH", f"/admin/users/{ann_id}/role", {"role": "admin"}),
    ]
    for method, path, body in attempts:
        response = await client.request(method, path, json=body, headers=ann_auth)
        assert_refused(response, 403, "AUTH_FORBIDDEN")
    assert await users(client, admin) == before


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


def test_no_user_route_takes_an_account_from_the_request() -> None:
    """Every route open to a plain user acts on the token's account only: none takes a user
    id (path, query or body), so none can be pointed at another user's account."""
    user_routes = [
        route
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and _depends_on(route.dependant, current_principal)
        and not _depends_on(route.dependant, admin_principal)
    ]
    assert {route.path for route in user_routes} >= {"/users/me", "/auth/logout-all"}
    for route in user_routes:
        params = [
            *route.dependant.path_params,
            *route.dependant.query_params,
            *route.dependant.body_params,
        ]
        assert [p.name for p in params if "user" in p.name or p.name == "id"] == [], route.path
