"""Setting, showing and removing a bot's webhook (its owner, from a browser session).

The secret signs every delivery (``webhooks/delivery.py``), so the server keeps it as it is
(a hash could not sign); it is shown once, in the answer to the PUT that made it. A new PUT
replaces the URL and the secret and retries at once, but keeps the cursor: events not yet
delivered go to the new URL (a webhook is fixed, not restarted). A new webhook starts at the
log's head: a bot gets no events from before its webhook was set.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tidings.bots.queries import owned_bot
from tidings.context import AppContext
from tidings.db import utcnow
from tidings.errors import NotFound
from tidings.realtime import log
from tidings.realtime.transaction import Transaction
from tidings.webhooks.addresses import check_url
from tidings.webhooks.models import Webhook, WebhookDelivery
from tidings.webhooks.schemas import (
    DeliveryList,
    DeliveryView,
    WebhookCreated,
    WebhookView,
)

SECRET_PREFIX = "whsec_"
DELIVERIES_SHOWN = 100
"""How many attempts ``GET .../deliveries`` lists (the newest)."""


def _delivery_view(delivery: WebhookDelivery) -> DeliveryView:
    return DeliveryView.model_validate(delivery)


def _webhook_view(session: Session, webhook: Webhook) -> WebhookView:
    last = session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(1)
    )
    return WebhookView(
        bot_id=webhook.bot_id,
        url=webhook.url,
        created_at=webhook.created_at,
        cursor=webhook.cursor,
        failures=webhook.failures,
        next_attempt_at=webhook.next_attempt_at,
        last_delivery=None if last is None else _delivery_view(last),
    )


async def put_webhook(ctx: AppContext, owner_id: int, bot_id: int, url: str) -> WebhookCreated:
    """Set the bot's webhook (or replace its URL and secret); this process looks for work at
    once."""
    checked = check_url(url, allow_private=ctx.settings.webhook_allow_private_addresses)
    created = await ctx.writer.run(_put_webhook, owner_id, bot_id, checked)
    ctx.webhooks.wake()
    return created


def _put_webhook(tx: Transaction, owner_id: int, bot_id: int, url: str) -> WebhookCreated:
    session = tx.session
    owned_bot(session, owner_id, bot_id)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    webhook = session.scalar(select(Webhook).where(Webhook.bot_id == bot_id).with_for_update())
    if webhook is None:
        webhook = Webhook(
            bot_id=bot_id,
            url=url,
            secret=secret,
            created_at=utcnow(),
            cursor=log.read_head(session),
            failures=0,
        )
        session.add(webhook)
    else:
        webhook.url = url
        webhook.secret = secret
        webhook.failures = 0
        webhook.next_attempt_at = None
    session.flush()
    return WebhookCreated(webhook=_webhook_view(session, webhook), secret=secret)


def get_webhook(session: Session, owner_id: int, bot_id: int) -> WebhookView:
    """The bot's webhook, or 404 ``unknown_bot`` / ``no_webhook``."""
    owned_bot(session, owner_id, bot_id)
    return _webhook_view(session, _webhook_of(session, bot_id))


def _webhook_of(session: Session, bot_id: int) -> Webhook:
    webhook = session.scalar(select(Webhook).where(Webhook.bot_id == bot_id))
    if webhook is None:
        raise NotFound("This bot has no webhook.", code="no_webhook")
    return webhook


def list_deliveries(session: Session, owner_id: int, bot_id: int) -> DeliveryList:
    """The webhook's latest attempts, newest first."""
    owned_bot(session, owner_id, bot_id)
    webhook = _webhook_of(session, bot_id)
    rows = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(DELIVERIES_SHOWN)
    )
    return DeliveryList(deliveries=[_delivery_view(d) for d in rows])


async def delete_webhook(ctx: AppContext, owner_id: int, bot_id: int) -> None:
    """Remove the bot's webhook and its delivery log (a delivery under way may still land)."""
    await ctx.writer.run(_delete_webhook, owner_id, bot_id)


def _delete_webhook(tx: Transaction, owner_id: int, bot_id: int) -> None:
    owned_bot(tx.session, owner_id, bot_id)
    if not remove_for_bot(tx.session, bot_id):
        raise NotFound("This bot has no webhook.", code="no_webhook")


def remove_for_bot(session: Session, bot_id: int) -> bool:
    """Delete the bot's webhook and its delivery log, if it has one. Whether there was one.
    (Deleting a bot or its owner removes the webhook too: ``accounts/deletion.py``.)"""
    webhook_id = session.scalar(select(Webhook.id).where(Webhook.bot_id == bot_id))
    if webhook_id is None:
        return False
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
    session.execute(delete(Webhook).where(Webhook.id == webhook_id))
    return True
