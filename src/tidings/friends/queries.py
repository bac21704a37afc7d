"""Reads for friends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.accounts.schemas import UserRead
from tidings.friends.models import FriendRequest, FriendRequestStatus, Friendship
from tidings.friends.schemas import FriendRequestLists, FriendRequestRead


async def are_friends(session: AsyncSession, user_id: int, other_id: int) -> bool:
    found = await session.scalar(
        select(Friendship.user_id).where(
            Friendship.user_id == user_id, Friendship.friend_id == other_id
        )
    )
    return found is not None


async def friend_ids_among(
    session: AsyncSession, user_id: int, candidate_ids: Sequence[int]
) -> set[int]:
    """Which of ``candidate_ids`` are friends of ``user_id``."""
    if not candidate_ids:
        return set()
    rows = await session.scalars(
        select(Friendship.friend_id).where(
            Friendship.user_id == user_id, Friendship.friend_id.in_(set(candidate_ids))
        )
    )
    return set(rows.all())


async def list_friends(session: AsyncSession, user_id: int) -> list[UserRead]:
    rows = await session.scalars(
        select(User)
        .join(Friendship, Friendship.friend_id == User.id)
        .where(Friendship.user_id == user_id)
        .order_by(User.username)
    )
    return [UserRead.model_validate(u) for u in rows]


async def last_declined_at(
    session: AsyncSession, requester_id: int, addressee_id: int
) -> datetime | None:
    """When ``addressee_id`` last declined a request from ``requester_id`` (None: never)."""
    return await session.scalar(
        select(func.max(FriendRequest.responded_at)).where(
            FriendRequest.requester_id == requester_id,
            FriendRequest.addressee_id == addressee_id,
            FriendRequest.status == FriendRequestStatus.declined,
        )
    )


async def pending_request(
    session: AsyncSession, requester_id: int, addressee_id: int
) -> FriendRequest | None:
    return await session.scalar(
        select(FriendRequest).where(
            FriendRequest.requester_id == requester_id,
            FriendRequest.addressee_id == addressee_id,
            FriendRequest.status == FriendRequestStatus.pending,
        )
    )


async def to_read(
    session: AsyncSession, requests: Sequence[FriendRequest]
) -> list[FriendRequestRead]:
    ids = [r.requester_id for r in requests] + [r.addressee_id for r in requests]
    users = await account_queries.users_by_ids(session, ids)
    return [
        FriendRequestRead(
            id=r.id,
            requester=UserRead.model_validate(users[r.requester_id]),
            addressee=UserRead.model_validate(users[r.addressee_id]),
            status=r.status,
            created_at=r.created_at,
        )
        for r in requests
    ]


async def pending_requests(session: AsyncSession, user_id: int) -> FriendRequestLists:
    rows = (
        await session.scalars(
            select(FriendRequest)
            .where(
                FriendRequest.status == FriendRequestStatus.pending,
                or_(FriendRequest.requester_id == user_id, FriendRequest.addressee_id == user_id),
            )
            .order_by(FriendRequest.id.desc())
        )
    ).all()
    read = await to_read(session, rows)
    return FriendRequestLists(
        incoming=[r for r in read if r.addressee.id == user_id],
        outgoing=[r for r in read if r.requester.id == user_id],
    )
