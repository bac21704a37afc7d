"""Reads for friends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.friends.models import FriendRequest, FriendRequestStatus, Friendship
from tidings.friends.schemas import FriendRequestLists, FriendRequestView


def are_friends(session: Session, user_id: int, other_id: int) -> bool:
    found = session.scalar(
        select(Friendship.user_id).where(
            Friendship.user_id == user_id, Friendship.friend_id == other_id
        )
    )
    return found is not None


def friend_ids_among(session: Session, user_id: int, candidate_ids: Sequence[int]) -> set[int]:
    """Which of ``candidate_ids`` are friends of ``user_id``."""
    if not candidate_ids:
        return set()
    rows = session.scalars(
        select(Friendship.friend_id).where(
            Friendship.user_id == user_id, Friendship.friend_id.in_(set(candidate_ids))
        )
    )
    return set(rows.all())


def list_friends(session: Session, user_id: int) -> list[UserView]:
    rows = session.scalars(
        select(User)
        .join(Friendship, Friendship.friend_id == User.id)
        .where(Friendship.user_id == user_id)
        .order_by(User.username)
    )
    return [UserView.model_validate(u) for u in rows]


def last_declined_at(session: Session, requester_id: int, addressee_id: int) -> datetime | None:
    """When ``addressee_id`` last declined a request from ``requester_id`` (None: never)."""
    return session.scalar(
        select(func.max(FriendRequest.responded_at)).where(
            FriendRequest.requester_id == requester_id,
            FriendRequest.addressee_id == addressee_id,
            FriendRequest.status == FriendRequestStatus.declined,
        )
    )


def pending_request(session: Session, requester_id: int, addressee_id: int) -> FriendRequest | None:
    return session.scalar(
        select(FriendRequest).where(
            FriendRequest.requester_id == requester_id,
            FriendRequest.addressee_id == addressee_id,
            FriendRequest.status == FriendRequestStatus.pending,
        )
    )


def views_of(session: Session, requests: Sequence[FriendRequest]) -> list[FriendRequestView]:
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
    read = views_of(session, rows)
    return FriendRequestLists(
        incoming=[r for r in read if r.addressee.id == user_id],
        outgoing=[r for r in read if r.requester.id == user_id],
    )
