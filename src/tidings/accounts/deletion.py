"""Deleting an account: the person goes, their messages stay (from "Deleted user").

The ``user`` row is kept, as the sender of their messages and reactions (and a DM's other
member), but anonymised: username ``deleted-<id>`` (not a valid username, so nobody can sign up
with it or sign in as it, and the old name is free to register again), display name
"Deleted user", no password (``!``, which no argon2 hash matches), bio or avatar, ``deleted_at``
set. In the same transaction: every session ends, the person leaves every group by the rules of
leaving (``groups.leave_all_groups``: successors, system lines), friendships, friend requests,
their notifications and unsent uploads are deleted, so are the blocks either way, and they
leave the search index. DMs stay: the other side sees "Deleted user" and cannot send there any
more (the DM is closed: ``conversation.closed_at``; 409 ``user_deleted``; a DM ``blocked``
stays so).

Who is told: former friends get ``friend_update`` (removed) and, for a pending request, its
cancellation; whoever had blocked them, ``block_update`` (no longer blocked: there is nobody to
block); everyone who showed the person (``profiles.audience``, computed before anything is
deleted) gets ``user_updated`` with ``deleted: true``. After the commit the sessions' streams
close on every process, and every process drops the person's cached sessions.

API tokens: the account's tokens are revoked in the same transaction (their streams end with
the sessions'). Bots (``tidings.bots``): deleting an account first deletes each of its bots the
same way (``delete_user``), and a bot's webhook goes with it; ``bots.actions.delete_bot``
deletes one bot by the same function.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update

from tidings.accounts import directory
from tidings.accounts import queries as account_queries
from tidings.accounts.actions import end_every_session
from tidings.accounts.events import UserUpdatedEvent
from tidings.accounts.models import User
from tidings.accounts.passwords import verify_password
from tidings.accounts.profiles import audience
from tidings.accounts.schemas import DELETED_USER_NAME, UserView
from tidings.attachments.models import Attachment
from tidings.blocks.events import BlockUpdateEvent
from tidings.blocks.models import Block
from tidings.context import AppContext
from tidings.conversations.actions.groups import leave_all_groups
from tidings.conversations.models import Conversation, ConversationMember, ConversationType
from tidings.db import utcnow
from tidings.errors import NotFound, Unauthorized
from tidings.friends import views as friend_views
from tidings.friends.events import FriendRequestEvent, FriendUpdateEvent
from tidings.friends.models import FriendRequest, FriendRequestStatus, Friendship
from tidings.notifications.models import Notification
from tidings.realtime.transaction import Transaction
from tidings.tokens import actions as token_actions
from tidings.webhooks.models import Webhook

UNUSABLE_PASSWORD = "!"
"""Not an argon2 hash: no password verifies against it."""


def deleted_username(user_id: int) -> str:
    """The username a deleted account keeps (a hyphen: no sign-up can choose it)."""
    return f"deleted-{user_id}"


async def delete_account(ctx: AppContext, user: User, password: str) -> None:
    """Delete ``user``'s account (401 ``invalid_credentials`` for a wrong password)."""
    if not await verify_password(ctx.password_hasher, user.password_hash, password):
        raise Unauthorized("The password is wrong.", code="invalid_credentials")
    ended = await ctx.writer.run(_delete_account, user.id)
    await end_deleted_sessions(ctx, ended)


async def end_deleted_sessions(ctx: AppContext, ended: dict[int, list[str]]) -> None:
    """After the commit of deletions: end the deleted users' sessions and tokens (their
    streams close) and drop their cached sign-ins, on every process."""
    for user_id, keys in ended.items():
        await ctx.hub.end_sessions(user_id, keys)
    await ctx.hub.users_changed(list(ended))


def _delete_account(tx: Transaction, user_id: int) -> dict[int, list[str]]:
    """Delete the account and its bots: the keys of the sessions and tokens that ended, by
    user."""
    bot_ids = tx.session.scalars(
        select(User.id)
        .where(User.bot_owner_id == user_id, User.deleted_at.is_(None))
        .order_by(User.id)
    ).all()
    ended = {bot_id: delete_user(tx, bot_id) for bot_id in bot_ids}
    ended[user_id] = delete_user(tx, user_id)
    return ended


def delete_user(tx: Transaction, user_id: int) -> list[str]:
    """Delete one account (a person's or a bot's) in this transaction: the keys of its
    sessions and tokens, to end after the commit (``end_deleted_sessions``)."""
    session = tx.session
    # The user and their friends, locked together in id order (as removing a friend locks
    # both): one at a time would deadlock against a friend removing them meanwhile.
    friend_ids = _friend_ids(tx, user_id)
    account_queries.lock_users(session, [user_id, *friend_ids])
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("Your account no longer exists.")
    told = [u for u in audience(session, user_id) if u != user_id]
    # By the rules of leaving, as the person they were (the groups' system lines name them
    # as their members knew them, until user_updated renames them there too).
    leave_all_groups(tx, user)
    user.username = deleted_username(user_id)
    user.display_name = DELETED_USER_NAME
    user.password_hash = UNUSABLE_PASSWORD
    user.bio = ""
    user.avatar_key = None
    user.deleted_at = utcnow()
    session.flush()
    _end_friendships(tx, user)
    _end_blocks(tx, user)
    session.execute(delete(Notification).where(Notification.user_id == user_id))
    session.execute(
        delete(Attachment).where(Attachment.uploader_id == user_id, Attachment.message_id.is_(None))
    )
    # Their DMs take no more messages (the send path's member check reads this).
    session.execute(
        update(Conversation)
        .where(
            Conversation.type == ConversationType.direct,
            Conversation.id.in_(
                select(ConversationMember.conversation_id).where(
                    ConversationMember.user_id == user_id
                )
            ),
        )
        .values(closed_at=utcnow())
    )
    ended = end_every_session(tx, user_id) + token_actions.revoke_all(tx, user)
    # The row stays, so its foreign keys cascade nothing: the webhook (and its log) goes here.
    session.execute(delete(Webhook).where(Webhook.bot_id == user_id))
    directory.unindex_user(session, user_id)
    tx.emit_to(told, UserUpdatedEvent(user=UserView.model_validate(user)))
    return ended


def _friend_ids(tx: Transaction, user_id: int) -> list[int]:
    return list(
        tx.session.scalars(select(Friendship.friend_id).where(Friendship.user_id == user_id))
    )


def _end_blocks(tx: Transaction, user: User) -> None:
    """Blocks either way go; those who had blocked the person see them leave their list."""
    session = tx.session
    blockers = list(session.scalars(select(Block.blocker_id).where(Block.blocked_id == user.id)))
    session.execute(
        delete(Block).where(or_(Block.blocker_id == user.id, Block.blocked_id == user.id))
    )
    tx.emit_to(blockers, BlockUpdateEvent(user=UserView.model_validate(user), blocked=False))


def _end_friendships(tx: Transaction, user: User) -> None:
    """Former friends see the friendship end; pending requests are cancelled for the other
    side; then every friendship and request row of the user goes."""
    session = tx.session
    friend_ids = _friend_ids(tx, user.id)
    pending = list(
        session.scalars(
            select(FriendRequest).where(
                or_(FriendRequest.requester_id == user.id, FriendRequest.addressee_id == user.id),
                FriendRequest.status == FriendRequestStatus.pending,
            )
        )
    )
    gone = UserView.model_validate(user)
    for friend_id in friend_ids:
        tx.emit(friend_id, FriendUpdateEvent(friend=gone, status="removed"))
    for request in pending:
        request.status = FriendRequestStatus.cancelled
        request.responded_at = utcnow()
    session.flush()
    for request, view in zip(pending, friend_views.views_of(session, pending), strict=True):
        other = request.addressee_id if request.requester_id == user.id else request.requester_id
        tx.emit(other, FriendRequestEvent(request=view))
    session.execute(
        delete(Friendship).where(
            or_(Friendship.user_id == user.id, Friendship.friend_id == user.id)
        )
    )
    session.execute(
        delete(FriendRequest).where(
            or_(FriendRequest.requester_id == user.id, FriendRequest.addressee_id == user.id)
        )
    )
