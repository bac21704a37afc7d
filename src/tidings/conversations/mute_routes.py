"""HTTP routes for muting a conversation (for yourself): mute it, for a time or until you unmute
it, and unmute it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from tidings.accounts.deps import CurrentUser
from tidings.conversations import actions
from tidings.conversations.schemas import ConversationView, MuteUpdate
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID

router = APIRouter(tags=["conversations"])
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.put("/api/conversations/{conversation_id}/mute", responses=SIGNED_IN | errors(404))
async def mute(
    conversation_id: Id, data: MuteUpdate, user: CurrentUser, ctx: ContextDep
) -> ConversationView:
    """Mute a conversation for yourself until ``until`` (null: until you unmute it). It still
    counts unread messages but raises no bell entry, sound or system notification, except for
    a mention of you. 422 ``mute_until_invalid`` for a time past or more than a year ahead."""
    return await actions.set_mute(ctx, user, conversation_id, data.until)


@router.delete("/api/conversations/{conversation_id}/mute", responses=SIGNED_IN | errors(404))
async def unmute(conversation_id: Id, user: CurrentUser, ctx: ContextDep) -> ConversationView:
    """Unmute a conversation (not muted: nothing changes)."""
    return await actions.set_mute(ctx, user, conversation_id, None, on=False)
