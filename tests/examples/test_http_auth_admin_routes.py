"""Every admin route, found from the app's routers, refuses everyone but an active admin and
changes nothing when it does: no token 401, a plain user 403 AUTH_FORBIDDEN, a deactivated
account 403 AUTH_ACCOUNT_DEACTIVATED, a demoted admin's old token 403 AUTH_FORBIDDEN.

Runs on every backend of the shared harness.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.images import MemoryImageStore
from bookshop_adapters.oauth import OAuthSettings
from bookshop_adapters.testing.identity import TEST_PASSWORD, open_test_shop, sign_up
from bookshop_core import (
    AddToCart,
    ChangeRole,
    CreateBook,
    CreateGenre,
    ManualClock,
    ModerateReviews,
    Principal,
    Role,
    SetStock,
)
from bookshop_examples.http.deps import admin_principal
from bookshop_examples.http.routes import ROUTERS
from tests.examples.test_http_admin_outbox import add_dead_message

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def images() -> MemoryImageStore:
    return MemoryImageStore()


@pytest.fixture
async def shop(
    backend_url: str, clock: ManualClock, images: MemoryImageStore
) -> AsyncIterator[Shop]:
    """The fast test hasher, the test JWT secret, no OAuth, images in memory (inspectable)."""
    settings = ShopSettings(oauth=OAuthSettings())
    async with open_test_shop(
        backend_url, clock=clock, settings=settings, image_store=images
    ) as opened:
        yield opened


@attrs.frozen
class World:
    """An admin, a target account, a genre in use, a spare genre, a book, a dead outbox
    message and the target's confirmed order."""

    admin: Principal
    target_id: int
    genre_id: int
    spare_genre_id: int
    book_id: int
    dead_message_id: int
    order_id: int


@pytest.fixture
async def world(shop: Shop, clock: ManualClock) -> World:
    admin, _ = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    target, _ = await sign_up(shop, "target@example.com")
    genre = await shop.catalog.create_genre(admin, CreateGenre("Fiction"))
    spare = await shop.catalog.create_genre(admin, CreateGenre("Poetry"))
    book = await shop.catalog.create_book(
        admin, CreateBook("Dune", "Frank Herbert", Decimal("15.99"), genre_id=genre.id)
    )
    dead = await add_dead_message(shop, clock)
    await shop.catalog.set_stock(admin, book.id, SetStock(3))
    await shop.cart.add(target, AddToCart(book.id, 1))
    order = await shop.orders.checkout(target)
    return World(admin, target.user_id, genre.id, spare.id, book.id, dead, order.id)


def admin_requests(world: World) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """A request an admin would make on each admin route, by (method, route path), in an
    order in which they all succeed."""
    book = f"/books/{world.book_id}"
    user = f"/admin/users/{world.target_id}"
    return {
        ("GET", "/admin/users"): ("/admin/users", {}),
        ("PATCH", "/admin/users/{user_id}/deactivate"): (f"{user}/deactivate", {}),
        ("PATCH", "/admin/users/{user_id}/reactivate"): (f"{user}/reactivate", {}),
        ("PATCH", "/admin/users/{user_id}/role"): (f"{user}/role", {"json": {"role": "admin"}}),
        ("POST", "/books"): (
            "/books",
            {"json": {"title": "New", "author": "Someone", "price": "9.99"}},
        ),
        ("PUT", "/books/{book_id}"): (book, {"json": {"title": "Renamed"}}),
        ("PATCH", "/books/{book_id}/stock"): (f"{book}/stock", {"json": {"quantity": 5}}),
        ("DELETE", "/books/{book_id}"): (book, {}),
        ("POST", "/genres"): ("/genres", {"json": {"name": "Drama"}}),
        ("PATCH", "/genres/{genre_id}"): (
            f"/genres/{world.genre_id}",
            {"json": {"name": "Renamed"}},
        ),
        ("DELETE", "/genres/{genre_id}"): (f"/genres/{world.spare_genre_id}", {}),
        ("POST", "/uploads/images"): (
            "/uploads/images",
            {"files": {"file": ("cover.png", PNG, "image/png")}},
        ),
        ("GET", "/admin/outbox"): ("/admin/outbox", {}),
        ("POST", "/admin/outbox/{message_id}/retry"): (
            f"/admin/outbox/{world.dead_message_id}/retry",
            {},
        ),
        ("GET", "/admin/orders"): ("/admin/orders", {}),
        ("PATCH", "/admin/orders/{order_id}"): (
            f"/admin/orders/{world.order_id}",
            {"json": {"status": "shipped"}},
        ),
        ("GET", "/admin/reviews"): ("/admin/reviews", {}),
        ("DELETE", "/admin/reviews/bulk"): ("/admin/reviews/bulk", {"json": {"review_ids": [1]}}),
        ("GET", "/admin/analytics/sales/summary"): ("/admin/analytics/sales/summary", {}),
        ("GET", "/admin/analytics/sales/top-books"): ("/admin/analytics/sales/top-books", {}),
        ("GET", "/admin/analytics/inventory/low-stock"): (
            "/admin/analytics/inventory/low-stock",
            {},
        ),
    }


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


def admin_routes() -> set[tuple[str, str]]:
    """(method, path) of every route of the app that requires an admin."""
    return {
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and _depends_on(route.dependant, admin_principal)
        for method in route.methods or ()
    }


async def snapshot(shop: Shop, world: World, images: MemoryImageStore) -> Any:
    """Everything an admin route could change."""
    accounts = await shop.identity.list_users(world.admin)
    books = await shop.catalog.list_books()
    outbox = await shop.outbox.list_messages(world.admin)
    orders = await shop.orders.list_all(world.admin)
    reviews = await shop.reviews.moderate(world.admin, ModerateReviews())
    genres = await shop.catalog.list_genres()
    return (accounts, books, genres, dict(images.images), outbox, orders, reviews)


def test_the_table_covers_every_admin_route() -> None:
    """The requests below exist for exactly the app's admin routes: a new admin route must be
    added here, and so is checked too."""
    placeholder = World(Principal(1, Role.ADMIN), 2, 3, 4, 5, 6, 7)
    assert admin_routes() == set(admin_requests(placeholder))


async def caller_headers(
    kind: str, client: httpx.AsyncClient, shop: Shop, world: World
) -> dict[str, str]:
    """The Authorization header of each kind of caller that is not an active admin."""
    if kind == "anonymous":
        return {}
    principal, pair = await sign_up(shop, f"{kind}@example.com")
    if kind == "deactivated":
        await shop.identity.deactivate(world.admin, principal.user_id)
    elif kind == "demoted-admin":
        await shop.identity.change_role(world.admin, principal.user_id, ChangeRole(Role.ADMIN))
        pair_response = await client.post(
            "/auth/login",
            json={"email": f"{kind}@example.com", "password": TEST_PASSWORD},
        )
        token = pair_response.json()["access_token"]
        await shop.identity.change_role(world.admin, principal.user_id, ChangeRole(Role.USER))
        return {"Authorization": f"Bearer {token}"}
    return {"Authorization": f"Bearer {pair.access_token}"}


EXPECTED = {
    "anonymous": (401, "HTTP_401"),
    "user": (403, "AUTH_FORBIDDEN"),
    "deactivated": (403, "AUTH_ACCOUNT_DEACTIVATED"),
    "demoted-admin": (403, "AUTH_FORBIDDEN"),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
async def test_every_admin_route_refuses_and_changes_nothing(
    client: httpx.AsyncClient, shop: Shop, world: World, images: MemoryImageStore, kind: str
) -> None:
    """Each admin route answers the caller's refusal and the store is exactly as before."""
    headers = await caller_headers(kind, client, shop, world)
    before = await snapshot(shop, world, images)
    answers = {}
    for (method, _), (path, kwargs) in admin_requests(world).items():
        response = await client.request(method, path, headers=headers, **kwargs)
        answers[method, path] = (response.status_code, response.json()["code"])
    assert answers == dict.fromkeys(answers, EXPECTED[kind])
    assert await snapshot(shop, world, images) == before


async def test_a_user_is_refused_before_the_input_is_read(
    client: httpx.AsyncClient, shop: Shop, world: World, images: MemoryImageStore
) -> None:
    """A plain user sending garbage to an admin route gets 403, not a 422 that would describe
    the route's input."""
    headers = await caller_headers("user", client, shop, world)
    for (method, _), (path, _kwargs) in admin_requests(world).items():
        response = await client.request(
            method, path, headers=headers, json={"nonsense": True, "role": "admin"}
        )
        assert (response.status_code, response.json()["code"]) == (403, "AUTH_FORBIDDEN"), path


async def test_an_admin_can_use_every_admin_route(
    client: httpx.AsyncClient, shop: Shop, world: World
) -> None:
    """The same requests from the admin succeed (2xx): the refusals above are about the
    caller, not the requests."""
    _, pair = await sign_up(shop, "second-admin@example.com", role=Role.ADMIN)
    headers = {"Authorization": f"Bearer {pair.access_token}"}
    for (method, _), (path, kwargs) in admin_requests(world).items():
        response = await client.request(method, path, headers=headers, **kwargs)
        assert 200 <= response.status_code < 300, (method, path, response.text)
