"""``GET /api/users/me/export``: everything of yours, as one JSON file, streamed.

The document is one object: ``profile``, ``friends``, ``friend_requests``, ``blocks`` (whom
you blocked, since when), ``conversations`` (id, type, name, your role, when you joined, until
when you muted it), ``messages`` (yours, with their conversation),
``reactions`` (yours), ``notifications`` (yours) and ``attachments`` (the metadata of your
uploads; their files are at their URLs). It is written section by section, and the long ones
(messages, reactions, notifications, attachments) a page of ``EXPORT_PAGE`` rows at a time, each
page one read (``Database.run_query``: a query thread on SQLite) and serialised between reads:
an account with a million messages never holds them all, nor the event loop for long. A row
written while the export runs may or may not be in it (each page is its own read).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from tidings.accounts.models import User
from tidings.accounts.schemas import avatar_url
from tidings.attachments.models import Attachment
from tidings.blocks.models import Block
from tidings.context import AppContext
from tidings.conversations import views as conversation_views
from tidings.conversations.models import (
    Conversation,
    ConversationMember,
    Message,
    MessageReaction,
)
from tidings.friends.models import FriendRequest, Friendship
from tidings.notifications.models import Notification

EXPORT_PAGE = 2000
"""Rows read and written per step of the long sections."""
EXPORT_FORMAT = 1
"""The document's version (``format``), for whoever reads it later."""

Row = dict[str, Any]


def export_filename(username: str) -> str:
    return f"tidings-export-{username}.json"


async def export_account(ctx: AppContext, user_id: int) -> AsyncIterator[bytes]:
    """The export document of ``user_id``, in pieces of UTF-8 JSON."""
    head = await ctx.db.run_query(_head, user_id)
    yield b'{"format": ' + str(EXPORT_FORMAT).encode()
    for name, value in head.items():
        yield f", {json.dumps(name)}: ".encode() + _dumps(value)
    for name, page in _PAGED:
        yield f", {json.dumps(name)}: [".encode()
        after: Any = None
        first = True
        while True:
            text, count, after = await ctx.db.run_query(page, user_id, after)
            if count:
                yield text if first else b", " + text
                first = False
            if count < EXPORT_PAGE:
                break
        yield b"]"
    yield b"}\n"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, default=_default, ensure_ascii=False).encode()


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def _user_ref(user: User) -> Row:
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def _head(session: Session, user_id: int) -> Row:
    """The short sections: profile, friends, friend requests, blocks, conversations."""
    user = session.get(User, user_id)
    assert user is not None
    friends = session.execute(
        select(User, Friendship.created_at)
        .join(Friendship, Friendship.friend_id == User.id)
        .where(Friendship.user_id == user_id)
        .order_by(User.username)
    ).all()
    requester, addressee = aliased(User), aliased(User)
    requests = session.execute(
        select(FriendRequest, requester, addressee)
        .join(requester, requester.id == FriendRequest.requester_id)
        .join(addressee, addressee.id == FriendRequest.addressee_id)
        .where(or_(FriendRequest.requester_id == user_id, FriendRequest.addressee_id == user_id))
        .order_by(FriendRequest.id)
    ).all()
    blocks = session.execute(
        select(User, Block.created_at)
        .join(Block, Block.blocked_id == User.id)
        .where(Block.blocker_id == user_id)
        .order_by(Block.created_at, User.id)
    ).all()
    conversations = session.execute(
        select(Conversation, ConversationMember)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(ConversationMember.user_id == user_id)
        .order_by(Conversation.id)
    ).all()
    return {
        "profile": {
            **_user_ref(user),
            "bio": user.bio,
            "avatar_url": avatar_url(user.avatar_key),
            "created_at": user.created_at,
        },
        "friends": [{**_user_ref(friend), "since": since} for friend, since in friends],
        "friend_requests": [
            {
                "id": request.id,
                "requester": _user_ref(by),
                "addressee": _user_ref(to),
                "status": request.status.value,
                "created_at": request.created_at,
                "responded_at": request.responded_at,
            }
            for request, by, to in requests
        ],
        "blocks": [{**_user_ref(blocked), "since": since} for blocked, since in blocks],
        "conversations": [
            {
                "id": conversation.id,
                "type": conversation.type.value,
                "name": conversation.name,
                "role": member.role.value,
                "joined_at": member.joined_at,
                "muted_until": conversation_views.current_mute(member.muted_until),
            }
            for conversation, member in conversations
        ],
    }


def _paged(
    columns: Sequence[InstrumentedAttribute[Any]],
    keys: Sequence[InstrumentedAttribute[Any]],
    mine: Callable[[int], ColumnElement[bool]],
    convert: Callable[[Row], Row] = lambda row: row,
) -> Callable[[Session, int, Any], tuple[bytes, int, Any]]:
    """A reader of one long section: ``EXPORT_PAGE`` rows after ``after`` (the values of
    ``keys``, unique together, of the last row read; None for the first page), as JSON
    (comma-separated objects), how many, and the values to continue after."""

    def page(session: Session, user_id: int, after: Any) -> tuple[bytes, int, Any]:
        query = select(*columns).where(mine(user_id)).order_by(*keys).limit(EXPORT_PAGE)
        if after is not None:
            query = query.where(tuple_(*keys) > tuple_(*after))
        rows = [dict(row._mapping) for row in session.execute(query)]
        last = tuple(rows[-1][key.key] for key in keys) if rows else after
        # Encoded here: in the query thread on SQLite, not in the event loop.
        return b", ".join(_dumps(convert(row)) for row in rows), len(rows), last

    return page


def _enum_values(row: Row) -> Row:
    return {k: getattr(v, "value", v) for k, v in row.items()}


_PAGED: list[tuple[str, Callable[[Session, int, Any], tuple[bytes, int, Any]]]] = [
    (
        "messages",
        _paged(
            [
                Message.id,
                Message.conversation_id,
                Message.content,
                Message.created_at,
                Message.edited_at,
                Message.deleted_at,
                Message.reply_to_id,
            ],
            [Message.id],
            lambda user_id: (Message.sender_id == user_id) & Message.system.is_(None),
        ),
    ),
    (
        "reactions",
        _paged(
            [MessageReaction.message_id, MessageReaction.emoji, MessageReaction.created_at],
            [MessageReaction.message_id, MessageReaction.emoji],
            lambda user_id: MessageReaction.user_id == user_id,
        ),
    ),
    (
        "notifications",
        _paged(
            [
                Notification.id,
                Notification.type,
                Notification.actor_id,
                Notification.conversation_id,
                Notification.message_id,
                Notification.read,
                Notification.created_at,
            ],
            [Notification.id],
            lambda user_id: Notification.user_id == user_id,
            _enum_values,
        ),
    ),
    (
        "attachments",
        _paged(
            [
                Attachment.id,
                Attachment.filename,
                Attachment.content_type,
                Attachment.size,
                Attachment.width,
                Attachment.height,
                Attachment.conversation_id,
                Attachment.message_id,
                Attachment.created_at,
            ],
            [Attachment.id],
            lambda user_id: Attachment.uploader_id == user_id,
        ),
    ),
]
