"""POST /uploads/images on an upload directory that cannot be written: 503 STORE_UNAVAILABLE
(the store's fault, as a full database disk already is), never a 500.

Tests run as root in CI, where permission bits stop nothing: the directory's path is taken by
a regular file, so the directory cannot be made (see tests/adapters/test_image_store.py for a
write refused mid-upload).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
from fastapi import FastAPI

from bookshop_adapters.images import LocalDirectoryImageStore
from bookshop_adapters.testing.identity import open_test_shop, sign_up
from bookshop_core import Role
from bookshop_examples.http.app import create_app

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))


async def test_an_unwritable_upload_directory_is_503(serve: Serve, tmp_path: Path) -> None:
    """The upload answers 503 STORE_UNAVAILABLE without the server's path, and nothing is
    written."""
    taken = tmp_path / "uploads"
    taken.write_bytes(b"a file, not a directory")
    images = LocalDirectoryImageStore(taken)
    async with open_test_shop("memory://", image_store=images) as shop:
        _, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
        headers = {"Authorization": f"Bearer {pair.access_token}"}
        async with serve(create_app(shop=shop)) as client:
            files = {"file": ("cover.png", PNG, "image/png")}
            response = await client.post("/uploads/images", files=files, headers=headers)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "STORE_UNAVAILABLE"
    assert str(tmp_path) not in response.text
    assert taken.read_bytes() == b"a file, not a directory"
