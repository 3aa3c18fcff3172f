"""Cover images: uploaded by admins, checked by content, streamed to an ImageStore port."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, AsyncIterator
from typing import Protocol

from attrs import frozen

from bookshop_core.catalog.errors import UploadRejected
from bookshop_core.kernel.principal import Principal, require_admin

__all__ = [
    "MAX_IMAGE_BYTES",
    "CoverImages",
    "ImageStore",
    "StoredImage",
    "UploadRejected",
    "sniff_image_type",
]

#: Uploads above this size are refused while streaming, before they are read whole.
MAX_IMAGE_BYTES = 5 * 1024 * 1024
_SNIFF_BYTES = 12
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@frozen
class StoredImage:
    """Where an uploaded image now lives."""

    url: str
    name: str
    content_type: str
    size: int


class ImageStore(Protocol):
    """Stores image bytes under a name and serves them back."""

    async def save(self, name: str, content_type: str, chunks: AsyncIterable[bytes]) -> str:
        """Write every chunk under ``name`` and return the public URL.

        The store writes atomically: if ``chunks`` raises, nothing is kept under ``name``.
        """
        ...

    async def load(self, name: str) -> tuple[bytes, str] | None:
        """The bytes and content type stored under ``name``, or ``None``."""
        ...


def sniff_image_type(head: bytes) -> str | None:
    """The content type of JPEG, PNG or WebP data from its first bytes, else ``None``."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= _SNIFF_BYTES and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class CoverImages:
    """Accepts image uploads from admins.

    Args:
        store: Where the bytes go.
        max_bytes: The largest accepted upload.
    """

    def __init__(self, store: ImageStore, *, max_bytes: int = MAX_IMAGE_BYTES) -> None:
        self._store = store
        self._max_bytes = max_bytes

    async def upload(self, principal: Principal, chunks: AsyncIterable[bytes]) -> StoredImage:
        """Check the stream's real type from its first bytes and store it under a new name.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN``.
            UploadRejected: ``HTTP_400`` for an empty or non-image file or one too large.
        """
        require_admin(principal)
        stream = aiter(chunks)
        head = b""
        async for chunk in stream:
            head += chunk
            if len(head) >= _SNIFF_BYTES:
                break
        content_type = sniff_image_type(head)
        if content_type is None:
            raise UploadRejected("Only JPEG, PNG or WebP images are accepted", "unsupported_type")
        name = f"{secrets.token_hex(16)}.{_EXTENSIONS[content_type]}"
        counted = _Counted(head, stream, self._max_bytes)
        url = await self._store.save(name, content_type, counted)
        return StoredImage(url, name, content_type, counted.size)

    async def load(self, name: str) -> tuple[bytes, str] | None:
        """An uploaded image's bytes and type, for frontends that serve them."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            return None
        return await self._store.load(name)


class _Counted:
    """Replays the sniffed head, then the rest, refusing to go beyond the size limit."""

    def __init__(self, head: bytes, rest: AsyncIterator[bytes], limit: int) -> None:
        self._head = head
        self._rest = rest
        self._limit = limit
        self.size = 0

    def _count(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        if self.size > self._limit:
            raise UploadRejected(
                f"Images may be at most {self._limit // (1024 * 1024)} MB", "too_large"
            )
        return chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._count(self._head)
        async for chunk in self._rest:
            yield self._count(chunk)
