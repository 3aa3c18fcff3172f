"""``bookshop serve`` closes connections that never finish their request.

A real server process (uvicorn, as ``bookshop serve`` runs it) with one-second deadlines, and raw
sockets that send half a request and then nothing. Each test only asks whether the server
closed the connection; the socket's own timeout is a guard against a hanging test, far longer
than the configured deadlines.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Long enough that a missing timeout fails the test instead of passing by accident.
HANG_GUARD = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    """``bookshop serve`` on memory:// with one-second head and body deadlines."""
    port = free_port()
    env = {**os.environ, "BOOKSHOP_DATABASE_URL": "memory://"}
    args = ["serve", "--port", str(port), "--head-timeout", "1", "--body-timeout", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "bookshop_examples.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + HANG_GUARD
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"serve did not start: {process.communicate()[1]}")
                time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.communicate(timeout=30)


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    connection.settimeout(HANG_GUARD)
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize(
    "half",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(b"POST /auth/lo", id="half-a-request-line"),
        pytest.param(b"POST /auth/login HTTP/1.1\r\nHost: shop\r\nContent-Ty", id="half-headers"),
    ],
)
def test_a_connection_that_never_finishes_its_head_is_closed(
    server: tuple[str, int], half: bytes
) -> None:
    """A connection that sends no request, or half a request line or headers, is closed
    without an answer once --head-timeout passes."""
    with socket.create_connection(server) as connection:
        connection.sendall(half)
        assert read_until_closed(connection) == b""


def test_a_connection_that_stops_in_the_middle_of_a_body_is_closed(
    server: tuple[str, int],
) -> None:
    """Headers announcing 100 bytes, then 10 bytes and silence: the server closes the
    connection, without an answer, once --body-timeout passes."""
    head = (
        b"POST /auth/login HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    with socket.create_connection(server) as connection:
        connection.sendall(head + b'{"email": ')
        assert read_until_closed(connection) == b""


def test_a_complete_request_is_still_answered(server: tuple[str, int]) -> None:
    """The deadlines leave a whole request alone: it is answered, and a second request on
    the same connection is answered too."""
    host, port = server
    with httpx.Client(base_url=f"http://{host}:{port}", timeout=HANG_GUARD) as client:
        first = client.post("/auth/login", json={"email": "a@example.com", "password": "x" * 8})
        second = client.get("/health")
    assert first.status_code == 401
    assert second.status_code == 200
