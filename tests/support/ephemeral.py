"""A test-only ephemeral event: the app defines none yet (typing and presence will, issue 14)."""

from __future__ import annotations

from typing import Literal

from tidings.realtime.events import EventData


class Nudge(EventData):
    """Sent with ``Hub.send_ephemeral``; never registered as a durable event."""

    type: Literal["test_nudge"] = "test_nudge"
    text: str
