"""``GET /api/bootstrap``: everything a page shows, and the stream position it reflects.

The seed design fetched state on mount and subscribed afterwards, losing what happened in
between. Here the position (``last_event_id``) is read *before* the state, in the same
session, and the client opens its stream from it: every change after the snapshot arrives as an
event, and one that the snapshot already shows arrives as a harmless duplicate (clients apply
events by id, idempotently).
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from tidings.accounts.deps import CurrentUser
from tidings.accounts.schemas import UserView
from tidings.conversations import views as conversation_views
from tidings.conversations.schemas import ConversationView
from tidings.deps import ContextDep
from tidings.friends import views as friend_views
from tidings.friends.schemas import FriendRequestLists
from tidings.notifications import queries as notification_queries
from tidings.notifications import views as notification_views
from tidings.notifications.schemas import NotificationView
from tidings.openapi import SIGNED_IN
from tidings.realtime import log
from tidings.schemas import ViewSchema

router = APIRouter(tags=["bootstrap"])


class Bootstrap(ViewSchema):
    user: UserView
    last_event_id: str
    conversations: list[ConversationView]
    notifications: list[NotificationView]
    notifications_unread_count: int
    friends: list[UserView]
    friend_requests: FriendRequestLists


@router.get("/api/bootstrap", responses=SIGNED_IN)
async def bootstrap(user: CurrentUser, ctx: ContextDep) -> Bootstrap:
    """The signed-in user's whole state, for a page's first render."""
    return await ctx.db.run_query(_bootstrap, UserView.model_validate(user))


def _bootstrap(session: Session, user: UserView) -> Bootstrap:
    last_event_id = log.read_head(session)
    return Bootstrap(
        user=user,
        last_event_id=str(last_event_id),
        conversations=conversation_views.conversation_list(session, user.id),
        notifications=notification_views.list_notifications(
            session, user.id, unread_only=False, limit=50
        ),
        notifications_unread_count=notification_queries.unread_count(session, user.id),
        friends=friend_views.list_friends(session, user.id),
        friend_requests=friend_views.pending_requests(session, user.id),
    )
