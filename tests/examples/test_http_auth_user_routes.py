"""Every route for signed-in users, found from the app's routers, refuses a caller without an
active account: no token 401 HTTP_401, a deactivated account 403 AUTH_ACCOUNT_DEACTIVATED.

Admin routes have their own table (``test_http_auth_admin_routes``). Runs on every backend of
the shared harness.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.routing import APIRoute

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import Role
from bookshop_examples.http.deps import admin_principal, current_principal
from bookshop_examples.http.routes import ROUTERS
from tests.examples.test_http_auth_admin_routes import _depends_on

#: A well-formed request on each user route, by (method, route path): (path, JSON body).
#: The ids need not exist: the caller is refused before anything is looked up.
USER_REQUESTS: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {
    ("POST", "/auth/logout-all"): ("/auth/logout-all", None),
    ("GET", "/users/me"): ("/users/me", None),
    ("GET", "/users/me/profile"): ("/users/me/profile", None),
    ("PATCH", "/users/me/profile"): ("/users/me/profile", {"display_name": "Reader"}),
    ("GET", "/cart"): ("/cart", None),
    ("POST", "/cart/items"): ("/cart/items", {"book_id": 1}),
    ("PUT", "/cart/items/{item_id}"): ("/cart/items/1", {"quantity": 1}),
    ("DELETE", "/cart/items/{item_id}"): ("/cart/items/1", None),
    ("POST", "/orders/checkout"): ("/orders/checkout", None),
    ("GET", "/orders"): ("/orders", None),
    ("GET", "/orders/{order_id}"): ("/orders/1", None),
    ("POST", "/orders/{order_id}/cancel"): ("/orders/1/cancel", None),
    ("POST", "/wishlist"): ("/wishlist", {"book_id": 1}),
    ("GET", "/wishlist"): ("/wishlist", None),
    ("DELETE", "/wishlist/{book_id}"): ("/wishlist/1", None),
    ("POST", "/prebooks"): ("/prebooks", {"book_id": 1}),
    ("GET", "/prebooks"): ("/prebooks", None),
    ("DELETE", "/prebooks/{prebooking_id}"): ("/prebooks/1", None),
    ("POST", "/books/{book_id}/reviews"): ("/books/1/reviews", {"rating": 5}),
    ("PATCH", "/reviews/{review_id}"): ("/reviews/1", {"rating": 4}),
    ("DELETE", "/reviews/{review_id}"): ("/reviews/1", None),
}


def user_routes() -> set[tuple[str, str]]:
    """(method, path) of every route of the app that needs a signed-in caller, admins' aside."""
    return {
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and _depends_on(route.dependant, current_principal)
        and not _depends_on(route.dependant, admin_principal)
        for method in route.methods or ()
    }


async def answers(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """Each user route's (status, code) for a caller with ``headers``."""
    found = {}
    for (method, _), (path, body) in USER_REQUESTS.items():
        response = await client.request(method, path, json=body, headers=headers)
        found[f"{method} {path}"] = (response.status_code, response.json()["code"])
    return found


def test_the_table_covers_every_user_route() -> None:
    """The requests above exist for exactly the app's user routes: a new one must be added
    here, and so is checked too."""
    assert user_routes() == set(USER_REQUESTS)


async def test_without_a_token_every_user_route_is_401(client: httpx.AsyncClient) -> None:
    """No Authorization header: 401 HTTP_401 "Not authenticated" on each."""
    found = await answers(client, {})
    assert found == dict.fromkeys(found, (401, "HTTP_401"))


async def test_a_deactivated_account_is_403_on_every_user_route(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    """A token of an account deactivated since it was issued: 403 AUTH_ACCOUNT_DEACTIVATED
    on each."""
    admin, _ = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    gone, pair = await sign_up(shop, "gone@example.com")
    await shop.identity.deactivate(admin, gone.user_id)
    found = await answers(client, {"Authorization": f"Bearer {pair.access_token}"})
    assert found == dict.fromkeys(found, (403, "AUTH_ACCOUNT_DEACTIVATED"))
