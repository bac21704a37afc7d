"""Reads for friends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidings.friends.models import FriendRequest, FriendRequestStatus, Friendship


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
