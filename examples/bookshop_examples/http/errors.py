"""The one mapping from bookshop errors to HTTP responses, used by every route.

A route never builds an error response itself: it raises (or lets a use case raise) a
:class:`~bookshop_core.errors.DomainError`, and :func:`install_error_handlers` turns it into the
wire body the bookstore REST API uses: ``{"detail", "code", "field"?, ...details}``.

The status of a domain error is looked up by its ``code`` in :data:`STATUS_BY_CODE`, built from
the core's registry (:data:`bookshop_core.errors.ERRORS`: each error class suggests its status),
then by its class in :data:`STATUS_BY_CLASS`, then :data:`FALLBACK_STATUS`. Framework errors
keep the same envelope: request validation is 422 ``VALIDATION_ERROR`` with every bad field, routing
errors are ``HTTP_<status>``, and anything unexpected is 500 ``INTERNAL_ERROR`` with the cause
logged, never shown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bookshop_core.errors import (
    ERRORS,
    AuthenticationError,
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unavailable,
    ValidationError,
)

__all__ = [
    "FALLBACK_STATUS",
    "STATUS_BY_CLASS",
    "STATUS_BY_CODE",
    "TRANSPORT_CODES",
    "CatchAllMiddleware",
    "ErrorBody",
    "FieldErrorBody",
    "ValidationErrorBody",
    "domain_error_response",
    "error_responses",
    "install_error_handlers",
    "internal_error_response",
    "status_for",
]

log = logging.getLogger("bookshop.http")


#: The status of every domain error code: the registry's suggestion (``ERRORS``), so a code
#: added to the core is mapped here without a second list to keep in step.
STATUS_BY_CODE: Final[Mapping[str, int]] = MappingProxyType(
    {code: error.http_status for code, error in ERRORS.items()}
)

#: Transport codes this app answers with itself (no domain error behind them).
TRANSPORT_CODES: Final[Mapping[str, int]] = MappingProxyType(
    {
        # No bearer token at all: raised by ``deps.current_principal`` as an HTTPException,
        # listed so that routes can document it.
        "HTTP_401": HTTPStatus.UNAUTHORIZED,
        "HTTP_404": HTTPStatus.NOT_FOUND,
        "HTTP_405": HTTPStatus.METHOD_NOT_ALLOWED,
        "HTTP_413": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "INTERNAL_ERROR": HTTPStatus.INTERNAL_SERVER_ERROR,
    }
)

#: Fallbacks for codes not listed above, by class (first match wins).
STATUS_BY_CLASS: Final[tuple[tuple[type[DomainError], int], ...]] = (
    (ValidationError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (NotFound, HTTPStatus.NOT_FOUND),
    (Conflict, HTTPStatus.CONFLICT),
    (AuthenticationError, HTTPStatus.UNAUTHORIZED),
    (PermissionDenied, HTTPStatus.FORBIDDEN),
    (RateLimited, HTTPStatus.TOO_MANY_REQUESTS),
    (Unavailable, HTTPStatus.SERVICE_UNAVAILABLE),
)

#: A deliberate ``DomainError`` of no known kind is still the caller's fault, not ours.
FALLBACK_STATUS: Final = HTTPStatus.BAD_REQUEST

INTERNAL_ERROR_BODY: Final[Mapping[str, str]] = MappingProxyType(
    {"detail": "Internal server error", "code": "INTERNAL_ERROR"}
)


# -- wire models (for OpenAPI) --------------------------------------------------------------


class ErrorBody(BaseModel):
    """Every error but request validation. Structured extras appear as further keys."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="A sentence for humans; never parse it.")
    code: str = Field(description="The stable machine code, e.g. BOOK_NOT_FOUND.")
    field: str | None = Field(
        default=None, description="The one input at fault; absent when there is none."
    )


class FieldErrorBody(BaseModel):
    """One bad input."""

    loc: list[str | int] = Field(description='Where: e.g. ["query", "size"].')
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    """A 422: a request of the wrong shape lists every bad field in ``detail``; a well-formed
    value a domain rule refused (a common password, an unknown genre) is one sentence in
    ``detail`` with the ``field`` at fault."""

    detail: list[FieldErrorBody] | str
    code: str = Field(default="VALIDATION_ERROR", examples=["VALIDATION_ERROR"])
    field: str | None = Field(
        default=None, description="The input a rule refused (flat form only)."
    )


def error_responses(*statuses: int, codes: Iterable[str] = ()) -> dict[int | str, Any]:
    """The ``responses=`` of a route that can fail with ``statuses``.

    Args:
        statuses: The error statuses the route can answer.
        codes: Domain codes the route raises; each is listed under its status's description.

    Raises:
        ValueError: a code whose status is not among ``statuses`` (the docs would lie).
    """
    by_status: dict[int, list[str]] = {status: [] for status in statuses}
    for code in codes:
        status = STATUS_BY_CODE.get(code) or TRANSPORT_CODES.get(code)
        if status not in by_status:
            raise ValueError(f"{code} maps to {status}, which the route does not declare")
        by_status[status].append(code)
    responses: dict[int | str, Any] = {}
    for status, listed in by_status.items():
        if status == HTTPStatus.UNPROCESSABLE_ENTITY:
            listed = ["VALIDATION_ERROR", *(c for c in listed if c != "VALIDATION_ERROR")]
        description = HTTPStatus(status).phrase
        if listed:
            description += ": " + ", ".join(listed)
        model = ValidationErrorBody if status == HTTPStatus.UNPROCESSABLE_ENTITY else ErrorBody
        responses[status] = {"model": model, "description": description}
    return responses


# -- mapping ----------------------------------------------------------------------------------


def status_for(error: DomainError) -> int:
    """The HTTP status of ``error``: by code, else by class, else 400."""
    status = STATUS_BY_CODE.get(error.code)
    if status is not None:
        return status
    for cls, fallback in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return fallback
    return FALLBACK_STATUS


def domain_error_response(error: DomainError) -> JSONResponse:
    """``error`` as its wire body, status and headers."""
    status = status_for(error)
    headers: dict[str, str] = {}
    if status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = error.details.get("retry_after")
    if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
        headers["Retry-After"] = str(max(0, int(retry_after)))
    return JSONResponse(error.to_dict(), status_code=status, headers=headers or None)


def internal_error_response() -> JSONResponse:
    """The body every unexpected failure gets; it tells a client nothing about the cause."""
    return JSONResponse(dict(INTERNAL_ERROR_BODY), status_code=HTTPStatus.INTERNAL_SERVER_ERROR)


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "invalid value")),
            "type": str(error.get("type", "value_error")),
        }
        for error in errors
    ]


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc)


async def _on_request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    body = {"detail": _field_errors(exc.errors()), "code": "VALIDATION_ERROR"}
    return JSONResponse(body, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, DomainError):
        # FastAPI wraps whatever fails while it reads the body in a bare 400; a domain error
        # raised there (the upload body limit) keeps its own answer.
        return domain_error_response(exc.__cause__)
    if exc.status_code == HTTPStatus.BAD_REQUEST and isinstance(
        exc.__cause__, ValueError | RecursionError
    ):
        # FastAPI makes only a JSON syntax error a validation error; a JSON body that is not
        # UTF-8, has an integer over Python's 4300 digits or nests deeper than the parser
        # goes gets a bare 400. Malformed JSON all the same.
        detail = [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]
        body = {"detail": detail, "code": "VALIDATION_ERROR"}
        return JSONResponse(body, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)
    body = {"detail": exc.detail, "code": f"HTTP_{exc.status_code}"}
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def _on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Last resort, outside every middleware (so without CORS headers): only failures of the
    # middleware themselves, or of a response already started, get here.
    log.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return internal_error_response()


class CatchAllMiddleware:
    """Answers any unexpected exception with the 500 body and logs its cause.

    It sits inside the CORS middleware, so a browser client can read the 500 like any other
    error (Starlette's own last-resort handler sits outside every middleware).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:  # too late for a clean answer; the server drops the connection
                raise
            log.exception("Unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await internal_error_response()(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler of this module on ``app``.

    Add :class:`CatchAllMiddleware` separately, before (inside) the CORS middleware.
    """
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected_error)
