"""ImageStore adapters: a local directory (served by the frontend) and process memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterable, Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from bookshop_core.errors import StoreUnavailable

__all__ = ["LocalDirectoryImageStore", "MemoryImageStore"]

_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}

P = ParamSpec("P")
T = TypeVar("T")


async def _on_disk(operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking file operation in a thread; an ``OSError`` (ENOSPC, EROFS, EACCES,
    ENOTDIR, EIO, ...) becomes ``STORE_UNAVAILABLE`` (its reason kept, the path left out)."""
    try:
        return await asyncio.to_thread(operation, *args, **kwargs)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StoreUnavailable(f"The image store cannot write: {reason}") from exc


def _write_all(fd: int, data: bytes) -> None:
    # Unbuffered: a failed write fails here, not again in a later flush or close.
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class LocalDirectoryImageStore:
    """Writes images into ``directory`` and names them ``{base_url}/{name}``.

    Files are written to a temporary name and renamed when complete, so a failed or refused
    upload leaves nothing behind. A directory that cannot be written (disk full, read-only,
    not a directory, permission denied) is the store's fault, not the uploader's: it raises
    ``STORE_UNAVAILABLE`` (503), as the database does on a full disk.
    """

    def __init__(self, directory: str | os.PathLike[str], *, base_url: str = "/uploads") -> None:
        self.directory = Path(directory)
        self.base_url = base_url.rstrip("/")

    async def save(self, name: str, content_type: str, chunks: AsyncIterable[bytes]) -> str:
        """Write the image under ``name``, atomically.

        Returns:
            Its URL, ``{base_url}/{name}``.

        Raises:
            StoreUnavailable: the directory cannot be created or written; nothing is kept.
            Exception: whatever ``chunks`` raises (a refused upload), unchanged; nothing is kept.
        """
        fd, tmp = await _on_disk(self._create_temporary)
        try:
            try:
                async for chunk in chunks:
                    await _on_disk(_write_all, fd, chunk)
            finally:
                await _on_disk(os.close, fd)
            await _on_disk(os.replace, tmp, self.directory / name)
        except BaseException:
            with contextlib.suppress(OSError):  # the original failure is the one to report
                await asyncio.to_thread(Path(tmp).unlink, missing_ok=True)
            raise
        return f"{self.base_url}/{name}"

    def _create_temporary(self) -> tuple[int, str]:
        self.directory.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=self.directory, prefix=".upload-")

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
