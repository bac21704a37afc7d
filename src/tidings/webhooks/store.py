"""The webhook rows as delivery uses them: claiming and renewing leases, reading a bot's next
events, recording attempts (``webhooks/delivery.py`` explains the protocol).

Reads are plain functions of a ``Session`` (``Database.run_query``); writes are functions of a
``Transaction`` for the writer, each conditional on the caller still holding the lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.db import utcnow
from tidings.realtime import log
from tidings.realtime.events import StoredEvent
from tidings.realtime.transaction import Transaction
from tidings.webhooks.models import Webhook, WebhookDelivery

KEEP_DELIVERIES = 1000
"""Attempts kept in a webhook's delivery log (the oldest go)."""

webhook_table = cast(Table, Webhook.__table__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of one attempt: the receiver's status (None: no answer), or the error."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class WebhookState:
    """A webhook's row, as a worker reads it before each step."""

    bot_id: int
    url: str
    secret: str
    cursor: int
    failures: int
    next_attempt_at: datetime | None
    leased_until: datetime | None
    lease_owner: str | None


def claimable(session: Session, owner: str, now: datetime) -> list[int]:
    """Webhooks of live bots that nobody holds (or whose lease ran out, or are ours)."""
    rows = session.scalars(
        select(Webhook.id)
        .join(User, User.id == Webhook.bot_id)
        .where(
            User.deleted_at.is_(None),
            or_(
                Webhook.leased_until.is_(None),
                Webhook.leased_until < now,
                Webhook.lease_owner == owner,
            ),
        )
        .order_by(Webhook.id)
    )
    return list(rows)


def claim(tx: Transaction, webhook_id: int, owner: str, now: datetime, until: datetime) -> bool:
    """Take the lease if it is free, expired or ours already (a conditional UPDATE: of two
    processes claiming at once, the second finds it taken). Whether we hold it now."""
    result = tx.session.execute(
        update(webhook_table)
        .where(
            webhook_table.c.id == webhook_id,
            or_(
                webhook_table.c.leased_until.is_(None),
                webhook_table.c.leased_until < now,
                webhook_table.c.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, leased_until=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def load(session: Session, webhook_id: int) -> WebhookState | None:
    """The webhook's row (None: removed)."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None:
        return None
    return WebhookState(
        webhook.bot_id,
        webhook.url,
        webhook.secret,
        webhook.cursor,
        webhook.failures,
        webhook.next_attempt_at,
        webhook.leased_until,
        webhook.lease_owner,
    )


def _held(webhook_id: int, owner: str):  # type: ignore[no-untyped-def]
    """The webhook's row, if ``owner`` holds its lease."""
    return and_(webhook_table.c.id == webhook_id, webhook_table.c.lease_owner == owner)


def renew(
    tx: Transaction, webhook_id: int, owner: str, until: datetime, idle: tuple[int, int] | None
) -> bool:
    """Extend the lease (False: it is someone else's now, or the webhook is gone); with
    ``idle`` = (cursor, position), also move an idle cursor up to where nothing was found."""
    session = tx.session
    renewed = session.execute(
        update(webhook_table).where(_held(webhook_id, owner)).values(leased_until=until)
    )
    if not renewed.rowcount:  # type: ignore[attr-defined]
        return False
    if idle is not None:
        cursor, position = idle
        session.execute(
            update(webhook_table)
            .where(
                _held(webhook_id, owner),
                webhook_table.c.cursor == cursor,
                webhook_table.c.failures == 0,
            )
            .values(cursor=position)
        )
    return True


def next_events(
    session: Session, bot_id: int, after: int, limit: int
) -> tuple[int, list[StoredEvent] | None, int]:
    """(head, the bot's next events up to it or None if some were pruned, floor)."""
    head = log.read_head(session)
    page = log.events_page(session, bot_id, after, head, limit)
    floor, _ = log.bounds(session)
    return head, page, floor


def record_attempt(
    tx: Transaction,
    webhook_id: int,
    owner: str,
    event: StoredEvent,
    attempt: int,
    outcome: Outcome,
    next_attempt_at: datetime | None,
) -> bool:
    """Log an attempt and move the cursor past its event if it succeeded (else count the
    failure); False, nothing written, if the lease is no longer ours."""
    session = tx.session
    values: dict[str, object] = (
        {"cursor": event.pos, "failures": 0, "next_attempt_at": None}
        if outcome.succeeded
        else {"failures": attempt, "next_attempt_at": next_attempt_at}
    )
    moved = session.execute(
        update(webhook_table)
        .where(_held(webhook_id, owner), webhook_table.c.cursor < event.pos)
        .values(**values)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    session.add(
        WebhookDelivery(
            webhook_id=webhook_id,
            event_pos=event.pos,
            event_type=event.type,
            attempt=attempt,
            status_code=outcome.status_code,
            error=outcome.error,
            succeeded=outcome.succeeded,
            duration_ms=outcome.duration_ms,
            created_at=utcnow(),
        )
    )
    session.flush()
    oldest_kept = session.scalar(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
        .offset(KEEP_DELIVERIES - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.id < oldest_kept
            )
        )
    return True


def release(tx: Transaction, owner: str) -> None:
    """Give back every lease ``owner`` holds (a clean stop: others may carry on at once)."""
    tx.session.execute(
        update(webhook_table)
        .where(webhook_table.c.lease_owner == owner)
        .values(lease_owner=None, leased_until=None)
    )
