"""HTTP routes for managing a group: its settings, its members' roles, handing it over,
deleting it. (Creating a group, adding and removing members: ``routes``.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from tidings.accounts.deps import CurrentUser
from tidings.accounts.profile_routes import AVATAR_BODY, AVATAR_ERRORS
from tidings.conversations import actions
from tidings.conversations.schemas import (
    ConversationView,
    GroupUpdate,
    OwnershipTransfer,
    RoleChange,
)
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID

router = APIRouter(tags=["groups"])
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
GROUP_AVATAR_PATH = "/api/conversations/{id}/avatar"
"""How the request body limits name the group picture's upload (``middleware._by_path``)."""


@router.patch(
    "/api/conversations/{conversation_id}",
    responses=SIGNED_IN | errors(403, 404, 409, 422, 429),
)
async def update_group(
    conversation_id: Id, data: GroupUpdate, user: CurrentUser, ctx: ContextDep
) -> ConversationView:
    """Rename a group, change its description or whether members may add people (admins)."""
    return await actions.update_group(ctx, user, conversation_id, data)


@router.delete(
    "/api/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=SIGNED_IN | errors(403, 404, 409),
)
async def delete_group(conversation_id: Id, user: CurrentUser, ctx: ContextDep) -> Response:
    """Delete a group (its owner): it disappears for every member, with its messages."""
    await actions.delete_group(ctx, user, conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/api/conversations/{conversation_id}/members/{user_id}/role",
    responses=SIGNED_IN | errors(403, 404, 409, 422, 429),
)
async def set_role(
    conversation_id: Id, user_id: Id, data: RoleChange, user: CurrentUser, ctx: ContextDep
) -> ConversationView:
    """Change a member's role: admins make members admins and admins members; owners also make
    and unmake owners (the last owner cannot step down: 409)."""
    return await actions.set_role(ctx, user, conversation_id, user_id, data.role)


@router.post(
    "/api/conversations/{conversation_id}/transfer",
    responses=SIGNED_IN | errors(403, 404, 409, 422, 429),
)
async def transfer_ownership(
    conversation_id: Id, data: OwnershipTransfer, user: CurrentUser, ctx: ContextDep
) -> ConversationView:
    """Hand the group over (its owner): the member named becomes the owner, you an admin."""
    return await actions.transfer_ownership(ctx, user, conversation_id, data.user_id)


@router.put(
    "/api/conversations/{conversation_id}/avatar",
    responses=SIGNED_IN | errors(403, 404, 409, 429) | AVATAR_ERRORS,
    openapi_extra=AVATAR_BODY,
)
async def set_group_avatar(
    conversation_id: Id, request: Request, user: CurrentUser, ctx: ContextDep
) -> ConversationView:
    """Set the group's picture from an image, the raw body (admins)."""
    body = await request.body()
    return await actions.set_group_avatar(
        ctx, user, conversation_id, body, request.headers.get("content-type")
    )


@router.delete(
    "/api/conversations/{conversation_id}/avatar", responses=SIGNED_IN | errors(403, 404, 409)
)
async def remove_group_avatar(
    conversation_id: Id, user: CurrentUser, ctx: ContextDep
) -> ConversationView:
    """Remove the group's picture (admins)."""
    return await actions.set_group_avatar(ctx, user, conversation_id, None, None)
