"""HTTP routes for typing signals and read receipts (``actions/attention.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response, status

from tidings.accounts.deps import CurrentUser
from tidings.conversations import actions
from tidings.conversations.schemas import ReceiptList, TypingSignal
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID

router = APIRouter(tags=["conversations"])
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/api/conversations/{conversation_id}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=SIGNED_IN | errors(404, 409, 429),
)
async def signal_typing(
    conversation_id: Id,
    user: CurrentUser,
    ctx: ContextDep,
    data: Annotated[TypingSignal | None, Body()] = None,
) -> Response:
    """You are typing here (or stopped: ``{"active": false}``). The other members' open tabs
    get an ephemeral ``typing`` event (never stored or replayed) that expires by itself; a
    tab sends one every few seconds while its person types. 409 where you could not send a
    message either (code ``user_deleted`` or ``blocked``)."""
    active = data.active if data is not None else True
    await actions.signal_typing(ctx, user, conversation_id, active=active)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/conversations/{conversation_id}/receipts", responses=SIGNED_IN | errors(404))
async def get_receipts(conversation_id: Id, user: CurrentUser, ctx: ContextDep) -> ReceiptList:
    """How far the other members have read (those who send read receipts): a DM's "Seen", a
    group's "seen by". Live afterwards through ephemeral ``read_receipt`` events. In a group
    larger than ``PRESENCE_GROUP_LIMIT`` (no live receipts): the members furthest ahead, as many
    as that limit, and ``complete: false``."""
    limit = ctx.settings.presence_group_limit
    return await ctx.db.run_query(actions.receipts, user.id, conversation_id, limit)
