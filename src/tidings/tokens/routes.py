"""HTTP routes for your API tokens. Managing tokens needs the browser's session: a token
cannot make, list or revoke tokens (403 ``session_required``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from tidings.accounts.deps import SessionUser
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID
from tidings.tokens import actions
from tidings.tokens.schemas import TokenCreate, TokenCreated, TokenList

router = APIRouter(tags=["tokens"])
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/api/tokens", status_code=status.HTTP_201_CREATED, responses=SIGNED_IN)
async def create_token(data: TokenCreate, user: SessionUser, ctx: ContextDep) -> TokenCreated:
    """A personal access token, sent as ``Authorization: Bearer <secret>``. The secret is in
    this answer only (the server keeps its hash). Scopes: ``read`` (GET routes and the event
    stream), ``write`` (everything else too)."""
    return await actions.create_token(ctx, user.id, data)


@router.get("/api/tokens", responses=SIGNED_IN)
async def list_tokens(user: SessionUser, ctx: ContextDep) -> TokenList:
    """Your live tokens (not revoked or expired), newest first: name, scopes, created, last
    used (noted at most every few minutes), expiry. Never their secrets."""
    return await ctx.db.run_query(actions.list_tokens, [user.id])


@router.delete(
    "/api/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=SIGNED_IN | errors(404),
)
async def revoke_token(token_id: TokenId, user: SessionUser, ctx: ContextDep) -> Response:
    """Revoke a token: requests with it get 401 from now on, and its open event streams end
    at once, on every process (404 ``unknown_token``)."""
    await actions.revoke_token(ctx, [user.id], token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
