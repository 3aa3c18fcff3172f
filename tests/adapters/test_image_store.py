"""The local image store: a directory it cannot write is STORE_UNAVAILABLE, never a crash, and
a failed upload leaves no file behind.

Tests run as root in CI, where permissions stop nothing and mounting a tiny or read-only file
system needs privileges. So the failures are made real in ways that hold for root too: the
upload directory's path is a regular file (the directory cannot exist), and the process's
file-size limit (``RLIMIT_FSIZE``, which binds root as well) makes the file system refuse to
grow the file mid-write, exactly as a full disk does (``EFBIG`` instead of ``ENOSPC``: the same
refusal of a ``write``). Permission denied is tested only where permissions apply (not root).
"""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bookshop_adapters.images import LocalDirectoryImageStore
from bookshop_core.errors import StoreUnavailable

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(100_000)


async def chunks_of(data: bytes, size: int = 16_384) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Files of this process cannot grow past ``limit`` bytes: writes fail with ``EFBIG``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, not the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


async def test_an_image_is_saved_and_loaded(tmp_path: Path) -> None:
    """A writable directory (created on first use) keeps the image under its name."""
    store = LocalDirectoryImageStore(tmp_path / "uploads", base_url="/uploads/")
    url = await store.save("a.png", "image/png", chunks_of(IMAGE))
    assert url == "/uploads/a.png"
    assert await store.load("a.png") == (IMAGE, "image/png")
    assert os.listdir(tmp_path / "uploads") == ["a.png"]


async def test_an_upload_directory_that_cannot_exist_is_store_unavailable(
    tmp_path: Path,
) -> None:
    """An upload path taken by a file (the directory cannot be made) is STORE_UNAVAILABLE."""
    taken = tmp_path / "uploads"
    taken.write_bytes(b"not a directory")
    store = LocalDirectoryImageStore(taken)
    with pytest.raises(StoreUnavailable) as caught:
        await store.save("a.png", "image/png", chunks_of(IMAGE))
    assert isinstance(caught.value.__cause__, OSError)
    assert str(tmp_path) not in caught.value.message  # no server path on the wire
    assert taken.read_bytes() == b"not a directory"


async def test_a_file_system_refusing_to_grow_the_file_is_store_unavailable(
    tmp_path: Path,
) -> None:
    """A write refused mid-upload (a full disk) is STORE_UNAVAILABLE, and no partial file
    (final or temporary) is left in the directory."""
    store = LocalDirectoryImageStore(tmp_path / "uploads")
    with file_size_limit(len(IMAGE) // 2), pytest.raises(StoreUnavailable) as caught:
        await store.save("a.png", "image/png", chunks_of(IMAGE))
    assert isinstance(caught.value.__cause__, OSError)
    assert os.listdir(tmp_path / "uploads") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission bits")
async def test_a_read_only_directory_is_store_unavailable(tmp_path: Path) -> None:
    """A directory the process may not write is STORE_UNAVAILABLE (EACCES)."""
    directory = tmp_path / "uploads"
    directory.mkdir(mode=0o555)
    store = LocalDirectoryImageStore(directory)
    try:
        with pytest.raises(StoreUnavailable):
            await store.save("a.png", "image/png", chunks_of(IMAGE))
    finally:
        directory.chmod(0o755)
    assert os.listdir(directory) == []


async def test_a_refused_upload_propagates_unchanged_and_leaves_nothing(tmp_path: Path) -> None:
    """An error from the uploaded stream itself is not the store's: it propagates as is, and
    the temporary file is removed."""

    async def refused() -> AsyncIterator[bytes]:
        yield IMAGE[:1000]
        raise ValueError("too large")

    store = LocalDirectoryImageStore(tmp_path / "uploads")
    with pytest.raises(ValueError, match="too large"):
        await store.save("a.png", "image/png", refused())
    assert os.listdir(tmp_path / "uploads") == []
