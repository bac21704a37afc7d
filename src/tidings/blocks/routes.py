"""HTTP routes for blocks: block someone, unblock them, list whom you blocked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from tidings.accounts.deps import CurrentUser
from tidings.blocks import actions, views
from tidings.blocks.schemas import BlockEnvelope, BlockList
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID

router = APIRouter(tags=["blocks"])
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/api/blocks", responses=SIGNED_IN)
async def list_blocks(user: CurrentUser, ctx: ContextDep) -> BlockList:
    """The people you blocked, most recent first."""
    return await ctx.db.run_query(views.block_list, user.id)


@router.put("/api/blocks/{user_id}", responses=SIGNED_IN | errors(404, 409, 429))
async def block(user_id: UserId, user: CurrentUser, ctx: ContextDep) -> BlockEnvelope:
    """Block someone: they can no longer message you (your DM closes for both), send you
    friend requests or add you to groups, or find you in search; your friendship and any
    pending request between you end. Blocking them again answers the same block (404
    ``unknown_user``, 409 ``is_you`` for yourself)."""
    return BlockEnvelope(block=await actions.block(ctx, user, user_id))


@router.delete(
    "/api/blocks/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=SIGNED_IN | errors(404, 409, 429),
)
async def unblock(user_id: UserId, user: CurrentUser, ctx: ContextDep) -> Response:
    """Unblock someone: your DM takes messages again (unless they blocked you too); a
    friendship does not come back. Someone you had not blocked: nothing changes, 204 all the
    same (404 ``unknown_user``, 409 ``is_you`` for yourself)."""
    await actions.unblock(ctx, user, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
