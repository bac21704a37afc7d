"""Request and response bodies for a bot's webhook and its delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from tidings.schemas import Schema, ViewSchema

MAX_URL_LENGTH = 2000
URL_PATTERN = r"^https?://[^\x00-\x20\x7f/?#]+(?:[/?#][^\x00-\x20\x7f]*)?$"
"""An absolute ``http`` or ``https`` URL without ASCII spaces or controls (written so that
every regex engine reads it alike: ``\\s`` differs between them, e.g. on U+0085); the route
checks the rest, other white space included: 422 ``invalid_url``, ``private_address``."""


class WebhookPut(Schema):
    """Where the bot's events are to be POSTed: an ``http`` or ``https`` URL."""

    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH, pattern=URL_PATTERN)]


class DeliveryView(ViewSchema):
    """One attempt to deliver one event."""

    id: int
    event_pos: int
    """The event's position in the log: its ``id`` (and ``Tidings-Event-Id``)."""
    event_type: str
    attempt: int
    """1 for the first try at this event, 2 for the first retry..."""
    status_code: int | None
    """The receiver's answer; null if there was none (timeout, refused, connection error)."""
    error: str | None
    succeeded: bool
    duration_ms: int
    created_at: datetime


class WebhookView(ViewSchema):
    """A bot's webhook as its owner sees it: never its secret."""

    bot_id: int
    url: str
    created_at: datetime
    cursor: int
    """The log position up to which everything for the bot has been delivered."""
    failures: int
    """Failed attempts in a row at the next event (0: delivering normally)."""
    next_attempt_at: datetime | None
    """When the next event is tried again, after failures."""
    last_delivery: DeliveryView | None


class WebhookCreated(ViewSchema):
    """The webhook and its signing secret: shown this once (a new PUT makes a new one)."""

    webhook: WebhookView
    secret: str


class WebhookRead(ViewSchema):
    webhook: WebhookView


class DeliveryList(ViewSchema):
    """The latest attempts, newest first (the server keeps the last 1,000 per webhook)."""

    deliveries: list[DeliveryView]
