"""Writes for blocks: blocking and unblocking someone.

Blocking, in one transaction with the two people locked (as every friends write locks them):
the ``block`` row; the end of their friendship (``friend_update`` removed, to both, as
unfriending sends); the cancellation of a pending request either way (``friend_request``, to
both, as withdrawing one sends); their DM, if they have one, flagged ``blocked`` and announced
to both (``conversation_update`` reason ``blocked``: its composer closes on both sides); and
``block_update`` to the blocker's tabs. The blocked person gets no event of their own.

Unblocking deletes the row; their DM takes messages again (``unblocked``) unless the other
person blocked them too. A friendship does not come back: they may ask again.

Both are idempotent: blocking someone blocked, or unblocking someone not blocked, changes and
sends nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, or_, select

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.blocks import queries
from tidings.blocks.events import BlockUpdateEvent
from tidings.blocks.models import Block
from tidings.blocks.schemas import BlockView
from tidings.context import AppContext
from tidings.conversations.actions.common import announce_membership, lock_for_member
from tidings.conversations.models import Conversation
from tidings.db import utcnow
from tidings.errors import Conflict, NotFound
from tidings.friends import queries as friend_queries
from tidings.friends import views as friend_views
from tidings.friends.events import FriendRequestEvent, FriendUpdateEvent
from tidings.friends.models import FriendRequest, FriendRequestStatus, Friendship
from tidings.realtime.transaction import Transaction

logger = logging.getLogger(__name__)


async def block(ctx: AppContext, user: User, other_id: int) -> BlockView:
    """Block ``other_id`` (404 ``unknown_user`` for nobody or a deleted account, 409 ``is_you``
    for yourself); blocking them again answers the same block. A new block hides each one's
    presence from the other at once (an ephemeral ``presence``, offline, to each). Limited
    with unblocks (``RATE_LIMIT_BLOCK``)."""
    await _limit(ctx, user)
    view, new = await ctx.writer.run(_block, user, other_id)
    if new:
        await _presence_changed(ctx, user.id, other_id, blocked=True)
    return view


async def unblock(ctx: AppContext, user: User, other_id: int) -> None:
    """Unblock ``other_id`` (not blocked: nothing happens). With no block left either way,
    each sees the other's presence again at once."""
    await _limit(ctx, user)
    if await ctx.writer.run(_unblock, user, other_id):
        await _presence_changed(ctx, user.id, other_id, blocked=False)


async def _limit(ctx: AppContext, user: User) -> None:
    await ctx.limiter.hit(
        ctx.limiter.limits.block,
        str(user.id),
        detail="You are blocking and unblocking too often. Wait a while.",
    )


async def _presence_changed(ctx: AppContext, user_id: int, other_id: int, *, blocked: bool) -> None:
    """After the commit; never raises (a presence lost is fetched at the next stream open)."""
    try:
        await ctx.presence.pair_changed(user_id, other_id, blocked=blocked)
    except Exception:
        logger.warning("presence after a block change was not sent", exc_info=True)


def _other(tx: Transaction, user: User, other_id: int) -> User:
    if other_id == user.id:
        raise Conflict("You cannot block or unblock yourself.", code="is_you")
    account_queries.lock_users(tx.session, [user.id, other_id])
    other = tx.session.get(User, other_id)
    if other is None or other.deleted_at is not None:
        raise NotFound(f"No user with id {other_id}.", code="unknown_user")
    return other


def _block(tx: Transaction, user: User, other_id: int) -> tuple[BlockView, bool]:
    """The block, and whether it is new."""
    other = _other(tx, user, other_id)
    session = tx.session
    existing = session.get(Block, (user.id, other.id))
    if existing is not None:
        view = BlockView(user=UserView.model_validate(other), created_at=existing.created_at)
        return view, False
    row = Block(blocker_id=user.id, blocked_id=other.id, created_at=utcnow())
    session.add(row)
    session.flush()
    _end_friendship(tx, user, other)
    _cancel_requests(tx, user, other)
    _flag_direct(tx, user, other, blocked=True)
    view = BlockView(user=UserView.model_validate(other), created_at=row.created_at)
    tx.emit(user.id, BlockUpdateEvent(user=view.user, blocked=True))
    return view, True


def _unblock(tx: Transaction, user: User, other_id: int) -> bool:
    """Whether no block is left between them where there was one."""
    other = _other(tx, user, other_id)
    removed = tx.session.execute(
        delete(Block).where(Block.blocker_id == user.id, Block.blocked_id == other.id)
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        return False
    cleared = not queries.has_blocked(tx.session, other.id, user.id)
    if cleared:
        _flag_direct(tx, user, other, blocked=False)
    tx.emit(user.id, BlockUpdateEvent(user=UserView.model_validate(other), blocked=False))
    return cleared


def _end_friendship(tx: Transaction, user: User, other: User) -> None:
    if not friend_queries.are_friends(tx.session, user.id, other.id):
        return
    tx.session.execute(
        delete(Friendship).where(
            ((Friendship.user_id == user.id) & (Friendship.friend_id == other.id))
            | ((Friendship.user_id == other.id) & (Friendship.friend_id == user.id))
        )
    )
    tx.emit(user.id, FriendUpdateEvent(friend=UserView.model_validate(other), status="removed"))
    tx.emit(other.id, FriendUpdateEvent(friend=UserView.model_validate(user), status="removed"))


def _cancel_requests(tx: Transaction, user: User, other: User) -> None:
    """A pending request either way is cancelled, both sides told (as a withdrawal tells them)."""
    session = tx.session
    pending = list(
        session.scalars(
            select(FriendRequest).where(
                or_(
                    (FriendRequest.requester_id == user.id)
                    & (FriendRequest.addressee_id == other.id),
                    (FriendRequest.requester_id == other.id)
                    & (FriendRequest.addressee_id == user.id),
                ),
                FriendRequest.status == FriendRequestStatus.pending,
            )
        )
    )
    if not pending:
        return
    for request in pending:
        request.status = FriendRequestStatus.cancelled
        request.responded_at = utcnow()
    session.flush()
    for view in friend_views.views_of(session, pending):
        tx.emit_to([view.requester.id, view.addressee.id], FriendRequestEvent(request=view))


def _flag_direct(tx: Transaction, user: User, other: User, *, blocked: bool) -> None:
    """Their DM, if any, takes messages or not; both members' views are told (one event)."""
    low, high = sorted((user.id, other.id))
    direct_id = tx.session.scalar(
        select(Conversation.id).where(Conversation.direct_key == f"{low}:{high}")
    )
    if direct_id is None:
        return
    # The conversation's lock, as every write to it takes (after the users': the usual order).
    conversation, _ = lock_for_member(tx, direct_id, user)
    if conversation.blocked == blocked:
        return
    conversation.blocked = blocked
    tx.session.flush()
    announce_membership(tx, conversation, "blocked" if blocked else "unblocked", with_members=False)
