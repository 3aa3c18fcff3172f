"""Schemathesis fuzzes every operation of the HTTP app against the app's own OpenAPI schema.

Each operation is called, in-process through ASGI, by an anonymous caller, a signed-in user
and an admin, on a fresh seeded memory shop (so a case never depends on what another operation
did). Every response must be: no 5xx, a documented status, a documented content type, and a
body the documented schema accepts. Generation is derandomized, so CI sees the same cases on
every run; ``BOOKSHOP_FUZZ_EXAMPLES`` raises the number of examples per operation for a long
local run (e.g. ``BOOKSHOP_FUZZ_EXAMPLES=500 pytest tests/examples/test_http_schemathesis.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bookshop_adapters.bootstrap import ShopSettings
from bookshop_adapters.testing.builders import add_book, add_genre
from bookshop_adapters.testing.fake_oauth import FakeOAuthServer
from bookshop_adapters.testing.identity import open_test_shop, sign_up
from bookshop_core import ManualClock, Role
from bookshop_examples.http.app import create_app

pytestmark = pytest.mark.slow

#: Examples per operation and caller; CI keeps it small, a local hunt raises it.
EXAMPLES = int(os.environ.get("BOOKSHOP_FUZZ_EXAMPLES", "12"))


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

#: The schema of the app: the same whatever shop it serves, so it is read once, without one.
#: An explicit config, so that no ``schemathesis.toml`` lying around changes what CI runs.
schema = schemathesis.openapi.from_dict(
    create_app("memory://").openapi(), config=schemathesis.Config()
)
schema.config.generation.update(
    modes=list(GenerationMode), max_examples=EXAMPLES, deterministic=True, database="none"
)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])


class SeededApp:
    """``create_app(shop=...)`` over a seeded memory shop, opened by the ASGI lifespan.

    The shop is opened in the event loop that serves the requests (schemathesis runs the app
    in a loop of its own), with a few genres and books, an admin and a user.
    """

    def __init__(self, oauth: FakeOAuthServer) -> None:
        self.oauth = oauth
        self.app: Any = None
        self.tokens: dict[str, str] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.app(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        await receive()  # lifespan.startup
        async with AsyncExitStack() as stack:
            shop_settings = ShopSettings(oauth=self.oauth.settings())
            shop = await stack.enter_async_context(
                open_test_shop("memory://", clock=ManualClock(), settings=shop_settings)
            )
            admin, admin_pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
            _, user_pair = await sign_up(shop, "reader@example.com")
            self.tokens = {"admin": admin_pair.access_token, "user": user_pair.access_token}
            fiction = await add_genre(shop, "Fiction", by=admin)
            scifi = await add_genre(shop, "Science fiction", parent=fiction, by=admin)
            await add_genre(shop, "Poetry", by=admin)
            await add_book(shop, "Dune", genre=scifi, isbn="9780441013593", stock=3, by=admin)
            await add_book(shop, "Emma", author="Jane Austen", genre=fiction, by=admin)
            await add_book(shop, "Odes", author="Keats", price="12.50", stock=1, by=admin)
            self.app = create_app(shop=shop)
            await stack.enter_async_context(self.app.router.lifespan_context(self.app))
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})

    def headers(self, caller: str) -> dict[str, str]:
        token = self.tokens.get(caller)
        return {} if token is None else {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def fake_oauth() -> Iterator[FakeOAuthServer]:
    """GitHub and Google sign-in configured (on loopback fakes), so OAuth routes are served."""
    with FakeOAuthServer() as fake:
        yield fake


@pytest.fixture
def seeded_app(fake_oauth: FakeOAuthServer) -> Iterator[SeededApp]:
    """A started :class:`SeededApp`, shut down after the test."""
    app = SeededApp(fake_oauth)
    with asgi.get_client(app):  # starts the lifespan, which schemathesis keeps running
        pass
    try:
        yield app
    finally:
        asgi.shutdown_lifespans()


@pytest.mark.parametrize("caller", ["anonymous", "user", "admin"])
@schema.parametrize()
# One fresh shop per operation and caller, shared by that test's examples: deliberate.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_operation_conforms(case: Any, caller: str, seeded_app: SeededApp) -> None:
    """Every generated request gets a documented, well-formed answer, never a 5xx."""
    case.call_and_validate(app=seeded_app, headers=seeded_app.headers(caller), checks=CHECKS)
