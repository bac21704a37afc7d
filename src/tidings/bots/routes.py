"""HTTP routes for your bots and their tokens. Only from a browser session: a token cannot
make, delete or hand out tokens for bots (403 ``session_required``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from tidings.accounts.deps import SessionUser
from tidings.bots import actions
from tidings.bots.schemas import BotCreate, BotEnvelope, BotList
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID
from tidings.tokens.schemas import TokenCreate, TokenCreated, TokenList

router = APIRouter(tags=["bots"])
BotId = Annotated[int, Path(ge=1, le=MAX_ID)]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/api/bots",
    status_code=status.HTTP_201_CREATED,
    responses=SIGNED_IN | errors(409, 429),
)
async def create_bot(data: BotCreate, user: SessionUser, ctx: ContextDep) -> BotEnvelope:
    """A bot account of yours: found, befriended and added to groups like anyone, shown with
    ``bot: true``; it acts only with the tokens you make for it (it has no password). It is
    your friend at once. 409 ``username_taken``, ``too_many_bots`` (20 at most)."""
    return BotEnvelope(bot=await actions.create_bot(ctx, user, data))


@router.get("/api/bots", responses=SIGNED_IN)
async def list_bots(user: SessionUser, ctx: ContextDep) -> BotList:
    """Your bots, oldest first."""
    return await ctx.db.run_query(actions.list_bots, user.id)


@router.delete(
    "/api/bots/{bot_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=SIGNED_IN | errors(404),
)
async def delete_bot(bot_id: BotId, user: SessionUser, ctx: ContextDep) -> Response:
    """Delete a bot of yours as an account is deleted: its messages stay, from "Deleted
    user"; its tokens are revoked (its open streams end) and its webhook goes. 404
    ``unknown_bot``."""
    await actions.delete_bot(ctx, user, bot_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/bots/{bot_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    responses=SIGNED_IN | errors(404),
)
async def create_bot_token(
    bot_id: BotId, data: TokenCreate, user: SessionUser, ctx: ContextDep
) -> TokenCreated:
    """A token for your bot (``user_id`` is the bot's), sent as ``Authorization: Bearer
    <secret>``; the secret is in this answer only. 404 ``unknown_bot``."""
    return await actions.create_bot_token(ctx, user, bot_id, data)


@router.get("/api/bots/{bot_id}/tokens", responses=SIGNED_IN | errors(404))
async def list_bot_tokens(bot_id: BotId, user: SessionUser, ctx: ContextDep) -> TokenList:
    """Your bot's live tokens, newest first (never their secrets). 404 ``unknown_bot``."""
    return await ctx.db.run_query(actions.list_bot_tokens, user.id, bot_id)


@router.delete(
    "/api/bots/{bot_id}/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=SIGNED_IN | errors(404),
)
async def revoke_bot_token(
    bot_id: BotId, token_id: TokenId, user: SessionUser, ctx: ContextDep
) -> Response:
    """Revoke your bot's token: requests with it get 401, its open streams end at once, on
    every process. 404 ``unknown_bot`` / ``unknown_token``."""
    await actions.revoke_bot_token(ctx, user, bot_id, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
