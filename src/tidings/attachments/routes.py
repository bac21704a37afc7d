"""HTTP routes for attachments: upload, fetch (file and thumbnail), discard an unsent upload."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from tidings.accounts.deps import CurrentUser
from tidings.attachments import actions, queries
from tidings.attachments.schemas import AttachmentView
from tidings.attachments.serving import blob_response
from tidings.context import AppContext
from tidings.deps import ContextDep
from tidings.errors import NotFound
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID, ErrorBody

router = APIRouter(tags=["attachments"])
UPLOAD_PATH = "/api/attachments"
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

_BINARY = {"schema": {"type": "string", "format": "binary"}}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "description": "The file's bytes, as they are (no multipart). Any Content-Type: "
        "`image/*` or `video/*` insists that the bytes be an allowed image (JPEG, PNG, GIF, "
        "WebP) or video (MP4, WebM), else 415; the type served is sniffed from the bytes.",
        "content": {"application/octet-stream": _BINARY},
        "required": False,
    }
}
FILE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/webm"]
_FILE_CONTENT = {media_type: _BINARY for media_type in [*FILE_TYPES, "application/octet-stream"]}


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    408: _error("The body did not arrive within UPLOAD_TIMEOUT_SECONDS (code body_timeout)"),
    413: _error(
        "Larger than MAX_UPLOAD_BYTES (code body_too_large, or file_too_large), or an image "
        "of more than MAX_IMAGE_PIXELS, a WebP of more than a fifth of it (code "
        "image_too_large)"
    ),
    415: _error(
        "Sent as an image or video (Content-Type) but it is not one of the allowed types, "
        "or does not decode as one (code unsupported_media_type)"
    ),
}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file (images and videos inline, anything else to download)",
        "content": _FILE_CONTENT,
    },
    206: {"description": "The part of the file that `Range` asked for", "content": _FILE_CONTENT},
    416: _error("The range starts past the end of the file (code range_not_satisfiable)"),
}


@router.post(
    UPLOAD_PATH,
    status_code=status.HTTP_201_CREATED,
    responses=SIGNED_IN | errors(429) | UPLOAD_ERRORS,
    openapi_extra=UPLOAD_BODY,
)
async def upload_attachment(
    request: Request,
    user: CurrentUser,
    ctx: ContextDep,
    filename: Annotated[
        str | None, Query(max_length=255, description="The file's name (sanitised)")
    ] = None,
) -> AttachmentView:
    """Upload a file (the raw body), to send with a message: unsent, only you can fetch it,
    and it is deleted if not sent within ATTACHMENT_ORPHAN_SECONDS."""
    return await actions.upload(
        ctx,
        user,
        request.stream(),
        filename=filename,
        declared_type=request.headers.get("content-type"),
    )


RangeHeader = Annotated[
    str | None,
    Header(description="One range of bytes (`bytes=a-b`, `a-`, `-n`); anything else is ignored"),
]


@router.get(
    "/api/attachments/{attachment_id}",
    response_class=Response,
    responses=FILE_RESPONSES | SIGNED_IN | errors(404),
)
async def get_attachment(
    attachment_id: Id, user: CurrentUser, ctx: ContextDep, range: RangeHeader = None
) -> Response:
    """An attachment's file: for its uploader until it is sent, then for the members of its
    conversation; 404 for anyone else."""
    return await _file(ctx, user.id, attachment_id, range, thumbnail=False, head=False)


@router.head("/api/attachments/{attachment_id}", include_in_schema=False)
async def head_attachment(
    attachment_id: Id, user: CurrentUser, ctx: ContextDep, range: RangeHeader = None
) -> Response:
    return await _file(ctx, user.id, attachment_id, range, thumbnail=False, head=True)


@router.get(
    "/api/attachments/{attachment_id}/thumbnail",
    response_class=Response,
    responses=FILE_RESPONSES | SIGNED_IN | errors(404),
)
async def get_attachment_thumbnail(
    attachment_id: Id, user: CurrentUser, ctx: ContextDep, range: RangeHeader = None
) -> Response:
    """An image attachment's thumbnail (WebP, at most 320 px a side); 404 as for its file,
    and for an attachment that is not an image."""
    return await _file(ctx, user.id, attachment_id, range, thumbnail=True, head=False)


@router.head("/api/attachments/{attachment_id}/thumbnail", include_in_schema=False)
async def head_attachment_thumbnail(
    attachment_id: Id, user: CurrentUser, ctx: ContextDep, range: RangeHeader = None
) -> Response:
    return await _file(ctx, user.id, attachment_id, range, thumbnail=True, head=True)


async def _file(
    ctx: AppContext,
    user_id: int,
    attachment_id: int,
    range_header: str | None,
    *,
    thumbnail: bool,
    head: bool,
) -> Response:
    blob = await ctx.db.run_query(queries.served_blob, attachment_id, user_id, thumbnail)
    if blob is None:
        what = "has no thumbnail" if thumbnail else "not found"
        raise NotFound(f"Attachment {attachment_id} {what}.")
    return await blob_response(ctx.attachment_store, blob, range_header, head=head)


@router.delete(
    "/api/attachments/{attachment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=SIGNED_IN | errors(404),
)
async def discard_attachment(attachment_id: Id, user: CurrentUser, ctx: ContextDep) -> None:
    """Discard one of your uploads that you have not sent (404 otherwise)."""
    await actions.discard_upload(ctx, user, attachment_id)
