"""The OAuth routes over HTTP, against the testing kit's fake GitHub and Google (real HTTP on
loopback): GET /auth/{google,github} and their callbacks, POST /auth/google/token.

Runs on every backend of the shared harness: the started sign-ins (states) are stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from urllib.parse import parse_qs, urlsplit

import attrs
import httpx
import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.oauth import OAuthSettings
from bookshop_adapters.testing.fake_oauth import FakeAccount, FakeOAuthServer, IdTokenFlaw
from bookshop_adapters.testing.identity import open_test_shop, sign_up
from bookshop_core import ManualClock, Role
from bookshop_examples.http.app import create_app
from bookshop_examples.settings import AppSettings

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]
PROVIDERS = ("github", "google")
TOKEN_PAIR_FIELDS = {"access_token", "refresh_token", "token_type"}


@pytest.fixture(scope="module")
def fake_oauth() -> Iterator[FakeOAuthServer]:
    """The fake providers, serving on loopback for the whole module."""
    with FakeOAuthServer() as fake:
        yield fake


@pytest.fixture
async def shop(
    backend_url: str, clock: ManualClock, fake_oauth: FakeOAuthServer
) -> AsyncIterator[Shop]:
    """A shop whose GitHub and Google are the fakes; the fake dates ID tokens by ``clock``."""
    fake_oauth.reset()
    fake_oauth.use_clock(clock)
    settings = ShopSettings(oauth=fake_oauth.settings())
    async with open_test_shop(backend_url, clock=clock, settings=settings) as opened:
        yield opened


@pytest.fixture
def app(shop: Shop) -> FastAPI:
    """The app over ``shop``, trusting the test client's host (``testserver``) for callbacks."""
    return create_app(shop=shop, settings=AppSettings(allowed_hosts=("testserver",)))


def query_of(url: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(urlsplit(url).query).items()}


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


async def approve(
    client: httpx.AsyncClient, fake: FakeOAuthServer, provider: str
) -> tuple[str, str]:
    """Start a sign-in at the app and approve it at the fake: the callback's code and state."""
    started = await client.get(f"/auth/{provider}")
    assert started.status_code == 302, started.text
    callback = await fake.approve(started.headers["location"])
    assert callback.code is not None
    assert callback.state is not None
    return callback.code, callback.state


async def sign_in(
    client: httpx.AsyncClient, fake: FakeOAuthServer, provider: str
) -> httpx.Response:
    code, state = await approve(client, fake, provider)
    return await client.get(f"/auth/{provider}/callback", params={"code": code, "state": state})


async def account_of(client: httpx.AsyncClient, pair: dict[str, str]) -> dict[str, object]:
    response = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


# -- starting a sign-in -------------------------------------------------------------------------


async def test_google_redirects_with_state_pkce_and_nonce(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """GET /auth/google: 302 to Google's consent page with client_id, this app's callback,
    response_type code, scope openid, a state, an S256 code_challenge and a nonce."""
    response = await client.get("/auth/google")
    assert response.status_code == 302
    assert response.headers["cache-control"] == "no-store"
    location = response.headers["location"]
    assert location.startswith(f"{fake_oauth.base_url}/google/o/oauth2/v2/auth?")
    params = query_of(location)
    assert params["client_id"] == fake_oauth.google.client_id
    assert params["redirect_uri"] == "http://testserver/auth/google/callback"
    assert params["response_type"] == "code"
    assert "openid" in params["scope"].split()
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32
    assert len(params["nonce"]) >= 32


async def test_github_redirects_with_state_and_pkce(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """GET /auth/github: 302 to GitHub with this app's callback, a state and an S256
    code_challenge (GitHub has no ID token, so no nonce)."""
    response = await client.get("/auth/github")
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(f"{fake_oauth.base_url}/github/login/oauth/authorize?")
    params = query_of(location)
    assert params["client_id"] == fake_oauth.github.client_id
    assert params["redirect_uri"] == "http://testserver/auth/github/callback"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32
    assert "nonce" not in params


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_each_start_has_a_fresh_state_and_challenge(
    client: httpx.AsyncClient, provider: str
) -> None:
    """Two sign-ins never share a state or a PKCE challenge."""
    first = query_of((await client.get(f"/auth/{provider}")).headers["location"])
    second = query_of((await client.get(f"/auth/{provider}")).headers["location"])
    assert first["state"] != second["state"]
    assert first["code_challenge"] != second["code_challenge"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_callback_url_comes_from_the_configured_public_url(
    shop: Shop, serve: Serve, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a proxy the callback URL is built from BOOKSHOP_PUBLIC_URL (read by the app's
    settings), or from create_app(public_url=...), which wins; the Host header is ignored."""
    monkeypatch.setenv("BOOKSHOP_PUBLIC_URL", "https://books.example/api/")
    async with serve(create_app(shop=shop)) as client:
        location = (await client.get(f"/auth/{provider}")).headers["location"]
    expected = f"https://books.example/api/auth/{provider}/callback"
    assert query_of(location)["redirect_uri"] == expected
    async with serve(create_app(shop=shop, public_url="https://shop.example")) as client:
        location = (await client.get(f"/auth/{provider}")).headers["location"]
    assert query_of(location)["redirect_uri"] == f"https://shop.example/auth/{provider}/callback"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_callback_url_comes_from_the_provider_redirect_uri(
    backend_url: str, clock: ManualClock, fake_oauth: FakeOAuthServer, serve: Serve, provider: str
) -> None:
    """BOOKSHOP_<PROVIDER>_REDIRECT_URI is the callback URL given to the provider, whatever the
    request's host or the public URL."""
    environ = {
        **fake_oauth.environ(),
        f"BOOKSHOP_{provider.upper()}_REDIRECT_URI": "https://cb.example/back",
    }
    settings = ShopSettings(oauth=OAuthSettings.from_env(environ))
    async with (
        open_test_shop(backend_url, clock=clock, settings=settings) as configured,
        serve(create_app(shop=configured, public_url="https://shop.example")) as client,
    ):
        location = (await client.get(f"/auth/{provider}")).headers["location"]
    assert query_of(location)["redirect_uri"] == "https://cb.example/back"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_unlisted_host_is_refused_without_a_configured_url(
    shop: Shop, provider: str
) -> None:
    """With no public URL nor redirect URI, a Host not on the allow-list (default localhost,
    127.0.0.1) is 400 HTTP_400: a forged Host never chooses where the provider sends the code;
    a listed one is used."""
    app = create_app(shop=shop, settings=AppSettings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as evil:
            refused = await evil.get(f"/auth/{provider}")
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as ok:
            started = await ok.get(f"/auth/{provider}")
    assert (refused.status_code, refused.json()["code"]) == (400, "HTTP_400"), refused.text
    assert "location" not in refused.headers
    assert started.status_code == 302, started.text
    expected = f"http://localhost:8000/auth/{provider}/callback"
    assert query_of(started.headers["location"])["redirect_uri"] == expected


# -- callbacks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_callback_signs_in_and_answers_a_token_pair(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer, provider: str
) -> None:
    """Following the provider's redirect back: 200 token pair for a new user account with
    the provider's verified email; signing in again finds the same account."""
    getattr(fake_oauth, provider).account = FakeAccount("7007", "Reader@Example.com", name="R")
    response = await sign_in(client, fake_oauth, provider)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert set(pair) == TOKEN_PAIR_FIELDS
    assert pair["token_type"] == "bearer"
    account = await account_of(client, pair)
    assert (account["email"], account["role"]) == ("reader@example.com", "user")
    again = await sign_in(client, fake_oauth, provider)
    assert (await account_of(client, again.json()))["id"] == account["id"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_full_browser_round_trip_works(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer, provider: str
) -> None:
    """The exact Location the provider redirects to (this app's callback URL) signs in."""
    started = await client.get(f"/auth/{provider}")
    callback = await fake_oauth.approve(started.headers["location"])
    assert callback.url.startswith(f"http://testserver/auth/{provider}/callback?")
    response = await client.get(callback.url)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_wrong_state_is_401_oauth_failed(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer, provider: str
) -> None:
    """A callback whose state the app never issued is 401 AUTH_OAUTH_FAILED."""
    code, _ = await approve(client, fake_oauth, provider)
    response = await client.get(
        f"/auth/{provider}/callback", params={"code": code, "state": "forged-state-value"}
    )
    assert_refused(response, 401, "AUTH_OAUTH_FAILED")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_denied_consent_is_401_and_spends_the_state(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer, provider: str
) -> None:
    """The provider's error=access_denied redirect (no code) is 401 AUTH_OAUTH_FAILED."""
    getattr(fake_oauth, provider).deny = True
    started = await client.get(f"/auth/{provider}")
    callback = await fake_oauth.approve(started.headers["location"])
    assert (callback.error, callback.code) == ("access_denied", None)
    assert_refused(await client.get(callback.url), 401, "AUTH_OAUTH_FAILED")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="nothing"),
        pytest.param({"code": "abc"}, id="no-state"),
        pytest.param({"state": "abc"}, id="no-code"),
        pytest.param({"code": "", "state": ""}, id="empty"),
        pytest.param({"code": "abc", "state": "s" * 5000}, id="huge-state"),
    ],
)
async def test_a_malformed_callback_is_401(
    client: httpx.AsyncClient, provider: str, params: dict[str, str]
) -> None:
    """Missing, empty or absurd code/state is 401 AUTH_OAUTH_FAILED, never a 500."""
    response = await client.get(f"/auth/{provider}/callback", params=params)
    assert_refused(response, 401, "AUTH_OAUTH_FAILED")


async def test_an_unverified_email_is_401(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """A first sign-in with an email the provider has not verified is 401
    AUTH_OAUTH_EMAIL_UNVERIFIED."""
    fake_oauth.github.account = FakeAccount("8008", "unverified@example.com", email_verified=False)
    response = await sign_in(client, fake_oauth, "github")
    assert_refused(response, 401, "AUTH_OAUTH_EMAIL_UNVERIFIED")


async def test_a_deactivated_account_cannot_sign_in_with_a_provider(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer, shop: Shop
) -> None:
    """Once the linked account is deactivated, its OAuth sign-in is 401 AUTH_USER_INACTIVE."""
    provider = "google"
    first = await sign_in(client, fake_oauth, provider)
    user_id = (await account_of(client, first.json()))["id"]
    assert isinstance(user_id, int)
    admin, _ = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    await shop.identity.deactivate(admin, user_id)
    assert_refused(await sign_in(client, fake_oauth, provider), 401, "AUTH_USER_INACTIVE")


# -- Google ID tokens ---------------------------------------------------------------------------


async def test_google_id_token_signs_in(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """POST /auth/google/token with a valid Google ID token: 200 token pair."""
    fake_oauth.google.account = attrs.evolve(fake_oauth.google.account, email="G@Example.com")
    response = await client.post(
        "/auth/google/token", json={"id_token": fake_oauth.google.issue_id_token()}
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == TOKEN_PAIR_FIELDS
    assert (await account_of(client, response.json()))["email"] == "g@example.com"


async def test_a_flawed_google_id_token_is_401(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """An ID token Google did not sign (here a wrong signature) is 401
    AUTH_GOOGLE_INVALID_TOKEN."""
    token = fake_oauth.google.issue_id_token(flaw=IdTokenFlaw.WRONG_SIGNATURE)
    response = await client.post("/auth/google/token", json={"id_token": token})
    assert_refused(response, 401, "AUTH_GOOGLE_INVALID_TOKEN")


async def test_a_google_id_token_with_an_unverified_email_is_401(
    client: httpx.AsyncClient, fake_oauth: FakeOAuthServer
) -> None:
    """A genuine ID token whose email Google has not verified is refused."""
    account = FakeAccount("g-1", "new@example.com", email_verified=False)
    token = fake_oauth.google.issue_id_token(account)
    response = await client.post("/auth/google/token", json={"id_token": token})
    assert_refused(response, 401, "AUTH_OAUTH_EMAIL_UNVERIFIED")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"id_token": 5}, id="not-a-string"),
    ],
)
async def test_google_token_body_must_be_one_string_field(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    """POST /auth/google/token takes {id_token: string}, else 422."""
    response = await client.post("/auth/google/token", json=body)
    assert_refused(response, 422, "VALIDATION_ERROR")


# -- not configured -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/auth/google", None),
        ("GET", "/auth/github", None),
        ("GET", "/auth/google/callback?code=c&state=s", None),
        ("GET", "/auth/github/callback?code=c&state=s", None),
        ("POST", "/auth/google/token", {"id_token": "a.b.c"}),
    ],
)
async def test_an_unconfigured_provider_is_500_not_configured(
    serve: Serve, method: str, path: str, body: dict[str, str] | None
) -> None:
    """Every OAuth route of a provider the shop does not offer is 500
    AUTH_OAUTH_NOT_CONFIGURED."""
    settings = ShopSettings(oauth=OAuthSettings())
    async with (
        open_test_shop("memory://", settings=settings) as bare,
        serve(create_app(shop=bare)) as client,
    ):
        response = await client.request(method, path, json=body)
    assert_refused(response, 500, "AUTH_OAUTH_NOT_CONFIGURED")
