"""The event the presence domain sends: a person's presence changed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from tidings.realtime.events import EventData, ephemeral_event

PresenceStatus = Literal["online", "away", "offline"]


@ephemeral_event
class PresenceEvent(EventData):
    """``user_id`` is now ``status``. Ephemeral: to the open streams of the people who see
    their presence (friends, members of shared small conversations, not blocked either way);
    a (re)connecting client fetches the current state (``GET /api/presence``)."""

    type: Literal["presence"] = "presence"
    user_id: int
    status: PresenceStatus
    last_seen_at: datetime | None
    """When they were last online (null while online, or if they hide their presence)."""
