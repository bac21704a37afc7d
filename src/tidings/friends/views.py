"""Views of friends and friend requests: the one builder of each shape the API and the events
show."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.friends.models import FriendRequest, FriendRequestStatus, Friendship
from tidings.friends.schemas import FriendRequestLists, FriendRequestView


def list_friends(session: Session, user_id: int) -> list[UserView]:
    """The user's friends, by username."""
    rows = session.scalars(
        select(User)
        .join(Friendship, Friendship.friend_id == User.id)
        .where(Friendship.user_id == user_id)
        .order_by(User.username)
    )
    return [UserView.model_validate(u) for u in rows]


def views_of(session: Session, requests: Sequence[FriendRequest]) -> list[FriendRequestView]:
    """Friend requests as the API and the ``friend_request`` event show them: the one builder."""
    ids = [r.requester_id for r in requests] + [r.addressee_id for r in requests]
    users = account_queries.users_by_ids(session, ids)
    return [
        FriendRequestView(
            id=r.id,
            requester=UserView.model_validate(users[r.requester_id]),
            addressee=UserView.model_validate(users[r.addressee_id]),
            status=r.status,
            created_at=r.created_at,
        )
        for r in requests
    ]


def pending_requests(session: Session, user_id: int) -> FriendRequestLists:
    """The user's pending requests, to them and from them, newest first."""
    rows = (
        session.scalars(
            select(FriendRequest)
            .where(
                FriendRequest.status == FriendRequestStatus.pending,
                or_(FriendRequest.requester_id == user_id, FriendRequest.addressee_id == user_id),
            )
            .order_by(FriendRequest.id.desc())
        )
    ).all()
    views = views_of(session, rows)
    return FriendRequestLists(
        incoming=[r for r in views if r.addressee.id == user_id],
        outgoing=[r for r in views if r.requester.id == user_id],
    )
