"""Cover uploads over HTTP: POST /uploads/images (admins) and GET /uploads/{name}.

Runs on every backend of the shared harness, with the image store a shop of that backend gets
by default: memory for ``memory://``, a local directory (here in ``tmp_path``) for SQL stores.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.images import LocalDirectoryImageStore, MemoryImageStore
from bookshop_adapters.oauth import OAuthSettings
from bookshop_adapters.testing.identity import open_test_shop, sign_up
from bookshop_core import ManualClock, Role
from bookshop_core.catalog.images import MAX_IMAGE_BYTES
from bookshop_examples.http.app import create_app
from bookshop_examples.http.routes.uploads import UPLOAD_CHUNK_BYTES

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]
ImageStore = MemoryImageStore | LocalDirectoryImageStore

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(range(64))
GIF = b"GIF89a\x01\x00\x01\x00" + bytes(range(64))
URL = re.compile(r"^http://testserver/uploads/[0-9a-f]{32}\.(png|jpg|webp)$")


@pytest.fixture
def images(backend_name: str, tmp_path: Path) -> ImageStore:
    """The image store the shop's backend gets by default, kept in the test's directory."""
    if backend_name == "memory":
        return MemoryImageStore()
    return LocalDirectoryImageStore(tmp_path / "uploads")


@pytest.fixture
async def shop(backend_url: str, clock: ManualClock, images: ImageStore) -> AsyncIterator[Shop]:
    settings = ShopSettings(oauth=OAuthSettings())
    async with open_test_shop(
        backend_url, clock=clock, settings=settings, image_store=images
    ) as opened:
        yield opened


@pytest.fixture
async def admin(shop: Shop) -> dict[str, str]:
    """An admin's bearer header."""
    _, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return {"Authorization": f"Bearer {pair.access_token}"}


def stored(images: ImageStore) -> list[str]:
    """Every name the store holds, temporary files of a directory included."""
    if isinstance(images, MemoryImageStore):
        return sorted(images.images)
    if not images.directory.exists():
        return []
    return sorted(path.name for path in images.directory.iterdir())


async def upload(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    data: bytes,
    content_type: str = "image/png",
    filename: str = "cover.png",
) -> httpx.Response:
    files = {"file": (filename, data, content_type)}
    return await client.post("/uploads/images", files=files, headers=admin)


def assert_rejected(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["code"], body["field"], body["reason"]) == ("HTTP_400", "file", reason)


# -- accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(PNG, "image/png", id="png"),
        pytest.param(JPEG, "image/jpeg", id="jpeg"),
        pytest.param(WEBP, "image/webp", id="webp"),
    ],
)
@pytest.mark.parametrize("declared", ["image/gif", "text/plain", "application/octet-stream"])
async def test_images_are_accepted_by_content_whatever_the_declared_type(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    data: bytes,
    content_type: str,
    declared: str,
) -> None:
    """JPEG, PNG and WebP are recognised by their bytes: 200 {url}, an absolute URL on the
    request's base URL that serves the same bytes with the real content type."""
    response = await upload(client, admin, data, declared, filename="cover.gif")
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"url"}
    url = response.json()["url"]
    assert URL.match(url)
    served = await client.get(url)
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == content_type
    assert served.headers["x-content-type-options"] == "nosniff"


async def test_the_url_is_built_on_the_configured_public_url(
    serve: Serve, shop: Shop, admin: dict[str, str]
) -> None:
    """With a public base URL configured, the url starts with it (path prefix included)
    whatever host the request used, and its path serves the image."""
    app = create_app(shop=shop, public_url="https://shop.example/api/")
    async with serve(app) as client:
        url = (await upload(client, admin, PNG)).json()["url"]
        assert re.fullmatch(r"https://shop\.example/api/uploads/[0-9a-f]{32}\.png", url)
        served = await client.get(url.removeprefix("https://shop.example/api"))
    assert served.content == PNG


async def test_each_upload_gets_a_new_name(
    client: httpx.AsyncClient, admin: dict[str, str], images: ImageStore
) -> None:
    """The same file twice is stored twice, under two names."""
    first = (await upload(client, admin, PNG)).json()["url"]
    second = (await upload(client, admin, PNG)).json()["url"]
    assert first != second
    assert len(stored(images)) == 2


async def test_an_image_of_exactly_the_limit_is_accepted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """5 MB exactly is allowed."""
    data = PNG + bytes(MAX_IMAGE_BYTES - len(PNG))
    response = await upload(client, admin, data)
    assert response.status_code == 200, response.text
    assert len((await client.get(response.json()["url"])).content) == MAX_IMAGE_BYTES


# -- refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        pytest.param(GIF, "image/png", id="gif-declared-png"),
        pytest.param(b"just some text, honest", "image/png", id="text-declared-png"),
        pytest.param(b"<svg onload=alert(1)>", "image/jpeg", id="svg-declared-jpeg"),
        pytest.param(b"<html><script>alert(1)</script>", "image/webp", id="html-declared-webp"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVE", "image/webp", id="riff-but-not-webp"),
        pytest.param(b"\x89PN", "image/png", id="truncated-png-signature"),
        pytest.param(b"", "image/png", id="empty"),
    ],
)
async def test_anything_but_jpeg_png_webp_is_400(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    images: ImageStore,
    data: bytes,
    declared: str,
) -> None:
    """Whatever it claims to be, a file that is not JPEG, PNG or WebP by content is 400
    HTTP_400 on field file, and nothing is stored."""
    response = await upload(client, admin, data, declared)
    assert_rejected(response, "unsupported_type")
    assert stored(images) == []


async def test_an_image_over_5_mb_is_400_and_nothing_is_kept(
    client: httpx.AsyncClient, admin: dict[str, str], images: ImageStore
) -> None:
    """One byte over 5 MB is 400 HTTP_400 (reason too_large); no file, not even a partial
    one, is left behind."""
    data = PNG + bytes(MAX_IMAGE_BYTES + 1 - len(PNG))
    assert_rejected(await upload(client, admin, data), "too_large")
    assert stored(images) == []


class RecordingStore(MemoryImageStore):
    """Remembers the size of every chunk it was handed."""

    def __init__(self) -> None:
        super().__init__()
        self.chunk_sizes: list[int] = []

    async def save(self, name: str, content_type: str, chunks: AsyncIterable[bytes]) -> str:
        async def recorded() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                self.chunk_sizes.append(len(chunk))
                yield chunk

        return await super().save(name, content_type, recorded())


async def test_the_upload_reaches_the_store_in_chunks(serve: Serve) -> None:
    """A 1 MB upload is handed to the image store in chunks of at most 64 KiB, never read
    whole into memory by the route."""
    recording = RecordingStore()
    settings = ShopSettings(oauth=OAuthSettings())
    async with open_test_shop("memory://", settings=settings, image_store=recording) as shop:
        _, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
        admin = {"Authorization": f"Bearer {pair.access_token}"}
        async with serve(create_app(shop=shop)) as client:
            response = await upload(client, admin, PNG + bytes(2**20))
    assert response.status_code == 200, response.text
    assert sum(recording.chunk_sizes) == len(PNG) + 2**20
    assert len(recording.chunk_sizes) > 1
    assert max(recording.chunk_sizes) <= UPLOAD_CHUNK_BYTES


@pytest.mark.parametrize(
    "request_kwargs",
    [
        pytest.param({}, id="no-body"),
        pytest.param({"files": {"image": ("c.png", PNG, "image/png")}}, id="wrong-field-name"),
        pytest.param({"data": {"file": "not a file"}}, id="text-field"),
        pytest.param({"json": {"file": "iVBORw0KGgo="}}, id="json-body"),
    ],
)
async def test_a_missing_file_is_422(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    images: ImageStore,
    request_kwargs: dict[str, Any],
) -> None:
    """Without a multipart file field named file: 422 VALIDATION_ERROR at body.file."""
    response = await client.post("/uploads/images", headers=admin, **request_kwargs)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert [error["loc"] for error in body["detail"]] == [["body", "file"]]
    assert stored(images) == []


async def test_uploading_needs_an_admin(
    client: httpx.AsyncClient, shop: Shop, images: ImageStore
) -> None:
    """No token: 401 HTTP_401; a plain user: 403 AUTH_FORBIDDEN; nothing is stored."""
    anonymous = await client.post("/uploads/images", files={"file": ("c.png", PNG, "image/png")})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "HTTP_401")
    _, pair = await sign_up(shop, "reader@example.com")
    user = await upload(client, {"Authorization": f"Bearer {pair.access_token}"}, PNG)
    assert (user.status_code, user.json()["code"]) == (403, "AUTH_FORBIDDEN")
    assert stored(images) == []


# -- serving ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/uploads/0123456789abcdef0123456789abcdef.png",
        "/uploads/.upload-abc",
        "/uploads/..",
        "/uploads/%2e%2e%2fsecret",
        "/uploads/..%5c..%5csecret",
    ],
)
async def test_an_unknown_or_sneaky_name_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], path: str
) -> None:
    """A name no upload has, or one reaching outside the store, is 404 HTTP_404."""
    await upload(client, admin, PNG)
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "HTTP_404"


async def test_a_served_image_is_cacheable_forever(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Names are never reused, so the image is served as immutable; it needs no token."""
    url = (await upload(client, admin, JPEG)).json()["url"]
    served = await client.get(url)
    assert "immutable" in served.headers["cache-control"]
    assert served.headers["content-security-policy"] == "default-src 'none'"


async def test_the_url_can_become_a_book_cover(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The returned url is accepted as a book's cover_image_url."""
    url = (await upload(client, admin, WEBP)).json()["url"]
    response = await client.post(
        "/books",
        json={"title": "Dune", "author": "Frank Herbert", "price": "9.99", "cover_image_url": url},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    assert response.json()["cover_image_url"] == url


# -- the body limit in front of the app -----------------------------------------------------

TOO_MUCH = MAX_IMAGE_BYTES + 128 * 1024


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "HTTP_413"


async def test_the_upload_route_has_room_for_a_5_mb_image(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Uploads keep a limit of their own, over the JSON routes' one: a multipart body just
    under 5 MB reaches the route (and is stored)."""
    response = await upload(client, admin, PNG + bytes(MAX_IMAGE_BYTES - 1024))
    assert response.status_code == 200, response.text


async def test_a_declared_oversized_upload_is_refused_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    """A Content-Length past the upload limit is 413 HTTP_413 at once, even before
    authentication, so nobody can make the server receive and spool a huge body."""
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        sent.append(1)
        yield b"x"

    response = await client.post(
        "/uploads/images",
        content=body(),
        headers={"Content-Length": str(TOO_MUCH), "Content-Type": "multipart/form-data"},
    )
    assert_too_large(response)
    assert sent == []


async def test_an_undeclared_oversized_upload_is_cut_off_while_it_streams(
    client: httpx.AsyncClient, admin: dict[str, str], images: ImageStore
) -> None:
    """A chunked multipart body with no Content-Length is 413 HTTP_413 once it passes the
    upload limit; reading stops there and nothing is stored."""
    boundary = "bookshop-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="cover.png"\r\nContent-Type: image/png\r\n\r\n'
    ).encode()
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield head + PNG
        while sent < 2 * TOO_MUCH:
            sent += 256 * 1024
            yield bytes(256 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/uploads/images",
        content=body(),
        headers={**admin, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_too_large(response)
    assert sent <= TOO_MUCH + 256 * 1024  # reading stopped at the limit, not at the end
    assert stored(images) == []
