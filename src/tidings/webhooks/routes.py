"""HTTP routes for a bot's webhook, for the bot's owner from a browser session (a token cannot
set where a bot's events go: 403 ``session_required``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from tidings.accounts.deps import SessionUser
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID
from tidings.webhooks import actions
from tidings.webhooks.schemas import DeliveryList, WebhookCreated, WebhookPut, WebhookRead

router = APIRouter(tags=["bots"])
BotId = Annotated[int, Path(ge=1, le=MAX_ID)]
WEBHOOK_PATH = "/api/bots/{bot_id}/webhook"


@router.put(WEBHOOK_PATH, responses=SIGNED_IN | errors(404))
async def put_webhook(
    bot_id: BotId, data: WebhookPut, user: SessionUser, ctx: ContextDep
) -> WebhookCreated:
    """Send your bot's events to ``url`` (``http`` or ``https``, up to 2,000 characters): each
    event, from now on, POSTed as ``{"id", "type", "data"}`` and signed with the ``secret`` in
    this answer (shown this once): ``Tidings-Signature: v1=<hex HMAC-SHA256(secret,
    "<Tidings-Timestamp>.<body>")>``. A 2xx answer delivers it; anything else is retried, with
    backoff, in order. Again: a new URL and a new secret; events not yet delivered go to the new
    URL. 404 ``unknown_bot``; 422 ``invalid_url``, ``private_address`` (this server's own or a
    private network, unless the server allows it)."""
    return await actions.put_webhook(ctx, user.id, bot_id, data.url)


@router.get(WEBHOOK_PATH, responses=SIGNED_IN | errors(404))
async def get_webhook(bot_id: BotId, user: SessionUser, ctx: ContextDep) -> WebhookRead:
    """Your bot's webhook: its URL (never its secret), how far delivery got (``cursor``),
    failures in a row and the next attempt, the last attempt. 404 ``unknown_bot`` /
    ``no_webhook``."""
    view = await ctx.db.run_query(actions.get_webhook, user.id, bot_id)
    return WebhookRead(webhook=view)


@router.delete(
    WEBHOOK_PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=SIGNED_IN | errors(404),
)
async def delete_webhook(bot_id: BotId, user: SessionUser, ctx: ContextDep) -> Response:
    """Stop sending your bot's events anywhere; its delivery log goes too. 404 ``unknown_bot``
    / ``no_webhook``."""
    await actions.delete_webhook(ctx, user.id, bot_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(f"{WEBHOOK_PATH}/deliveries", responses=SIGNED_IN | errors(404))
async def list_deliveries(bot_id: BotId, user: SessionUser, ctx: ContextDep) -> DeliveryList:
    """The webhook's latest 100 attempts, newest first: the event, the attempt's number, the
    receiver's status or the error, how long it took. 404 ``unknown_bot`` / ``no_webhook``."""
    return await ctx.db.run_query(actions.list_deliveries, user.id, bot_id)
