"""ImageStore adapters: a local directory (served by the frontend) and process memory."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterable
from pathlib import Path

__all__ = ["LocalDirectoryImageStore", "MemoryImageStore"]

_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


class LocalDirectoryImageStore:
    """Writes images into ``directory`` and names them ``{base_url}/{name}``.

    Files are written to a temporary name and renamed when complete, so a failed or refused
    upload leaves nothing behind.
    """

    def __init__(self, directory: str | os.PathLike[str], *, base_url: str = "/uploads") -> None:
        self.directory = Path(directory)
        self.base_url = base_url.rstrip("/")

    async def save(self, name: str, content_type: str, chunks: AsyncIterable[bytes]) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    await asyncio.to_thread(out.write, chunk)
            os.replace(tmp, self.directory / name)
        except BaseException:
            await asyncio.to_thread(Path(tmp).unlink, missing_ok=True)
            raise
        return f"{self.base_url}/{name}"

    async def load(self, name: str) -> tuple[bytes, str] | None:
        path = self.directory / name
        if path.parent != self.directory or not path.is_file():
            return None
        data = await asyncio.to_thread(path.read_bytes)
        return data, _TYPES.get(path.suffix, "application/octet-stream")


class MemoryImageStore:
    """Keeps images in a dict; ``images`` is open for inspection in tests."""

    def __init__(self, *, base_url: str = "/uploads") -> None:
        self.base_url = base_url.rstrip("/")
        self.images: dict[str, tuple[bytes, str]] = {}

    async def save(self, name: str, content_type: str, chunks: AsyncIterable[bytes]) -> str:
        data = b"".join([chunk async for chunk in chunks])
        self.images[name] = (data, content_type)
        return f"{self.base_url}/{name}"

    async def load(self, name: str) -> tuple[bytes, str] | None:
        return self.images.get(name)
