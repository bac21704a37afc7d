"""Writes for friends: request, accept, decline, cancel, unfriend."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.blocks import rules as block_rules
from tidings.context import AppContext
from tidings.db import utcnow
from tidings.errors import Conflict, NotFound, TooManyRequests, Unprocessable
from tidings.friends import queries, views
from tidings.friends.events import FriendRequestEvent, FriendUpdateEvent
from tidings.friends.models import FriendRequest, FriendRequestStatus, Friendship
from tidings.friends.schemas import FriendRequestView
from tidings.notifications import actions as notification_actions
from tidings.notifications.models import NotificationType
from tidings.realtime.transaction import Transaction


async def send_request(
    ctx: AppContext, user: User, username: str
) -> tuple[FriendRequestView, bool]:
    """Ask ``username`` to be friends; if they already asked you, this accepts their request.

    The value is the request and whether it was newly created (False: it was accepted).
    Refused (409 ``blocked`` / ``you_blocked``) between two people in a block: a block cancels
    their pending requests, so none is left to accept either.
    Limited per sender and per sender and addressee (``RATE_LIMIT_FRIEND_REQUEST*``), and
    refused for ``FRIEND_REQUEST_COOLDOWN_SECONDS`` after the addressee declined the last one.
    """
    limiter = ctx.limiter
    detail = "You are sending too many friend requests. Try again later."
    await limiter.hit(limiter.limits.friend_request, str(user.id), detail=detail)
    await limiter.hit(
        limiter.limits.friend_request_target,
        str(user.id),
        username.strip().lower(),
        detail=f"You cannot ask {username.strip().lower()!r} again yet.",
    )
    return await ctx.writer.run(
        _send_request, ctx.settings.friend_request_cooldown_seconds, user, username
    )


def _send_request(
    tx: Transaction, cooldown_seconds: float, user: User, username: str
) -> tuple[FriendRequestView, bool]:
    target = account_queries.user_by_username(tx.session, username)
    if target is None:
        raise NotFound(f"No user named {username.strip().lower()!r}.", code="unknown_user")
    if target.id == user.id:
        raise Unprocessable("You cannot send a friend request to yourself.", code="self_request")
    account_queries.lock_users(tx.session, [user.id, target.id])
    block_rules.refuse_blocked(tx.session, user, [target.id], block_rules.FRIEND_REQUESTS)
    if queries.are_friends(tx.session, user.id, target.id):
        raise Conflict(f"You are already friends with {target.username}.", code="already_friends")
    if queries.pending_request(tx.session, user.id, target.id) is not None:
        raise Conflict(
            f"You already asked {target.username}; wait for an answer.", code="request_pending"
        )
    theirs = queries.pending_request(tx.session, target.id, user.id)
    if theirs is not None:
        _accept(tx, theirs, requester=target, addressee=user)
        [view] = views.views_of(tx.session, [theirs])
        return_value = (view, False)
    else:
        _refuse_during_cooldown(tx, cooldown_seconds, user, target)
        request = FriendRequest(requester_id=user.id, addressee_id=target.id, created_at=utcnow())
        tx.session.add(request)
        tx.session.flush()
        [view] = views.views_of(tx.session, [request])
        tx.emit(target.id, FriendRequestEvent(request=view))
        notification_actions.notify(
            tx, [target.id], NotificationType.friend_request, user, friend_request_id=request.id
        )
        return_value = (view, True)
    return return_value


def _refuse_during_cooldown(
    tx: Transaction, cooldown_seconds: float, user: User, target: User
) -> None:
    """After ``target`` declined ``user``'s request, ``user`` may not ask again for a while."""
    declined_at = queries.last_declined_at(tx.session, user.id, target.id)
    if declined_at is None:
        return
    ends = declined_at + timedelta(seconds=cooldown_seconds)
    wait = (ends - utcnow()).total_seconds()
    if wait > 0:
        raise TooManyRequests(
            f"You cannot ask {target.username} again yet.",
            retry_after=wait,
            code="friend_request_cooldown",
        )


def _accept(tx: Transaction, request: FriendRequest, *, requester: User, addressee: User) -> None:
    request.status = FriendRequestStatus.accepted
    request.responded_at = utcnow()
    tx.session.add_all(
        [
            Friendship(user_id=requester.id, friend_id=addressee.id),
            Friendship(user_id=addressee.id, friend_id=requester.id),
        ]
    )
    tx.session.flush()
    tx.emit(
        requester.id,
        FriendUpdateEvent(
            friend=UserView.model_validate(addressee), status="added", request_id=request.id
        ),
    )
    tx.emit(
        addressee.id,
        FriendUpdateEvent(
            friend=UserView.model_validate(requester), status="added", request_id=request.id
        ),
    )
    notification_actions.notify(
        tx,
        [requester.id],
        NotificationType.friend_accepted,
        addressee,
        friend_request_id=request.id,
    )


def _request_for(
    tx: Transaction, request_id: int, user: User, *, as_addressee: bool
) -> FriendRequest:
    party = FriendRequest.addressee_id if as_addressee else FriendRequest.requester_id
    request = tx.session.scalar(
        select(FriendRequest).where(FriendRequest.id == request_id, party == user.id)
    )
    if request is None:
        kind = "incoming" if as_addressee else "outgoing"
        raise NotFound(f"No {kind} friend request {request_id}.")
    account_queries.lock_users(tx.session, [request.requester_id, request.addressee_id])
    tx.session.refresh(request)  # as committed by whoever held the lock before us
    if request.status != FriendRequestStatus.pending:
        raise Conflict(
            f"This friend request is already {request.status.value}.", code="request_closed"
        )
    return request


def _close(
    tx: Transaction, request: FriendRequest, status: FriendRequestStatus, *, tell: list[int]
) -> FriendRequestView:
    """End a pending request without a friendship, and send its new state to ``tell``."""
    request.status = status
    request.responded_at = utcnow()
    tx.session.flush()
    [view] = views.views_of(tx.session, [request])
    tx.emit_to(tell, FriendRequestEvent(request=view))
    return view


async def accept_request(ctx: AppContext, user: User, request_id: int) -> FriendRequestView:
    """Accept a request addressed to ``user``: both become friends."""
    return await ctx.writer.run(_accept_request, user, request_id)


def _accept_request(tx: Transaction, user: User, request_id: int) -> FriendRequestView:
    request = _request_for(tx, request_id, user, as_addressee=True)
    requester = tx.session.get(User, request.requester_id)
    assert requester is not None
    _accept(tx, request, requester=requester, addressee=user)
    [view] = views.views_of(tx.session, [request])
    return view


async def decline_request(ctx: AppContext, user: User, request_id: int) -> FriendRequestView:
    """Decline a request addressed to ``user``. The requester is not told (as elsewhere)."""
    return await ctx.writer.run(_decline_request, user, request_id)


def _decline_request(tx: Transaction, user: User, request_id: int) -> FriendRequestView:
    request = _request_for(tx, request_id, user, as_addressee=True)
    view = _close(tx, request, FriendRequestStatus.declined, tell=[user.id])
    return view


async def cancel_request(ctx: AppContext, user: User, request_id: int) -> FriendRequestView:
    """Withdraw a request ``user`` sent; it disappears from the addressee's list too."""
    return await ctx.writer.run(_cancel_request, user, request_id)


def _cancel_request(tx: Transaction, user: User, request_id: int) -> FriendRequestView:
    request = _request_for(tx, request_id, user, as_addressee=False)
    tell = [user.id, request.addressee_id]
    view = _close(tx, request, FriendRequestStatus.cancelled, tell=tell)
    return view


async def remove_friend(ctx: AppContext, user: User, friend_id: int) -> None:
    """End a friendship, for both sides. Existing conversations stay."""
    return await ctx.writer.run(_remove_friend, user, friend_id)


def _remove_friend(tx: Transaction, user: User, friend_id: int) -> None:
    account_queries.lock_users(tx.session, [user.id, friend_id])
    friend = tx.session.get(User, friend_id)
    if friend is None or not queries.are_friends(tx.session, user.id, friend_id):
        raise NotFound(f"User {friend_id} is not your friend.")
    tx.session.execute(
        delete(Friendship).where(
            ((Friendship.user_id == user.id) & (Friendship.friend_id == friend_id))
            | ((Friendship.user_id == friend_id) & (Friendship.friend_id == user.id))
        )
    )
    tx.emit(user.id, FriendUpdateEvent(friend=UserView.model_validate(friend), status="removed"))
    tx.emit(friend_id, FriendUpdateEvent(friend=UserView.model_validate(user), status="removed"))
    return None
