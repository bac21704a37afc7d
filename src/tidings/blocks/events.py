"""The event the blocks domain sends: the user blocked or unblocked someone."""

from __future__ import annotations

from typing import Literal

from tidings.accounts.schemas import UserView
from tidings.realtime.events import EventData, durable_event


@durable_event
class BlockUpdateEvent(EventData):
    """The user (every tab of theirs) blocked ``user`` (``blocked``) or unblocked them. The
    blocked person is not told; their DM with the user says it takes no messages
    (``conversation_update`` reason ``blocked``). Also sent, ``blocked`` false, to whoever had
    blocked an account that is deleted (its blocks go with it)."""

    type: Literal["block_update"] = "block_update"
    user: UserView
    blocked: bool
