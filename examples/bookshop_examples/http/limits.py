"""A request-body limit on every route, enforced before and while the body arrives.

FastAPI reads a JSON body whole (and spools a multipart one to a temporary file) before the
route and its auth dependency run, so without a limit in front of it anyone could make the
server receive and hold an arbitrarily large body: four 200 MB bodies to ``/auth/login`` once
took the server from 116 MB to 1.6 GB before it answered 422. :class:`BodyLimitMiddleware`
gives every path a limit (:data:`DEFAULT_MAX_BODY_BYTES` unless the path has its own, like the
uploads) and answers 413 ``HTTP_413`` (``{"detail", "code"}``) when a body passes it: at once,
reading nothing, when the declared ``Content-Length`` is too large; as soon as the running count
passes the limit when the body comes without a length (chunked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bookshop_core.catalog.images import MAX_IMAGE_BYTES

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "UPLOAD_BODY_LIMITS",
    "BodyLimitMiddleware",
    "BodyTooLarge",
    "document_body_limit",
]

#: The largest body of a route without its own limit. The largest valid JSON request (a book
#: with a 10,000-character description, a 500-character title, a 255-character author and a
#: 2,048-character cover URL) fits even when every character is an astral one escaped as
#: ``\\ud83d\\ude00`` (12 bytes each, as Python's ``json.dumps`` writes it): about 155 KB.
DEFAULT_MAX_BODY_BYTES: Final = 256 * 1024

#: Paths with their own limit: an upload is the image limit plus room for the multipart
#: envelope, so an image the core would accept is never cut off here.
UPLOAD_BODY_LIMITS: Final[Mapping[str, int]] = {"/uploads/images": MAX_IMAGE_BYTES + 64 * 1024}


class BodyTooLarge(HTTPException):
    """A request body over its route's limit: 413 ``HTTP_413``.

    Raised inside ``receive`` while the app reads the body; the app's HTTP error handler (or,
    for an app that lets it escape, the middleware itself) answers with it.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            detail=f"The request body may be at most {limit} bytes",
            # The rest of the body is never read: the connection cannot carry another request.
            headers={"Connection": "close"},
        )


class BodyLimitMiddleware:
    """Caps the request body of every HTTP request.

    Args:
        app: The app to guard.
        default: The limit, in bytes, of a path not in ``limits``.
        limits: Paths (exact) with their own limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int = DEFAULT_MAX_BODY_BYTES,
        limits: Mapping[str, int] = UPLOAD_BODY_LIMITS,
    ) -> None:
        self.app = app
        self.default = default
        self.limits = dict(limits)

    def limit_for(self, path: str) -> int:
        """The body limit of ``path``, in bytes."""
        return self.limits.get(path, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _declared_length(scope)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            # A length that is not a number cannot be trusted to be small either.
            await _answer(BodyTooLarge(limit), scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as exc:
            # The app let it escape instead of answering with it: answer here, if still can.
            if started:
                raise
            await _answer(exc, scope, receive, send)


def _declared_length(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return bytes(value).strip()
    return None


async def _answer(exc: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    # The body the app's handler gives any HTTPException (errors.py): {"detail", "code"}.
    body = {"detail": exc.detail, "code": f"HTTP_{exc.status_code}"}
    response = JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
    await response(scope, receive, send)


def document_body_limit(app: FastAPI) -> None:
    """Declare 413 ``HTTP_413`` on every operation of ``app`` that takes a request body.

    The limit sits in front of the routes, so they do not declare it themselves; this adds it
    to the OpenAPI document once, when the document is first built.
    """
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict) and "requestBody" in operation:
                        operation["responses"].setdefault("413", {**_TOO_LARGE_RESPONSE})
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_TOO_LARGE_RESPONSE: Final[Mapping[str, Any]] = {
    "description": "Content Too Large: HTTP_413",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
