"""Profiles: reading a person's profile, changing your display name, bio and avatar.

A change others see (display name, avatar) sends ``user_updated`` to everyone who shows the
person (``audience``), in the write's transaction; after the commit, every process drops the
person's cached sessions (``Hub.users_changed``), whose ``User`` snapshot is now stale. The bio
is shown only on the profile, which is read on demand: changing it announces nothing.
"""

from __future__ import annotations

from sqlalchemy import and_, select, union
from sqlalchemy.orm import Session, aliased

from tidings import avatars
from tidings.accounts import directory
from tidings.accounts import queries as account_queries
from tidings.accounts.events import UserUpdatedEvent
from tidings.accounts.models import User
from tidings.accounts.schemas import (
    FriendRequestRef,
    GroupRef,
    ProfileEnvelope,
    ProfileUpdate,
    ProfileView,
    UserView,
)
from tidings.attachments.actions import upload_limit
from tidings.blocks import queries as block_queries
from tidings.context import AppContext
from tidings.conversations.models import Conversation, ConversationMember, ConversationType
from tidings.errors import NotFound
from tidings.friends import queries as friend_queries
from tidings.friends.models import Friendship
from tidings.realtime.transaction import Transaction


def audience(session: Session, user_id: int) -> list[int]:
    """Who shows ``user_id``: themselves, their friends, and the members of every conversation
    they are in; each once, deleted accounts left out (they have no streams)."""
    mine = aliased(ConversationMember)
    others = aliased(ConversationMember)
    friends = select(Friendship.friend_id.label("id")).where(Friendship.user_id == user_id)
    co_members = select(others.user_id.label("id")).join(
        mine, and_(mine.conversation_id == others.conversation_id, mine.user_id == user_id)
    )
    ids = union(friends, co_members).subquery()
    rows = session.scalars(
        select(User.id).join(ids, ids.c.id == User.id).where(User.deleted_at.is_(None))
    )
    return sorted({user_id, *rows})


def announce(tx: Transaction, user: User, *, exclude: int | None = None) -> None:
    """``user_updated`` with ``user`` as they are now, to their ``audience`` (but ``exclude``)."""
    event = UserUpdatedEvent(user=UserView.model_validate(user))
    tx.emit_to((u for u in audience(tx.session, user.id) if u != exclude), event)


async def update_profile(ctx: AppContext, user: User, data: ProfileUpdate) -> ProfileEnvelope:
    """Change the display name and/or bio (a field left out stays); a new display name is
    re-indexed for search and announced."""
    envelope = await ctx.writer.run(_update_profile, user.id, data)
    await ctx.hub.users_changed([user.id])
    return envelope


def _update_profile(tx: Transaction, user_id: int, data: ProfileUpdate) -> ProfileEnvelope:
    user = _locked_user(tx, user_id)
    if data.bio is not None:
        user.bio = data.bio
    if data.display_name is not None and data.display_name != user.display_name:
        user.display_name = data.display_name
        tx.session.flush()
        directory.index_user(tx.session, user.id, user.username, user.display_name)
        announce(tx, user)
    tx.session.flush()
    return ProfileEnvelope(user=UserView.model_validate(user), bio=user.bio)


async def set_avatar(
    ctx: AppContext, user: User, body: bytes, content_type: str | None
) -> UserView:
    """Make ``body`` the user's avatar (``avatars.store_avatar``: 415, 413) and announce it.
    Limited with uploads (``RATE_LIMIT_UPLOAD``): each one is decoded."""
    await ctx.limiter.hit(
        upload_limit(ctx.settings.rate_limit_upload),
        str(user.id),
        detail="You are uploading too many files. Wait a while.",
    )
    key = await avatars.store_avatar(ctx, body, content_type)
    view = await ctx.writer.run(_set_avatar_key, user.id, key)
    await ctx.hub.users_changed([user.id])
    return view


async def remove_avatar(ctx: AppContext, user: User) -> UserView:
    """Take the user's avatar away (its blob goes with the next sweep, if nobody else shows
    the same picture)."""
    view = await ctx.writer.run(_set_avatar_key, user.id, None)
    await ctx.hub.users_changed([user.id])
    return view


def _set_avatar_key(tx: Transaction, user_id: int, key: str | None) -> UserView:
    user = _locked_user(tx, user_id)
    if user.avatar_key != key:
        user.avatar_key = key
        tx.session.flush()
        announce(tx, user)
    return UserView.model_validate(user)


def _locked_user(tx: Transaction, user_id: int) -> User:
    account_queries.lock_users(tx.session, [user_id])
    user = tx.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("Your account no longer exists.")
    tx.session.refresh(user)  # as committed by whoever held the lock before us
    return user


def profile_view(session: Session, viewer_id: int, user_id: int) -> ProfileView:
    """``user_id``'s profile as ``viewer_id`` sees it (404 for nobody)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.", code="unknown_user")
    view = UserView.model_validate(user)
    if user.deleted_at is not None:
        return ProfileView(
            user=view,
            bio="",
            created_at=user.created_at,
            is_friend=False,
            friend_request=None,
            mutual_groups=[],
            direct_conversation_id=None,
            blocked=False,
        )
    request = None
    if user_id != viewer_id:
        outgoing = friend_queries.pending_request(session, viewer_id, user_id)
        incoming = None if outgoing else friend_queries.pending_request(session, user_id, viewer_id)
        if outgoing is not None:
            request = FriendRequestRef(id=outgoing.id, direction="outgoing")
        elif incoming is not None:
            request = FriendRequestRef(id=incoming.id, direction="incoming")
    mine = aliased(ConversationMember)
    theirs = aliased(ConversationMember)
    groups = session.execute(
        select(Conversation.id, Conversation.name)
        .join(mine, and_(mine.conversation_id == Conversation.id, mine.user_id == viewer_id))
        .join(theirs, and_(theirs.conversation_id == Conversation.id, theirs.user_id == user_id))
        .where(Conversation.type == ConversationType.group)
        .order_by(Conversation.name, Conversation.id)
    ).all()
    low, high = sorted((viewer_id, user_id))
    direct_id = None
    if low != high:
        direct_id = session.scalar(
            select(Conversation.id).where(Conversation.direct_key == f"{low}:{high}")
        )
    return ProfileView(
        user=view,
        bio=user.bio,
        created_at=user.created_at,
        is_friend=user_id != viewer_id and friend_queries.are_friends(session, viewer_id, user_id),
        friend_request=request,
        mutual_groups=[GroupRef(id=g.id, name=g.name or "") for g in groups],
        direct_conversation_id=direct_id,
        blocked=block_queries.has_blocked(session, viewer_id, user_id),
    )
