"""Groups: creating one, its members and their roles, its settings, leaving and deleting it.

Who may do what (``MemberRole``):

* anyone: leave; add a friend when the group lets members add people (``members_can_add``);
* admins (and owners): rename the group, change its description, picture and settings, add
  people, remove members, make a member an admin or an admin a member, delete anyone's message;
* owners: all of that, to admins too; make someone an owner, hand ownership over, delete the
  group. An owner cannot be removed (only leave), and the last owner cannot step down (409): a
  group always has one. When the last owner leaves, the longest-standing admin becomes the owner,
  else the longest-standing member; when the last member leaves, the group is deleted.

Every change is one transaction that writes a system line in the timeline ("alice added bob":
a ``message`` event) and announces the group as it now is to every member (one
``conversation_update`` for the channel: members with their roles included). So, like a
message, each change but leaving and deleting counts against the sender's ``RATE_LIMIT_SEND``
in that group (a picture: ``RATE_LIMIT_UPLOAD``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tidings import avatars
from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.attachments.actions import upload_limit
from tidings.attachments.models import Attachment
from tidings.blocks import rules as block_rules
from tidings.context import AppContext
from tidings.conversations import queries, views
from tidings.conversations.actions.common import (
    announce_membership,
    create_conversation,
    limit_conversation_writes,
    lock_for_member,
    require_friends,
)
from tidings.conversations.events import ConversationUpdateEvent, MessageEvent
from tidings.conversations.models import (
    Conversation,
    ConversationMember,
    ConversationType,
    MemberRole,
    Message,
)
from tidings.conversations.schemas import ConversationView, GroupUpdate, SystemAction
from tidings.db import utcnow
from tidings.errors import Conflict, Forbidden, NotFound, Unprocessable
from tidings.notifications import actions as notification_actions
from tidings.notifications.models import Notification, NotificationType
from tidings.realtime.transaction import Transaction

_RANK = {MemberRole.member: 0, MemberRole.admin: 1, MemberRole.owner: 2}


async def create_group(
    ctx: AppContext, user: User, name: str, member_ids: Sequence[int]
) -> ConversationView:
    """A group of ``user`` (its owner) and some of their friends."""
    others = sorted(set(member_ids) - {user.id})
    if not others:
        raise Unprocessable("A group needs at least one other member.", code="empty_group")
    return await ctx.writer.run(_create_group, user, name, others)


def _create_group(tx: Transaction, user: User, name: str, others: list[int]) -> ConversationView:
    account_queries.lock_users(tx.session, [user.id, *others])
    require_friends(tx, user, others, purpose=block_rules.GROUP_ADDS)
    conversation = create_conversation(tx, user, others, kind=ConversationType.group, name=name)
    view = views.conversation_view(tx.session, conversation.id, user.id)
    notification_actions.notify(
        tx, others, NotificationType.added_to_group, user, conversation_id=conversation.id
    )
    return view


# --- what every group write shares ----------------------------------------------------------


def _lock_group(
    tx: Transaction, conversation_id: int, user: User
) -> tuple[Conversation, ConversationMember]:
    """The group and ``user``'s membership, locked (404 if not a member, 409 for a DM)."""
    conversation, member = lock_for_member(tx, conversation_id, user)
    if conversation.type != ConversationType.group:
        raise Conflict("A direct conversation has no members to manage.", code="not_a_group")
    return conversation, member


def _require(member: ConversationMember, role: MemberRole, doing: str) -> None:
    """403 unless ``member`` is at least ``role``."""
    if _RANK[member.role] < _RANK[role]:
        who = "owner" if role == MemberRole.owner else "admins"
        code = "not_owner" if role == MemberRole.owner else "not_admin"
        raise Forbidden(f"Only the group's {who} can {doing}.", code=code)


def _membership(tx: Transaction, conversation_id: int, user_id: int) -> ConversationMember:
    member = tx.session.get(ConversationMember, (conversation_id, user_id))
    if member is None:
        raise NotFound(f"User {user_id} is not a member of this conversation.", code="not_a_member")
    return member


def _members_by_seniority(tx: Transaction, conversation_id: int) -> list[ConversationMember]:
    return list(
        tx.session.scalars(
            select(ConversationMember)
            .where(ConversationMember.conversation_id == conversation_id)
            .order_by(ConversationMember.joined_at, ConversationMember.user_id)
        )
    )


def post_system_line(
    tx: Transaction,
    conversation: Conversation,
    actor: User,
    action: SystemAction,
    *,
    target: User | None = None,
    **details: Any,
) -> None:
    """Write a system line in the group's timeline and send it (a ``message`` event) to its
    members as of now. It becomes the conversation's last message; it is nobody's unread, and
    moves the actor's read position to it, as their own message would."""
    fields: dict[str, Any] = {"action": action, **details}
    if target is not None:
        fields["target_id"] = target.id
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        sender_id=actor.id,
        content="",
        created_at=now,
        system=fields,
    )
    tx.session.add(message)
    tx.session.flush()
    conversation.last_message_id = message.id
    conversation.updated_at = now
    # As with a message they send, the actor has read everything up to their own line (their
    # tabs derive this from the event).
    acting = tx.session.get(ConversationMember, (conversation.id, actor.id))
    if acting is not None:
        acting.last_read_message_id = message.id
        notification_actions.read_mentions_in(tx, actor.id, conversation.id)
    line = views.system_line(fields, actor, target)
    tx.emit_to_channel(
        conversation.id, MessageEvent(message=views.message_view(message, actor, system=line))
    )


def _user(tx: Transaction, user_id: int) -> User:
    user = tx.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.", code="unknown_user")
    return user


# --- members --------------------------------------------------------------------------------


async def add_member(
    ctx: AppContext, user: User, conversation_id: int, new_id: int
) -> ConversationView:
    """Add a friend of ``user`` to a group: admins may, members when the group lets them.

    Not someone in a block with ``user`` (409 ``blocked`` / ``you_blocked``). A block between
    the new member and someone else in the group does not stop it: a group is shared, and
    whoever blocked can leave it (their mentions stay silent either way).

    The new member has read everything before they joined (their unread count starts at 0) and
    gets the group's events from this write on (the announcement, then the system line): none
    from before.
    """
    await limit_conversation_writes(ctx, user, conversation_id)
    return await ctx.writer.run(_add_member, user, conversation_id, new_id)


def _add_member(tx: Transaction, user: User, conversation_id: int, new_id: int) -> ConversationView:
    # The two people first, then the conversation: the order every write here keeps.
    account_queries.lock_users(tx.session, [user.id, new_id])
    conversation, member = _lock_group(tx, conversation_id, user)
    if not conversation.members_can_add:
        _require(member, MemberRole.admin, "add people to this group")
    existing = queries.member_ids(tx.session, conversation_id)
    if new_id in existing:
        raise Conflict(f"User {new_id} is already a member.", code="already_member")
    require_friends(tx, user, [new_id], purpose=block_rules.GROUP_ADDS)
    tx.session.add(
        ConversationMember(
            conversation_id=conversation_id,
            user_id=new_id,
            role=MemberRole.member,
            joined_at=utcnow(),
            last_read_message_id=conversation.last_message_id or 0,
        )
    )
    tx.session.flush()
    tx.join(conversation_id, [new_id])
    # The announcement first: the new member's tabs learn of the group before its first line.
    announce_membership(tx, conversation, "member_added")
    post_system_line(tx, conversation, user, "added", target=_user(tx, new_id))
    notification_actions.notify(
        tx, [new_id], NotificationType.added_to_group, user, conversation_id=conversation_id
    )
    return views.conversation_view(tx.session, conversation_id, user.id)


async def remove_member(ctx: AppContext, user: User, conversation_id: int, member_id: int) -> None:
    """Leave a group (``member_id`` is you), or remove someone from it (admins remove members,
    owners admins too; an owner cannot be removed).

    The removed member is told (``removed``) and gets none of the group's events after this
    write; the others get the system line and ``member_removed``. Leaving is never limited;
    removing someone shares the sender's budget (``limit_conversation_writes``).
    """
    if member_id != user.id:
        await limit_conversation_writes(ctx, user, conversation_id)
    await ctx.writer.run(_remove_member, user, conversation_id, member_id)


def _remove_member(tx: Transaction, user: User, conversation_id: int, member_id: int) -> None:
    conversation, member = _lock_group(tx, conversation_id, user)
    if member_id == user.id:
        _leave(tx, conversation, member, user)
        return
    _require(member, MemberRole.admin, "remove members")
    removed = _membership(tx, conversation_id, member_id)
    if removed.role == MemberRole.owner:
        raise Forbidden("An owner cannot be removed: owners can only leave.", code="is_owner")
    if removed.role == MemberRole.admin:
        _require(member, MemberRole.owner, "remove admins")
    _drop_membership(tx, conversation, removed)
    post_system_line(tx, conversation, user, "removed", target=_user(tx, member_id))
    announce_membership(tx, conversation, "member_removed")


def _drop_membership(
    tx: Transaction, conversation: Conversation, member: ConversationMember
) -> None:
    """Delete the membership; from this write on the group's events no longer reach them."""
    tx.session.delete(member)
    tx.session.flush()
    tx.leave(conversation.id, [member.user_id])
    tx.emit(
        member.user_id,
        ConversationUpdateEvent(
            conversation_id=conversation.id, reason="removed", conversation=None
        ),
    )


def _leave(
    tx: Transaction, conversation: Conversation, member: ConversationMember, user: User
) -> None:
    """``user`` leaves; if they were the last owner, the next owner is chosen; if they were the
    last member, the group is deleted."""
    was_owner = member.role == MemberRole.owner
    _drop_membership(tx, conversation, member)
    remaining = _members_by_seniority(tx, conversation.id)
    if not remaining:
        _delete_contents(tx, conversation)
        return
    post_system_line(tx, conversation, user, "left")
    if was_owner and not any(m.role == MemberRole.owner for m in remaining):
        admins = [m for m in remaining if m.role == MemberRole.admin]
        successor = (admins or remaining)[0]
        successor.role = MemberRole.owner
        tx.session.flush()
        post_system_line(
            tx,
            conversation,
            user,
            "ownership_transferred",
            target=_user(tx, successor.user_id),
        )
    announce_membership(tx, conversation, "member_removed")


def leave_all_groups(tx: Transaction, user: User) -> None:
    """``user`` leaves every group they are in, by the rules of leaving (their account is being
    deleted): each group sees them leave, and gets a new owner if it needs one.

    Each group is left under its lock (in id order), as a leave through the API is: two owners
    deleting their accounts at once on two processes must not each see the other stay."""
    group_ids = tx.session.scalars(
        select(Conversation.id)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(
            ConversationMember.user_id == user.id,
            Conversation.type == ConversationType.group,
        )
        .order_by(Conversation.id)
    ).all()
    for group_id in group_ids:
        try:
            conversation, member = lock_for_member(tx, group_id, user)
        except NotFound:
            continue  # removed from it, or it was deleted, before the lock was ours
        _leave(tx, conversation, member, user)


# --- roles ----------------------------------------------------------------------------------


async def set_role(
    ctx: AppContext, user: User, conversation_id: int, member_id: int, role: MemberRole
) -> ConversationView:
    """Make a member an admin or an admin a member (admins), or make someone an owner or an
    owner something else (owners; the last owner cannot step down: 409 ``last_owner``)."""
    await limit_conversation_writes(ctx, user, conversation_id)
    return await ctx.writer.run(_set_role, user, conversation_id, member_id, role)


def _set_role(
    tx: Transaction, user: User, conversation_id: int, member_id: int, role: MemberRole
) -> ConversationView:
    conversation, member = _lock_group(tx, conversation_id, user)
    _require(member, MemberRole.admin, "change roles")
    target = _membership(tx, conversation_id, member_id)
    if target.role == role:
        return views.conversation_view(tx.session, conversation_id, user.id)
    if MemberRole.owner in (role, target.role):
        _require(member, MemberRole.owner, "make or unmake owners")
    if target.role == MemberRole.owner and _owner_count(tx, conversation_id) == 1:
        raise Conflict(
            "The group's last owner cannot step down: make someone else an owner first "
            "(or hand ownership over).",
            code="last_owner",
        )
    target.role = role
    tx.session.flush()
    post_system_line(
        tx, conversation, user, "role_changed", target=_user(tx, member_id), role=role.value
    )
    announce_membership(tx, conversation, "role_changed")
    return views.conversation_view(tx.session, conversation_id, user.id)


def _owner_count(tx: Transaction, conversation_id: int) -> int:
    owners = tx.session.scalars(
        select(ConversationMember.user_id).where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.role == MemberRole.owner,
        )
    ).all()
    return len(owners)


async def transfer_ownership(
    ctx: AppContext, user: User, conversation_id: int, new_owner_id: int
) -> ConversationView:
    """Hand the group over: ``new_owner_id`` becomes an owner and ``user`` (an owner) an admin,
    in one write."""
    await limit_conversation_writes(ctx, user, conversation_id)
    return await ctx.writer.run(_transfer_ownership, user, conversation_id, new_owner_id)


def _transfer_ownership(
    tx: Transaction, user: User, conversation_id: int, new_owner_id: int
) -> ConversationView:
    conversation, member = _lock_group(tx, conversation_id, user)
    _require(member, MemberRole.owner, "hand ownership over")
    if new_owner_id == user.id:
        raise Conflict("You are the owner already: name another member.", code="is_you")
    target = _membership(tx, conversation_id, new_owner_id)
    target.role = MemberRole.owner
    member.role = MemberRole.admin
    tx.session.flush()
    post_system_line(
        tx, conversation, user, "ownership_transferred", target=_user(tx, new_owner_id)
    )
    announce_membership(tx, conversation, "role_changed")
    return views.conversation_view(tx.session, conversation_id, user.id)


# --- settings -------------------------------------------------------------------------------


async def update_group(
    ctx: AppContext, user: User, conversation_id: int, changes: GroupUpdate
) -> ConversationView:
    """Rename the group, change its description or whether members may add people (admins).
    Each change is a system line; members get one ``updated`` announcement. Nothing changed:
    nothing written or sent."""
    await limit_conversation_writes(ctx, user, conversation_id)
    return await ctx.writer.run(_update_group, user, conversation_id, changes)


def _update_group(
    tx: Transaction, user: User, conversation_id: int, changes: GroupUpdate
) -> ConversationView:
    conversation, member = _lock_group(tx, conversation_id, user)
    _require(member, MemberRole.admin, "change the group's settings")
    changed = False
    if changes.name is not None and changes.name != conversation.name:
        conversation.name = changes.name
        post_system_line(tx, conversation, user, "renamed", name=changes.name)
        changed = True
    if changes.description is not None and changes.description != conversation.description:
        conversation.description = changes.description
        post_system_line(tx, conversation, user, "description_changed")
        changed = True
    if (
        changes.members_can_add is not None
        and changes.members_can_add != conversation.members_can_add
    ):
        conversation.members_can_add = changes.members_can_add
        post_system_line(
            tx, conversation, user, "settings_changed", members_can_add=changes.members_can_add
        )
        changed = True
    if changed:
        tx.session.flush()
        announce_membership(tx, conversation, "updated", with_members=False)
    return views.conversation_view(tx.session, conversation_id, user.id)


async def set_group_avatar(
    ctx: AppContext, user: User, conversation_id: int, image: bytes | None, content_type: str | None
) -> ConversationView:
    """Set the group's picture from an uploaded image (``avatars.store_avatar``: 415, 413), or
    remove it (``image`` None); admins. Whether ``user`` may is checked before the image is
    decoded, and again in the write. Uploads count against ``RATE_LIMIT_UPLOAD``."""
    if image is None:
        return await ctx.writer.run(_set_group_avatar, user, conversation_id, None)
    await ctx.db.run_query(_check_may_set_avatar, user, conversation_id)
    await ctx.limiter.hit(
        upload_limit(ctx.settings.rate_limit_upload),
        str(user.id),
        detail="You are uploading too many files. Wait a while.",
    )
    key = await avatars.store_avatar(ctx, image, content_type)
    return await ctx.writer.run(_set_group_avatar, user, conversation_id, key)


def _check_may_set_avatar(session: Session, user: User, conversation_id: int) -> None:
    conversation, member = queries.conversation_for_member(session, conversation_id, user.id)
    if conversation.type != ConversationType.group:
        raise Conflict("A direct conversation has no picture to set.", code="not_a_group")
    _require(member, MemberRole.admin, "change the group's picture")


def _set_group_avatar(
    tx: Transaction, user: User, conversation_id: int, avatar_key: str | None
) -> ConversationView:
    conversation, member = _lock_group(tx, conversation_id, user)
    _require(member, MemberRole.admin, "change the group's picture")
    if conversation.avatar_key != avatar_key:
        conversation.avatar_key = avatar_key
        post_system_line(tx, conversation, user, "avatar_changed", removed=avatar_key is None)
        tx.session.flush()
        announce_membership(tx, conversation, "updated", with_members=False)
    return views.conversation_view(tx.session, conversation_id, user.id)


# --- deleting -------------------------------------------------------------------------------


async def delete_group(ctx: AppContext, user: User, conversation_id: int) -> None:
    """Delete the group (its owner): every member's tabs drop it (``deleted``), its messages and
    files go. The conversation's row stays, empty, so that its id is never used again."""
    await ctx.writer.run(_delete_group, user, conversation_id)


def _delete_group(tx: Transaction, user: User, conversation_id: int) -> None:
    conversation, member = _lock_group(tx, conversation_id, user)
    _require(member, MemberRole.owner, "delete the group")
    member_ids = queries.member_ids(tx.session, conversation_id)
    event = ConversationUpdateEvent(
        conversation_id=conversation_id, reason="deleted", conversation=None
    )
    tx.emit_to(member_ids, event)
    tx.leave(conversation_id, member_ids)
    tx.session.execute(
        delete(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
    )
    _delete_contents(tx, conversation)


def _delete_contents(tx: Transaction, conversation: Conversation) -> None:
    """A group nobody is in any more: its messages and files go; the row stays, marked deleted.

    The notifications about it stay in their owners' bells, read (their tabs are told), as
    clients hold them: a notification no event takes back is not deleted behind a client's back.
    A mention's link to its message is cleared as the message goes."""
    session, conversation_id = tx.session, conversation.id
    about_it = Notification.conversation_id == conversation_id
    readers = session.scalars(
        select(Notification.user_id).where(about_it, Notification.read.is_(False)).distinct()
    ).all()
    for reader in sorted(readers):
        notification_actions.mark_read_where(tx, reader, about_it)
    session.execute(update(Notification).where(about_it).values(message_id=None))
    session.execute(delete(Attachment).where(Attachment.conversation_id == conversation_id))
    conversation.last_message_id = None
    session.flush()
    session.execute(delete(Message).where(Message.conversation_id == conversation_id))
    conversation.deleted_at = utcnow()
    conversation.avatar_key = None
