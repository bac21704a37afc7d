"""HTTP routes for presence: what a tab asks when it (re)connects, and its activity reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tidings.accounts.deps import CurrentUser
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.presence.events import PresenceStatus
from tidings.schemas import MAX_ID, ViewSchema

router = APIRouter(tags=["presence"])
MAX_USERS_PER_REQUEST = 200


class UserPresence(ViewSchema):
    user_id: int
    status: PresenceStatus
    last_seen_at: datetime | None


class PresenceList(ViewSchema):
    presence: list[UserPresence]


@router.get("/api/presence", responses=SIGNED_IN)
async def get_presence(
    user: CurrentUser,
    ctx: ContextDep,
    user_id: Annotated[
        list[Annotated[int, Query(ge=1, le=MAX_ID)]],
        Query(min_length=1, max_length=MAX_USERS_PER_REQUEST),
    ],
) -> PresenceList:
    """The presence of these people (``?user_id=1&user_id=2``, up to 200): online, away or
    offline with "last seen". People you share no friendship or conversation with, who hide
    their presence, or who are in a block with you, are offline without a "last seen". A tab
    asks on every (re)connect; changes then arrive as ephemeral ``presence`` events."""
    views = await ctx.presence.presence_of(user.id, user_id)
    return PresenceList(
        presence=[
            UserPresence(user_id=v.user_id, status=v.status, last_seen_at=v.last_seen_at)
            for v in views
        ]
    )


@router.post(
    "/api/presence/active",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=SIGNED_IN | errors(429),
)
async def report_activity(user: CurrentUser, ctx: ContextDep) -> Response:
    """You are using the app (a visible tab saw input): you are online rather than away. A tab
    sends it at most once a minute."""
    await ctx.limiter.hit(
        ctx.limiter.limits.attention,
        str(user.id),
        detail="You are reporting activity too often. Wait a moment.",
    )
    ctx.presence.note_activity(user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
