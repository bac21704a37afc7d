"""The generic shape of an event, and the registry the domains declare their events in.

Each domain (``conversations/events.py``, ``friends/events.py``, ...) defines its event models on
``EventData`` and registers them with ``@durable_event``; realtime imports no domain. The full
list of types, the discriminated union and their description are assembled from the registry
once the domains are imported (``tidings.events`` does that for the app).

Each model is what goes, as one-line JSON, in the ``data:`` field of an SSE frame whose
``event:`` field is its ``type``. Payloads carry everything a client needs to update its view
without a refetch.

Three kinds of events reach a stream:

* durable per-user events (friends, notifications): recorded in the event log with their write
  (``Transaction.emit``), replayed after a reconnect; their frames carry ``id:``;
* durable channel events (a conversation's messages and membership): recorded *once* for the
  whole channel (``Transaction.emit_to_channel``) and merged into each member's stream for the
  positions their membership covers; ids from the same sequence as per-user events;
* ephemeral events (``Hub.send_ephemeral``): delivered to the addressees' open streams on every
  process and then forgotten, never logged or replayed; their frames carry no ``id:``, so the
  browser's ``Last-Event-ID`` stays the last durable id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class EventData(BaseModel):
    """An event's payload. Subclasses declare ``type: Literal["name"] = "name"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def event_type(cls) -> str:
        """The SSE ``event:`` name: the default of the model's ``type`` field."""
        field = cls.model_fields.get("type")
        default = None if field is None else field.default
        if not isinstance(default, str) or not default:
            raise TypeError(f"{cls.__name__} needs a type field with a default name")
        return default


E = TypeVar("E", bound=type[EventData])

_durable: dict[str, type[EventData]] = {}


def durable_event(model: E) -> E:
    """Register a durable event model (class decorator); its type name must be new."""
    name = model.event_type()
    known = _durable.get(name)
    if known is not None and known is not model:
        raise ValueError(f"event type {name!r} is already registered by {known.__qualname__}")
    _durable[name] = model
    return model


_ephemeral: dict[str, type[EventData]] = {}


def ephemeral_event(model: E) -> E:
    """Register an ephemeral event model (class decorator): sent with ``Hub.send_ephemeral``,
    never logged or replayed. Registered so that the stream's documentation and the web client
    know every type; its name must be new among durable and ephemeral events."""
    name = model.event_type()
    known = _ephemeral.get(name) or _durable.get(name)
    if known is not None and known is not model:
        raise ValueError(f"event type {name!r} is already registered by {known.__qualname__}")
    _ephemeral[name] = model
    return model


def ephemeral_event_models() -> tuple[type[EventData], ...]:
    """The registered ephemeral event models, in registration order."""
    return tuple(_ephemeral.values())


def durable_event_models() -> tuple[type[EventData], ...]:
    """The registered durable event models, in registration order."""
    return tuple(_durable.values())


def durable_event_types() -> tuple[str, ...]:
    """The names of the registered durable event types, in registration order."""
    return tuple(_durable)


def event_union(models: tuple[type[EventData], ...]) -> Any:
    """The discriminated union (on ``type``) of these models, for a ``TypeAdapter``."""
    if not models:
        raise ValueError("no event models registered: import the domains' events first")
    union: Any = models[0] if len(models) == 1 else _union_of(models)
    return Annotated[union, Field(discriminator="type")]


def _union_of(models: tuple[type[EventData], ...]) -> Any:
    union: Any = models[0]
    for model in models[1:]:
        union = union | model
    return union


def event_adapter(models: tuple[type[EventData], ...]) -> TypeAdapter[Any]:
    """Validates an event's JSON into the model its ``type`` names."""
    return TypeAdapter(event_union(models))


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as recorded in the log and carried by the hub: positioned, addressed, serialized.

    ``pos`` is the event's place in the one log of the whole server (its SSE ``id``); the event
    is addressed either to one user (``user_id``) or to every member of a channel
    (``channel_id``: a conversation) at that position.
    """

    pos: int
    type: str
    data: str
    user_id: int | None = None
    channel_id: int | None = None
    _frame: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return str(self.pos)

    def frame(self) -> bytes:
        """The SSE frame for this event, encoded once however many streams write it."""
        frame = self._frame
        if frame is None:
            frame = f"id: {self.pos}\nevent: {self.type}\ndata: {self.data}\n\n".encode()
            object.__setattr__(self, "_frame", frame)
        return frame


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """``user_id`` joined (or left) ``channel_id`` at position ``pos``: from that position on,
    the channel's events reach them (or no longer do)."""

    pos: int
    channel_id: int
    user_id: int
    joined: bool


@dataclass(frozen=True, slots=True)
class Batch:
    """Positions ``first`` to ``last`` of the log, complete: what one commit wrote (or what a
    process read back from the log to fill a gap). Membership changes take effect before the
    events at their position."""

    first: int
    last: int
    events: tuple[StoredEvent, ...]
    memberships: tuple[MembershipChange, ...] = ()


@dataclass(frozen=True, slots=True)
class EphemeralEvent:
    """An event for a user's open streams only: serialized, addressed, never numbered or logged.

    Its frame has no ``id:`` line: per the EventSource spec, a frame without one leaves the
    browser's last event id unchanged, so a reconnect still resumes from the last durable event.
    """

    user_id: int
    type: str
    data: str

    def frame(self) -> bytes:
        return f"event: {self.type}\ndata: {self.data}\n\n".encode()
