"""Views of conversations and messages: the one place each shape the API and the events show
is built.

A sidebar entry is built by ``_entry`` alone, whether it answers a request
(``ConversationView``: everything, for one member) or goes in a ``conversation_update`` event
(``ConversationChange``: the members only if they changed; the read state only in an event
addressed to its member alone, which is their ``ConversationView`` less the members).
A message is built by ``message_view`` alone, for a history
page, a sidebar entry's last message, a send's answer and its ``message`` event. So a fresh
fetch and the state a client rebuilds from events agree by construction
(``tests/test_views_agree.py`` checks it for every event type).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.accounts.schemas import UserView, avatar_url
from tidings.attachments import links as attachment_links
from tidings.attachments.schemas import AttachmentView
from tidings.conversations import queries
from tidings.conversations.models import (
    Conversation,
    ConversationMember,
    Message,
    MessageEdit,
    MessageReaction,
)
from tidings.conversations.schemas import (
    ConversationChange,
    ConversationView,
    EditHistory,
    EditView,
    MemberView,
    MessagePage,
    MessageView,
    ReactionGroup,
    ReplyQuote,
    SystemLine,
)
from tidings.db import utcnow
from tidings.errors import NotFound

Entry = TypeVar("Entry", ConversationView, ConversationChange)


class MessageFields(Protocol):
    """What a message view is built from: a ``Message`` row, or the values the send path just
    wrote (``SentMessage``: a transient ORM object costs ~10 µs to build, a dataclass ~1)."""

    @property
    def id(self) -> int: ...
    @property
    def conversation_id(self) -> int: ...
    @property
    def content(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def edited_at(self) -> datetime | None: ...
    @property
    def deleted_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class SentMessage:
    id: int
    conversation_id: int
    content: str
    created_at: datetime
    client_id: str | None
    edited_at: datetime | None = None
    deleted_at: datetime | None = None


QUOTE_LENGTH = 200
"""A reply's quote shows this many code points of the original (clients cut the same way)."""


def reply_quote(
    original: MessageFields, sender: User | UserView, attachment_count: int = 0
) -> ReplyQuote:
    """The quote a reply shows of ``original``, as that message is now."""
    deleted = original.deleted_at is not None
    return ReplyQuote(
        id=original.id,
        sender=_user_view(sender),
        excerpt="" if deleted else original.content[:QUOTE_LENGTH],
        deleted=deleted,
        attachment_count=0 if deleted else attachment_count,
    )


def message_view(
    message: MessageFields,
    sender: User | UserView,
    *,
    reply_to: ReplyQuote | None = None,
    reactions: list[ReactionGroup] | None = None,
    attachments: list[AttachmentView] | None = None,
    system: SystemLine | None = None,
) -> MessageView:
    """A message as every answer and event shows it."""
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        sender=_user_view(sender),
        content=message.content,
        created_at=message.created_at,
        client_id=message.client_id,
        reply_to=reply_to,
        edited_at=message.edited_at,
        deleted=message.deleted_at is not None,
        reactions=reactions or [],
        attachments=attachments or [],
        system=system,
    )


def system_line(fields: dict[str, Any], actor: User | UserView, target: User | None) -> SystemLine:
    """What a stored system line (``Message.system``) shows: the actor is its sender."""
    return SystemLine(
        action=fields["action"],
        actor=_user_view(actor),
        target=None if target is None else _user_view(target),
        name=fields.get("name"),
        role=fields.get("role"),
        members_can_add=fields.get("members_can_add"),
        removed=fields.get("removed"),
    )


def _user_view(user: User | UserView) -> UserView:
    return user if isinstance(user, UserView) else UserView.model_validate(user)


def reaction_groups(session: Session, message_ids: Sequence[int]) -> dict[int, list[ReactionGroup]]:
    """Each message's reactions grouped by emoji: groups in the order their emoji was first
    used, people in the order they reacted."""
    grouped: dict[int, dict[str, list[int]]] = defaultdict(dict)
    if not message_ids:
        return {}
    rows = session.execute(
        select(MessageReaction.message_id, MessageReaction.emoji, MessageReaction.user_id)
        .where(MessageReaction.message_id.in_(message_ids))
        .order_by(MessageReaction.message_id, MessageReaction.created_at, MessageReaction.user_id)
    )
    for message_id, emoji, user_id in rows:
        grouped[message_id].setdefault(emoji, []).append(user_id)
    return {
        message_id: [
            ReactionGroup(emoji=emoji, count=len(users), user_ids=users)
            for emoji, users in groups.items()
        ]
        for message_id, groups in grouped.items()
    }


def full_message_views(session: Session, rows: Sequence[tuple[Message, User]]) -> list[MessageView]:
    """Views of stored messages with everything they carry (their quote, reactions and
    attachments), in three more queries for any number of messages."""
    ids = [m.id for m, _ in rows]
    reply_ids = list({m.reply_to_id for m, _ in rows if m.reply_to_id is not None})
    originals = {}
    if reply_ids:
        originals = {
            m.id: (m, u)
            for m, u in session.execute(
                select(Message, User)
                .join(User, User.id == Message.sender_id)
                .where(Message.id.in_(reply_ids))
            )
        }
    files = attachment_links.for_messages(session, list({*ids, *originals}))
    reactions = reaction_groups(session, ids)
    targets = account_queries.users_by_ids(
        session,
        [m.system["target_id"] for m, _ in rows if m.system and m.system.get("target_id")],
    )
    quotes = {
        original_id: reply_quote(m, u, len(files.get(original_id, ())))
        for original_id, (m, u) in originals.items()
    }
    return [
        message_view(
            m,
            u,
            reply_to=quotes.get(m.reply_to_id) if m.reply_to_id is not None else None,
            reactions=reactions.get(m.id),
            attachments=files.get(m.id),
            system=None
            if m.system is None
            else system_line(m.system, u, targets.get(m.system.get("target_id") or 0)),
        )
        for m, u in rows
    ]


def messages_by_ids(session: Session, ids: Sequence[int]) -> dict[int, MessageView]:
    """Views of these messages (any conversation: callers check who may see them), by id."""
    if not ids:
        return {}
    rows = session.execute(
        select(Message, User).join(User, User.id == Message.sender_id).where(Message.id.in_(ids))
    ).all()
    return {view.id: view for view in full_message_views(session, [(m, u) for m, u in rows])}


def members_of(session: Session, conversation_ids: Sequence[int]) -> dict[int, list[MemberView]]:
    """Each conversation's members with their roles, by username."""
    members: dict[int, list[MemberView]] = defaultdict(list)
    if not conversation_ids:
        return members
    rows = session.execute(
        select(ConversationMember.conversation_id, ConversationMember, User)
        .join(User, User.id == ConversationMember.user_id)
        .where(ConversationMember.conversation_id.in_(conversation_ids))
        .order_by(ConversationMember.conversation_id, User.username)
    )
    for conversation_id, member, user in rows:
        members[conversation_id].append(
            MemberView(
                **UserView.model_validate(user).model_dump(),
                role=member.role,
                joined_at=member.joined_at,
            )
        )
    return members


def _entry(
    model: type[Entry],
    conversation: Conversation,
    *,
    members: list[MemberView] | None,
    last_message: MessageView | None,
    unread_count: int | None,
    last_read_message_id: int | None,
    muted_until: datetime | None,
) -> Entry:
    """The sidebar entry: the one builder of both its shapes."""
    return model(
        id=conversation.id,
        type=conversation.type,
        name=conversation.name,
        created_by_id=conversation.created_by_id,
        description=conversation.description or "",
        avatar_url=avatar_url(conversation.avatar_key),
        members_can_add=conversation.members_can_add,
        members=members,
        last_message=last_message,
        unread_count=unread_count,
        last_read_message_id=last_read_message_id,
        muted_until=muted_until,
        blocked=conversation.blocked,
        updated_at=conversation.updated_at,
    )


def current_mute(muted_until: datetime | None) -> datetime | None:
    """A member's mute as views show it: null once a timed mute has ended (it ends by itself:
    nothing is written when it does)."""
    if muted_until is None or muted_until <= utcnow():
        return None
    return muted_until


def conversation_views(
    session: Session, rows: Sequence[tuple[Conversation, ConversationMember, int]]
) -> list[ConversationView]:
    """Sidebar entries for (conversation, the viewer's membership, their unread count) rows,
    in the given order."""
    ids = [c.id for c, _, _ in rows]
    members = members_of(session, ids)
    last = messages_by_ids(session, [c.last_message_id for c, _, _ in rows if c.last_message_id])
    return [
        _entry(
            ConversationView,
            c,
            members=members[c.id],
            last_message=last.get(c.last_message_id) if c.last_message_id else None,
            unread_count=unread,
            last_read_message_id=m.last_read_message_id,
            muted_until=current_mute(m.muted_until),
        )
        for c, m, unread in rows
    ]


def conversation_view(session: Session, conversation_id: int, user_id: int) -> ConversationView:
    """One conversation's sidebar entry for one member (404 for anyone else)."""
    conversation, member = queries.conversation_for_member(session, conversation_id, user_id)
    unread = queries.unread_count(session, member)
    [view] = conversation_views(session, [(conversation, member, unread)])
    return view


def conversation_list(session: Session, user_id: int) -> list[ConversationView]:
    """The user's sidebar: their conversations, most recent activity first."""
    return conversation_views(session, queries.rows_for_member(session, user_id))


def conversation_change(
    session: Session, conversation: Conversation, *, with_members: bool
) -> ConversationChange:
    """The entry as a ``conversation_update`` event to every member carries it: the members if
    they changed (``with_members``), nobody's read state."""
    members = members_of(session, [conversation.id])[conversation.id] if with_members else None
    last_message = None
    if conversation.last_message_id is not None:
        last_message = messages_by_ids(session, [conversation.last_message_id]).get(
            conversation.last_message_id
        )
    return _entry(
        ConversationChange,
        conversation,
        members=members,
        last_message=last_message,
        unread_count=None,
        last_read_message_id=None,
        muted_until=None,
    )


def own_change(view: ConversationView) -> ConversationChange:
    """A member's own entry as an event addressed to them alone carries it (``read``,
    ``muted``): their read state and mute, without the members (unchanged)."""
    return ConversationChange(**{**dict(view), "members": None})


def message_page(
    session: Session,
    conversation_id: int,
    *,
    before: int | None = None,
    after: int | None = None,
    around: int | None = None,
    limit: int,
) -> MessagePage:
    """A run of up to ``limit`` messages, oldest first: the newest (no position given), those
    older than ``before``, those newer than ``after``, or those around ``around`` (that message,
    about half the page before it and the rest after: how a search result or a first unread
    message opens in its context)."""
    if around is not None:
        older = limit // 2
        first = _run(session, conversation_id, below=around + 1, limit=older + 1)
        rest = _run(session, conversation_id, above=around, limit=limit - len(first.rows))
        return _page(session, first.rows + rest.rows, first.more, rest.more)
    if after is not None:
        newer = _run(session, conversation_id, above=after, limit=limit)
        has_older = session.scalar(
            select(Message.id)
            .where(Message.conversation_id == conversation_id, Message.id <= after)
            .limit(1)
        )
        return _page(session, newer.rows, has_older is not None, newer.more)
    older_run = _run(session, conversation_id, below=before, limit=limit)
    return _page(session, older_run.rows, older_run.more, False)


@dataclass(frozen=True, slots=True)
class _Run:
    rows: list[tuple[Message, User]]
    more: bool


def _run(
    session: Session,
    conversation_id: int,
    *,
    below: int | None = None,
    above: int | None = None,
    limit: int,
) -> _Run:
    """Up to ``limit`` messages below ``below`` (the newest of them) or above ``above`` (the
    oldest of them), oldest first, and whether more lie beyond."""
    limit = max(limit, 0)  # even with nothing to fetch, whether there is more counts
    query = (
        select(Message, User)
        .join(User, User.id == Message.sender_id)
        .where(Message.conversation_id == conversation_id)
    )
    if above is not None:
        query = query.where(Message.id > above).order_by(Message.id)
    else:
        if below is not None:
            query = query.where(Message.id < below)
        query = query.order_by(Message.id.desc())
    rows = [(m, u) for m, u in session.execute(query.limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    if above is None:
        rows.reverse()
    return _Run(rows, more)


def _page(
    session: Session, rows: list[tuple[Message, User]], has_more: bool, has_newer: bool
) -> MessagePage:
    return MessagePage(
        messages=full_message_views(session, rows), has_more=has_more, has_newer=has_newer
    )


def edit_history(session: Session, conversation_id: int, message_id: int) -> EditHistory:
    """A message's earlier versions, oldest first (404 if it is not this conversation's)."""
    found = session.scalar(
        select(Message.id).where(
            Message.id == message_id, Message.conversation_id == conversation_id
        )
    )
    if found is None:
        raise NotFound(f"Message {message_id} is not in conversation {conversation_id}.")
    edits = session.scalars(
        select(MessageEdit).where(MessageEdit.message_id == message_id).order_by(MessageEdit.id)
    )
    return EditHistory(
        message_id=message_id,
        edits=[
            EditView(content=e.content, written_at=e.written_at, replaced_at=e.replaced_at)
            for e in edits
        ],
    )
