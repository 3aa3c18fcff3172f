"""Acceptance tests: the library, the HTTP example and the CLI used from outside.

These tests are written from DESIGN.md and API.md as a user and a web client would use the
product: only the documented public surface (``bookshop_core``, ``build_shop``, the HTTP
routes of ``create_app`` through httpx, the ``bookshop`` command as a process).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bookshop_adapters import Shop, ShopSettings, build_shop
from bookshop_adapters.argon2 import Argon2PasswordHasher
from bookshop_adapters.oauth import OAuthSettings
from bookshop_core import ManualClock, Role
from bookshop_examples.http.app import create_app

#: An HS256 secret of at least 32 bytes, shared by every acceptance shop.
SECRET = "acceptance-tests-secret-0123456789abcdef"
#: A password every default policy accepts.
PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "boss@example.com"
ADMIN_PASSWORD = "a long admin passphrase"
START = datetime(2030, 1, 1, tzinfo=UTC)


def fast_hasher() -> Argon2PasswordHasher:
    """argon2id with test-only parameters, so many accounts stay cheap."""
    return Argon2PasswordHasher.insecure_fast()


def shop_settings(**overrides: Any) -> ShopSettings:
    """A shop with a fixed JWT secret and no OAuth provider (the environment is ignored)."""
    overrides.setdefault("jwt_secret", SECRET)
    overrides.setdefault("oauth", OAuthSettings())
    return ShopSettings(**overrides)


def open_shop(url: str, clock: ManualClock, **overrides: Any) -> Any:
    """``build_shop`` with the acceptance defaults; await it or ``async with`` it."""
    overrides.setdefault("password_hasher", fast_hasher())
    overrides.setdefault("settings", shop_settings())
    return build_shop(url, clock=clock, migrate=url != "memory://", **overrides)


@asynccontextmanager
async def serve(shop: Shop, **app_options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The example app started around ``shop``, and a client talking to it in-process."""
    app = create_app(shop=shop, **app_options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bookshop.test"
        ) as client:
            yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_part(token: str, index: int) -> dict[str, Any]:
    """Decode one part of a JWT (0 header, 1 claims) the way a web client does: no check."""
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store: in memory, or a SQLite file."""
    return "memory://" if request.param == "memory" else sqlite_url(tmp_path / "shop.db")


@pytest.fixture
async def shop(clock: ManualClock) -> AsyncIterator[Shop]:
    """A fresh in-memory shop with a fast hasher and a manual clock."""
    async with open_shop("memory://", clock) as opened:
        yield opened


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(shop) as started:
        yield started


@pytest.fixture
async def admin_headers(shop: Shop, client: httpx.AsyncClient) -> dict[str, str]:
    """The first admin, made the operator's way, signed in over HTTP."""
    await shop.identity.create_account(ADMIN_EMAIL, ADMIN_PASSWORD, role=Role.ADMIN)
    response = await client.post(
        "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


async def register(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    """Register over HTTP; the token pair."""
    response = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    pair: dict[str, Any] = response.json()
    return pair


@pytest.fixture
async def user_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """A plain registered user."""
    return bearer((await register(client, "reader@example.com"))["access_token"])
