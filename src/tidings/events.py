"""Every event type of the app, assembled from the domains' registered events.

realtime knows no domain; this app-level module imports each domain's ``events`` module (which
registers its models) and builds from the registry what needs the full list: the type names
(the web client listens to exactly these), the discriminated union and its adapter, and the
stream's description in the OpenAPI document. A new domain adds its import here.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

import tidings.accounts.events
import tidings.blocks.events
import tidings.conversations.events
import tidings.friends.events
import tidings.notifications.events
import tidings.presence.events
from tidings.realtime.events import (
    EventData,
    durable_event_models,
    durable_event_types,
    ephemeral_event_models,
    event_union,
)
from tidings.realtime.stream import CONTROL_EVENT_TYPES

DOMAIN_EVENT_MODULES = (
    tidings.accounts.events,
    tidings.blocks.events,
    tidings.conversations.events,
    tidings.friends.events,
    tidings.notifications.events,
    tidings.presence.events,
)
EVENT_MODELS: tuple[type[EventData], ...] = durable_event_models()
EVENT_TYPES: tuple[str, ...] = durable_event_types()
EPHEMERAL_EVENT_MODELS: tuple[type[EventData], ...] = ephemeral_event_models()
EPHEMERAL_EVENT_TYPES: tuple[str, ...] = tuple(m.event_type() for m in EPHEMERAL_EVENT_MODELS)
"""Typing, presence, read receipts: never logged or replayed (frames without ``id:``)."""
Event: Any = event_union(EVENT_MODELS)
EventAdapter: TypeAdapter[Any] = TypeAdapter(Event)

__all__ = [
    "CONTROL_EVENT_TYPES",
    "EPHEMERAL_EVENT_MODELS",
    "EPHEMERAL_EVENT_TYPES",
    "EVENT_MODELS",
    "EVENT_TYPES",
    "Event",
    "EventAdapter",
]
