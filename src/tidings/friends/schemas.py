"""Request and response bodies for friends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from tidings.accounts.schemas import UserView
from tidings.friends.models import FriendRequestStatus
from tidings.schemas import Schema, ViewSchema


class FriendRequestCreate(Schema):
    username: Annotated[str, Field(min_length=1, max_length=64)]


class FriendRequestView(ViewSchema):
    id: int
    requester: UserView
    addressee: UserView
    status: FriendRequestStatus
    created_at: datetime


class FriendRequestEnvelope(ViewSchema):
    request: FriendRequestView


class FriendRequestLists(ViewSchema):
    incoming: list[FriendRequestView]
    outgoing: list[FriendRequestView]
