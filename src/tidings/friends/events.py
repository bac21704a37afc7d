"""The events the friends domain sends: requests and friend list changes."""

from __future__ import annotations

from typing import Literal

from tidings.accounts.schemas import UserView
from tidings.friends.schemas import FriendRequestView
from tidings.realtime.events import EventData, durable_event


@durable_event
class FriendRequestEvent(EventData):
    """A friend request addressed to the user (``pending``) or answered by them."""

    type: Literal["friend_request"] = "friend_request"
    request: FriendRequestView


@durable_event
class FriendUpdateEvent(EventData):
    """The user's friend list changed: ``friend`` was added or removed."""

    type: Literal["friend_update"] = "friend_update"
    friend: UserView
    status: Literal["added", "removed"]
    request_id: int | None = None
