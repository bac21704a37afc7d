"""HTTP routes for profiles: a person's profile, your own (name, bio, avatar), deleting your
account, exporting your data; and serving avatars."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import StreamingResponse

from tidings import (
    avatars,
    plain_routes,  # noqa: F401  (registers the {name:db_id} path convertor)
)
from tidings.accounts import deletion, export, profiles, settings
from tidings.accounts.deps import CurrentUser, SessionUser
from tidings.accounts.schemas import (
    AccountDeletion,
    ProfileEnvelope,
    ProfileUpdate,
    ProfileView,
    Settings,
    SettingsUpdate,
    UserEnvelope,
)
from tidings.attachments.queries import ServedBlob
from tidings.attachments.serving import blob_response
from tidings.deps import ContextDep
from tidings.errors import NotFound
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID, ErrorBody

router = APIRouter(tags=["profiles"])
AVATAR_UPLOAD_PATH = "/api/users/me/avatar"
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]

_BINARY = {"schema": {"type": "string", "format": "binary"}}
AVATAR_BODY: dict[str, Any] = {
    "requestBody": {
        "description": "The image's bytes, as they are (no multipart): JPEG, PNG, GIF or WebP "
        "(sniffed from the bytes), at most MAX_AVATAR_BYTES. Stored as its centre square, "
        "256 px, WebP, without metadata.",
        "content": {t: _BINARY for t in ("image/jpeg", "image/png", "image/gif", "image/webp")},
        "required": True,
    }
}
AVATAR_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {
        "model": ErrorBody,
        "description": "Larger than MAX_AVATAR_BYTES (code body_too_large), or more pixels than "
        "MAX_IMAGE_PIXELS (code image_too_large)",
    },
    415: {
        "model": ErrorBody,
        "description": "Not a JPEG, PNG, GIF or WebP image that decodes (code not_an_image)",
    },
}


@router.get("/api/users/{user_id:db_id}", responses=SIGNED_IN | errors(404))
async def get_profile(user_id: UserId, user: CurrentUser, ctx: ContextDep) -> ProfileView:
    """A person's profile as you see it: friendship, a pending request, mutual groups, your DM.
    A deleted account: "Deleted user" and nothing else."""
    return await ctx.db.run_query(profiles.profile_view, user.id, user_id)


@router.patch("/api/users/me", responses=SIGNED_IN)
async def update_profile(
    data: ProfileUpdate, user: CurrentUser, ctx: ContextDep
) -> ProfileEnvelope:
    """Change your display name and/or bio (a field left out stays as it is)."""
    return await profiles.update_profile(ctx, user, data)


@router.get("/api/users/me/settings", responses=SIGNED_IN)
async def get_settings(user: CurrentUser, ctx: ContextDep) -> Settings:
    """Your attention settings: presence, read receipts, desktop notifications, sound."""
    return await ctx.db.run_query(settings.read_settings, user.id)


@router.patch("/api/users/me/settings", responses=SIGNED_IN | errors(429))
async def update_settings(data: SettingsUpdate, user: CurrentUser, ctx: ContextDep) -> Settings:
    """Change some of your settings (those left out stay). Every tab of yours is told
    (``settings_updated``); hiding your presence shows you offline to everyone at once. 429
    past ``RATE_LIMIT_ATTENTION`` (one budget with typing signals)."""
    return await settings.update_settings(ctx, user, data)


@router.put(
    AVATAR_UPLOAD_PATH,
    responses=SIGNED_IN | errors(429) | AVATAR_ERRORS,
    openapi_extra=AVATAR_BODY,
)
async def set_avatar(request: Request, user: CurrentUser, ctx: ContextDep) -> UserEnvelope:
    """Set your avatar from an image (the raw body)."""
    body = await request.body()
    view = await profiles.set_avatar(ctx, user, body, request.headers.get("content-type"))
    return UserEnvelope(user=view)


@router.delete(AVATAR_UPLOAD_PATH, responses=SIGNED_IN)
async def remove_avatar(user: CurrentUser, ctx: ContextDep) -> UserEnvelope:
    """Remove your avatar."""
    return UserEnvelope(user=await profiles.remove_avatar(ctx, user))


@router.delete(
    "/api/users/me", status_code=status.HTTP_204_NO_CONTENT, responses=SIGNED_IN | errors(401)
)
async def delete_account(data: AccountDeletion, user: SessionUser, ctx: ContextDep) -> Response:
    """Delete your account: your messages stay (from "Deleted user"); your sessions, API
    tokens, streams, friendships, requests, notifications and unsent uploads go, and you leave
    your groups. Your bots are deleted with it."""
    await deletion.delete_account(ctx, user, data.password)
    response = Response(
        status_code=status.HTTP_204_NO_CONTENT, headers={"Clear-Site-Data": '"cache"'}
    )
    response.delete_cookie(ctx.settings.session_cookie_name, path="/")
    return response


@router.get(
    "/api/users/me/export",
    response_class=StreamingResponse,
    responses=SIGNED_IN
    | {200: {"description": "Your data (a JSON file)", "content": {"application/json": {}}}},
)
async def export_account(user: CurrentUser, ctx: ContextDep) -> StreamingResponse:
    """Everything of yours as one JSON file: profile, friends, requests, conversations,
    messages, reactions, notifications, uploads' metadata."""
    filename = export.export_filename(user.username)
    return StreamingResponse(
        export.export_account(ctx, user.id),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/api/avatars/{key}",
    response_class=Response,
    responses=SIGNED_IN
    | errors(404)
    | {200: {"description": "The avatar (WebP)", "content": {"image/webp": _BINARY}}},
)
async def get_avatar(
    key: Annotated[str, Path(max_length=64)], user: CurrentUser, ctx: ContextDep
) -> Response:
    """An avatar (a person's or a group's), by its key: immutable, cached for good."""
    size = await ctx.db.run_query(avatars.avatar_size, key)
    if size is None:
        raise NotFound("No such avatar.")
    blob = ServedBlob(key, size, avatars.AVATAR_TYPE, "image", "avatar.webp")
    return await blob_response(ctx.attachment_store, blob, None)
