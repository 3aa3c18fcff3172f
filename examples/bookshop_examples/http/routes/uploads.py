"""Cover image uploads (admins) and serving them back.

The upload is handed to :meth:`CoverImages.upload <bookshop_core.catalog.images.CoverImages.
upload>` chunk by chunk: the core checks the real type from the first bytes (JPEG, PNG or WebP,
whatever type the client declared) and refuses the stream as soon as it passes the size limit,
and the image store (a local directory or memory) writes it atomically, so a refused upload
leaves nothing behind. ``GET /uploads/{name}`` serves what was stored.

The ``url`` an upload returns is absolute (the existing web client's book form refuses anything
else): the app's configured public base URL (``create_app(public_url=...)``) followed by the
store's path for the image, else the base URL the request arrived at. A store that names its
images with absolute URLs itself (a CDN) is answered as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, File, HTTPException, Path, Request, Response, UploadFile
from pydantic import BaseModel, Field

from bookshop_core.catalog.images import MAX_IMAGE_BYTES
from bookshop_examples.http.deps import ADMIN_AUTH_CODES, AdminDep, ShopDep
from bookshop_examples.http.errors import error_responses

__all__ = ["UPLOAD_CHUNK_BYTES", "UploadOut", "absolute_url", "router"]

#: How much of the uploaded file is read at a time.
UPLOAD_CHUNK_BYTES: Final = 64 * 1024

router = APIRouter(tags=["uploads"])

# Names are random and never reused, so a stored image never changes: cache it for good.
_IMAGE_HEADERS: Final = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
}


class UploadOut(BaseModel):
    """Where the uploaded image is served from (use it as a book's ``cover_image_url``)."""

    url: str = Field(
        description="An absolute URL that serves the image.",
        examples=["https://shop.example.com/uploads/3f9c0d2e8b7a4f1e9d6c5b4a3f2e1d0c.png"],
    )


def absolute_url(request: Request, url: str) -> str:
    """``url`` as an absolute URL: already absolute, or a path joined to the app's public base.

    The base is ``app.state.public_url`` when configured (behind a proxy it must be), else the
    base URL the request arrived at (its scheme, host and root path).
    """
    if url.startswith(("http://", "https://")):
        return url
    base = getattr(request.app.state, "public_url", None) or str(request.base_url)
    return str(base).rstrip("/") + "/" + url.lstrip("/")


async def _chunks(file: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await file.read(UPLOAD_CHUNK_BYTES):
        yield chunk


@router.post(
    "/uploads/images",
    response_model=UploadOut,
    responses=error_responses(400, 401, 403, 422, codes=["HTTP_400", *ADMIN_AUTH_CODES]),
    summary="Upload a cover image",
)
async def upload_image(
    request: Request,
    shop: ShopDep,
    principal: AdminDep,
    file: Annotated[
        UploadFile,
        File(
            description=f"A JPEG, PNG or WebP image of at most {MAX_IMAGE_BYTES // 2**20} MB, "
            "recognised by its content (the declared type is ignored)."
        ),
    ],
) -> Any:
    """Store an image and answer the absolute URL serving it; 400 ``HTTP_400`` for anything
    else, an empty file or one too large."""
    try:
        stored = await shop.images.upload(principal, _chunks(file))
    finally:
        await file.close()
    return UploadOut(url=absolute_url(request, stored.url))


@router.get(
    "/uploads/{name}",
    response_class=Response,
    responses={
        200: {
            "description": "The image",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("image/jpeg", "image/png", "image/webp")
            },
        },
        **error_responses(404, 422),
    },
    summary="An uploaded image",
)
async def get_upload(
    shop: ShopDep,
    name: Annotated[str, Path(max_length=255, description="The name in the upload's url.")],
) -> Response:
    """The bytes of an uploaded image, with its content type; 404 ``HTTP_404`` otherwise."""
    found = await shop.images.load(name)
    if found is None:
        raise HTTPException(404, detail="Not Found")
    data, content_type = found
    return Response(data, media_type=content_type, headers=_IMAGE_HEADERS)
