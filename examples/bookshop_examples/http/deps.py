"""Request dependencies and input helpers shared by every router.

Authentication: a route that needs a signed-in caller takes :data:`UserDep` (an active
account) or :data:`AdminDep` (an active admin). Both read ``Authorization: Bearer <access
token>`` and let :meth:`Identity.authenticate <bookshop_core.identity.Identity.authenticate>`
decide who is calling: the role comes from the account at each request, never from the token.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import Annotated, Any, Final, TypeVar

from fastapi import Body, Depends, HTTPException, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from bookshop_adapters.bootstrap import Shop
from bookshop_core import (
    Page,
    Principal,
    StoreUnavailable,
    ValidationError,
    require_admin,
    structure,
    unstructure,
)
from bookshop_core.kernel.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

__all__ = [
    "ADMIN_AUTH_CODES",
    "USER_AUTH_CODES",
    "AdminDep",
    "AdminPage",
    "AdminPerPage",
    "JsonObject",
    "PageNumber",
    "PageSize",
    "ShopDep",
    "UserDep",
    "admin_page",
    "admin_principal",
    "bearer_scheme",
    "current_principal",
    "find_shop",
    "get_shop",
    "json_body",
    "located_in",
    "structure_input",
    "structure_query",
]

T = TypeVar("T")


async def find_shop(request: Request) -> Shop | None:
    """The shop the app's lifespan opened; ``None`` before startup or after shutdown."""
    shop: Shop | None = getattr(request.app.state, "shop", None)
    return shop


async def get_shop(request: Request) -> Shop:
    """The open shop.

    Raises:
        Unavailable: ``STORE_UNAVAILABLE`` (503) when the app is not serving a shop.
    """
    shop = await find_shop(request)
    if shop is None:
        raise StoreUnavailable("The shop is not open")
    return shop


ShopDep = Annotated[Shop, Depends(get_shop)]


def structure_input(data: Mapping[str, object], cls: type[T], *, source: str) -> T:
    """Build the command ``cls`` from request input with the core's validation.

    Input is read leniently, as the bookstore REST API this app is compatible with always read
    it: query-string values are parsed (``"true"``, ``"3"``) and an unknown body field is
    ignored, never applied (a ``role`` sent with a registration opens a plain user account), so
    a client that sends a field this API does not know keeps working.

    Each reported field is located like FastAPI's own errors, under ``source`` (``"query"``,
    ``"body"``, ``"path"``), so a client sees one shape of 422 whatever caught the problem.

    Raises:
        ValidationError: every bad field at once.
    """
    try:
        return structure(dict(data), cls, strict=False)
    except ValidationError as exc:
        raise exc.located(source) from None


def structure_query(cls: type[T], **params: object) -> T:
    """Build the command ``cls`` from a route's query parameters, as :func:`structure_input`
    does under ``"query"``: the parameters a request left out (``None``, as FastAPI gives
    them) are not passed, so the command's defaults apply.

    Usage: ``query = structure_query(ListOrders, page=page, size=size)``.

    Raises:
        ValidationError: every bad parameter at once.
    """
    given = {name: value for name, value in params.items() if value is not None}
    return structure_input(given, cls, source="query")


@contextmanager
def located_in(source: str) -> Iterator[None]:
    """Locate the fields of a ``ValidationError`` raised inside under ``source``, as
    :func:`structure_input` does: for a use case that checks an input against the store (an
    unknown ``genre_id``, the shop's password policy) after the command was built.

    Usage: ``with located_in("body"): book = await shop.catalog.create_book(...)``.
    """
    try:
        yield
    except ValidationError as exc:
        raise exc.located(source) from None


# -- request bodies -----------------------------------------------------------------------------

#: A JSON object body, handed to the route undecoded so that the core's command does all the
#: checking via :func:`structure_input` (unknown fields are ignored there).
JsonObject = dict[str, Any]


def json_body(model: type[BaseModel], *, description: str | None = None) -> Any:
    """``Body()`` for a :data:`JsonObject` parameter, documented in OpenAPI as ``model``.

    The route still receives the raw object: ``model`` only describes the wire shape (it is
    never used to validate, so a client meets one 422 shape, the core's).

    Usage: ``body: Annotated[JsonObject, json_body(RegisterIn)]``.
    """
    schema = model.model_json_schema()
    return Body(
        title=model.__name__,
        description=description or model.__doc__,
        json_schema_extra=schema,
    )


# -- authentication -----------------------------------------------------------------------------

#: The OpenAPI ``bearer`` security scheme; parsing only (``auto_error=False``): who the token
#: names is for the core to say.
bearer_scheme: Final = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description=(
        "An access token from POST /auth/register, /auth/login, /auth/refresh or an OAuth "
        "sign-in, sent as `Authorization: Bearer <token>`. It lives 15 minutes by default."
    ),
    auto_error=False,
)

#: What a route taking :data:`UserDep` can answer besides its own errors (401 and 403).
USER_AUTH_CODES: Final = (
    "HTTP_401",
    "AUTH_TOKEN_EXPIRED",
    "AUTH_TOKEN_INVALID",
    "AUTH_ACCOUNT_DEACTIVATED",
)
#: The same for :data:`AdminDep`.
ADMIN_AUTH_CODES: Final = (*USER_AUTH_CODES, "AUTH_FORBIDDEN")


async def current_principal(
    shop: ShopDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    """The caller: the active account the bearer access token names.

    Raises:
        HTTPException: 401 ``HTTP_401`` "Not authenticated" without a bearer token.
        AuthenticationError: 401 ``AUTH_TOKEN_EXPIRED`` or ``AUTH_TOKEN_INVALID``.
        PermissionDenied: 403 ``AUTH_ACCOUNT_DEACTIVATED``.
    """
    if credentials is None:
        raise HTTPException(
            HTTPStatus.UNAUTHORIZED,
            detail="Not authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return await shop.identity.authenticate(credentials.credentials)


UserDep = Annotated[Principal, Depends(current_principal)]


async def admin_principal(principal: UserDep) -> Principal:
    """The caller, who must be an active admin (the role as the account has it now).

    Raises:
        PermissionDenied: 403 ``AUTH_FORBIDDEN`` for any other account; and everything
            :func:`current_principal` raises.
    """
    return require_admin(principal)


AdminDep = Annotated[Principal, Depends(admin_principal)]


# -- lists ----------------------------------------------------------------------------------------

#: ``page`` of a public list or an order list; the route's query command checks it.
PageNumber = Annotated[
    int | None, Query(description="Page number from 1.", json_schema_extra={"minimum": 1})
]
#: ``size`` of a public list or an order list; the route's query command checks it.
PageSize = Annotated[
    int | None,
    Query(
        description=f"Page size (default {DEFAULT_PAGE_SIZE}).",
        json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_SIZE},
    ),
]

#: ``page`` of an admin list; the core's query command checks it.
AdminPage = Annotated[
    int | None, Query(description="Page number from 1.", json_schema_extra={"minimum": 1})
]
#: ``per_page`` of an admin list; the core's query command checks it.
AdminPerPage = Annotated[
    int | None,
    Query(
        description=f"Page size (default {DEFAULT_PAGE_SIZE}).",
        json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_SIZE},
    ),
]


def admin_page(page: Page[Any]) -> dict[str, Any]:
    """``page`` in the admin list envelope: ``{items, total_count, page, per_page,
    total_pages}`` (``total_pages`` is 0 when there are no items)."""
    return {
        "items": [unstructure(item) for item in page.items],
        "total_count": page.total,
        "page": page.page,
        "per_page": page.size,
        "total_pages": page.total_pages,
    }
