"""What the provider adapters share: the HTTP client, bounded JSON reads, error translation."""

from __future__ import annotations

import functools
import json
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from bookshop_core.errors import AuthenticationError, DomainError

__all__ = [
    "MAX_RESPONSE_BYTES",
    "ProviderFailure",
    "add_query",
    "new_http_client",
    "request_json",
    "translate_failures",
]

log = logging.getLogger("bookshop.adapters.oauth")

#: Provider answers are small JSON documents; anything larger is refused unread.
MAX_RESPONSE_BYTES: Final = 1 << 20

USER_AGENT: Final = "bookshop-oauth/0.1 (+https://github.com/bookshop)"


class ProviderFailure(Exception):
    """An answer the adapter cannot use; translated to an ``AuthenticationError`` at the edge.

    Args:
        reason: What went wrong, for the log (never contains a secret).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds; every client of the process shares one
    # verifying context (httpx's default: certifi, honouring SSL_CERT_FILE/SSL_CERT_DIR).
    return httpx.create_ssl_context()


def new_http_client(timeout: float) -> httpx.AsyncClient:
    """The one HTTP client the providers share: bounded timeouts, no redirects followed.

    Args:
        timeout: Seconds for each phase (connect, read, write, pool) of a request.

    Returns:
        A new client; its owner closes it with ``aclose()``.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        verify=_tls_context(),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
    )


def add_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` appended to its query string (existing parameters kept).

    Args:
        url: An absolute URL, possibly with a query already.
        params: Parameters to add, in order.

    Returns:
        The new URL.
    """
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def request_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    what: str,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    limit: int = MAX_RESPONSE_BYTES,
) -> tuple[int, Any]:
    """Send one request and decode its JSON answer, reading at most ``limit`` bytes.

    Args:
        client: The shared client.
        method: ``GET`` or ``POST``.
        url: The endpoint.
        what: A short name of the endpoint for failure messages (``"token endpoint"``).
        headers: Extra request headers.
        data: A form body (``application/x-www-form-urlencoded``).
        limit: The largest body accepted.

    Returns:
        The status code and the decoded JSON value.

    Raises:
        ProviderFailure: the answer was an error status, too large, or not JSON.
        httpx.HTTPError: transport failures (translated by :func:`translate_failures`).
    """
    request_headers = {"Accept": "application/json", **(headers or {})}
    async with client.stream(method, url, headers=request_headers, data=data) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise ProviderFailure(f"{what}: answer larger than {limit} bytes")
        status = response.status_code
    try:
        value = json.loads(bytes(body))
    except ValueError:
        raise ProviderFailure(f"{what}: HTTP {status}, answer is not JSON") from None
    if status >= 400:
        error = value.get("error") if isinstance(value, dict) else None
        detail = f" ({error})" if isinstance(error, str) and len(error) < 100 else ""
        raise ProviderFailure(f"{what}: HTTP {status}{detail}")
    if not 200 <= status < 300:
        raise ProviderFailure(f"{what}: unexpected HTTP {status}")
    return status, value


@asynccontextmanager
async def translate_failures(
    provider: str, *, error: type[AuthenticationError], message: str
) -> AsyncIterator[None]:
    """Turn every failure inside the block into ``error``.

    Domain errors pass through unchanged; transport errors, bad JSON, invalid tokens and any
    other exception become one :class:`~bookshop_core.errors.AuthenticationError`, chained
    (``raise ... from exc``) and logged without secrets.

    Args:
        provider: The provider's name, for the log and the error's details.
        error: :class:`~bookshop_core.identity.errors.OAuthFailed` or
            :class:`~bookshop_core.identity.errors.GoogleTokenInvalid`.
        message: The human message of the error.

    Yields:
        Nothing; wrap the provider calls.
    """
    try:
        yield
    except DomainError:
        raise
    except ProviderFailure as exc:
        log.warning("%s sign-in failed: %s", provider, exc.reason)
        raise error(message, details={"provider": provider}) from exc
    except httpx.HTTPError as exc:
        log.warning("%s sign-in failed: %s: %s", provider, type(exc).__name__, exc)
        raise error(message, details={"provider": provider}) from exc
    except Exception as exc:  # JSON shapes, JWT and key errors: all mean "cannot trust this"
        log.warning("%s sign-in failed: %s: %s", provider, type(exc).__name__, exc)
        raise error(message, details={"provider": provider}) from exc
