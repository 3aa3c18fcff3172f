"""A request-body limit for uploads, enforced while the body arrives.

FastAPI parses a multipart body (spooling it to a temporary file) before the route and its
auth dependency run, so without a limit in front of it anyone could make the server receive and
store an arbitrarily large body. This middleware refuses an upload whose declared
``Content-Length`` is too large before reading any of it, and stops reading one without a
length as soon as it passes the limit; both are 400 ``HTTP_400`` with ``reason: too_large``,
the answer the core gives for an image that is too large.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bookshop_core.catalog.images import MAX_IMAGE_BYTES, UploadRejected
from bookshop_examples.http.errors import domain_error_response

__all__ = ["UPLOAD_BODY_LIMITS", "BodyLimitMiddleware"]

#: Largest request body per path: the image limit plus room for the multipart envelope.
UPLOAD_BODY_LIMITS: Mapping[str, int] = {"/uploads/images": MAX_IMAGE_BYTES + 64 * 1024}


def _too_large(limit: int) -> UploadRejected:
    return UploadRejected(f"The request body may be at most {limit} bytes", "too_large")


class BodyLimitMiddleware:
    """Caps the request body of the paths in ``limits`` (bytes by exact path)."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int] = UPLOAD_BODY_LIMITS) -> None:
        self.app = app
        self.limits = dict(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limits.get(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await domain_error_response(_too_large(limit))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the body parser; the error handlers answer with it.
                    raise _too_large(limit)
            return message

        await self.app(scope, counting_receive, send)
