"""The client's models and events say what the server says: the same fields as the OpenAPI
schemas and the registered event models, the same required fields, and every event type."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from tests.support.server import LiveServer
from tidings.conversations.schemas import ConversationChange as ServerConversationChange
from tidings.events import (
    CONTROL_EVENT_TYPES,
    EPHEMERAL_EVENT_MODELS,
    EPHEMERAL_EVENT_TYPES,
    EVENT_MODELS,
)
from tidings_client import ConversationChange, DurableEvent
from tidings_client.events import EVENT_CLASSES, Connected, Resync
from tidings_client.models import SCHEMAS


def _fields(cls: type) -> tuple[set[str], set[str]]:
    """A dataclass's field names, and those without a default (required)."""
    fields = dataclasses.fields(cls)
    required = {
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    return {f.name for f in fields}, required


async def test_models_have_the_fields_of_the_openapi_schemas(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        schemas: dict[str, Any] = (await http.get("/openapi.json")).json()["components"]["schemas"]
    assert {"UserView", "MessageView", "ConversationView", "NotificationView"} <= set(SCHEMAS)
    assert "FriendRequestView" in SCHEMAS
    for name, cls in SCHEMAS.items():
        schema = schemas[name]
        names, required = _fields(cls)
        assert names == set(schema["properties"]), name
        assert required == set(schema.get("required", [])), name
    change = ServerConversationChange.model_fields
    assert _fields(ConversationChange)[0] == set(change)


def test_events_have_the_fields_of_the_server_events() -> None:
    for model in EVENT_MODELS + EPHEMERAL_EVENT_MODELS:
        cls = EVENT_CLASSES[model.event_type()]
        names, required = _fields(cls)
        durable = model in EVENT_MODELS
        assert issubclass(cls, DurableEvent) == durable, cls
        own = names - {"id"} if durable else names
        assert own == set(model.model_fields), cls
        expected = {n for n, f in model.model_fields.items() if f.is_required()} | {"type"}
        assert required - {"id"} == expected, cls
    # Every type the README's table lists: durable, ephemeral and control (overloaded is the
    # iterator's own: it waits, and yields nothing).
    listed = {m.event_type() for m in EVENT_MODELS} | set(EPHEMERAL_EVENT_TYPES)
    assert set(EVENT_CLASSES) == listed | set(CONTROL_EVENT_TYPES) - {"overloaded"}
    assert _fields(Connected)[0] == {"type", "user_id", "last_event_id"}
    assert _fields(Resync)[0] == {"type", "id", "last_event_id"}
