"""HTTP routes for notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from tidings.accounts.deps import CurrentUser
from tidings.deps import ContextDep
from tidings.notifications import actions, queries, views
from tidings.notifications.schemas import NotificationEnvelope, NotificationList, UnreadCount
from tidings.openapi import SIGNED_IN, errors
from tidings.realtime import log
from tidings.schemas import MAX_ID, blank_means

router = APIRouter(tags=["notifications"])


@router.get("/api/notifications", responses=SIGNED_IN)
async def list_notifications(
    user: CurrentUser,
    ctx: ContextDep,
    unread_only: Annotated[bool, Query(), blank_means(False)] = False,
    limit: Annotated[int, Query(ge=1, le=100), blank_means(50)] = 50,
) -> NotificationList:
    """Your notifications, newest first, with your unread count."""
    return await ctx.db.run_query(_notification_list, user.id, unread_only, limit)


def _notification_list(
    session: Session, user_id: int, unread_only: bool, limit: int
) -> NotificationList:
    last_event_id = log.read_head(session)
    notifications = views.list_notifications(session, user_id, unread_only=unread_only, limit=limit)
    count = queries.unread_count(session, user_id)
    return NotificationList(
        notifications=notifications, unread_count=count, last_event_id=str(last_event_id)
    )


@router.post("/api/notifications/read-all", responses=SIGNED_IN)
async def mark_all_read(user: CurrentUser, ctx: ContextDep) -> UnreadCount:
    """Mark all your notifications read."""
    return await actions.mark_all_read(ctx, user)


@router.post("/api/notifications/{notification_id}", responses=SIGNED_IN | errors(404))
async def mark_read(
    notification_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, ctx: ContextDep
) -> NotificationEnvelope:
    """Mark one notification read."""
    return await actions.mark_read(ctx, user, notification_id)
