"""Request and response bodies for friends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from tidings.accounts.schemas import UserRead
from tidings.friends.models import FriendRequestStatus
from tidings.schemas import ReadSchema, Schema


class FriendRequestCreate(Schema):
    username: Annotated[str, Field(min_length=1, max_length=64)]


class FriendRequestRead(ReadSchema):
    id: int
    requester: UserRead
    addressee: UserRead
    status: FriendRequestStatus
    created_at: datetime


class FriendRequestEnvelope(ReadSchema):
    request: FriendRequestRead


class FriendRequestLists(ReadSchema):
    incoming: list[FriendRequestRead]
    outgoing: list[FriendRequestRead]
