"""What the sync and async event iterators share: the SSE parser and the reconnect policy.

Both iterators run the same loop: open ``GET /api/events`` with ``Last-Event-ID`` = the last
durable id yielded, feed the body's lines to ``FrameParser``, turn frames into events
(``Reconnect.handle``) and, when the stream ends or fails, wait ``Reconnect.delay()`` and open
again. The server's ``retry:`` is the first delay; failures in a row double it (capped); a
stream that opened resets it. Each wait is drawn between half and all of that (jitter), so a
restarted server is not met by every client at once. ``overloaded`` is a wait of at least its
``retry_ms``. A read that sees nothing, not even a heartbeat, for ``read_timeout`` is a dead
connection: reconnect.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

import httpx

from tidings_client.errors import TidingsError
from tidings_client.events import Connected, Event, parse_event

MAX_DELAY = 30.0
"""Seconds: the longest wait between two attempts."""

GIVE_UP_STATUSES = frozenset({400, 401, 403, 404, 410})
"""Answers to opening the stream that another attempt will not change: raised."""


@dataclass
class Frame:
    """One SSE frame: ``event``, ``data``, ``id`` (None: no id line)."""

    event: str = "message"
    data: str = ""
    id: str | None = None


@dataclass
class FrameParser:
    """Lines in, frames out (comments such as heartbeats skipped); ``retry`` is the last hint."""

    retry_ms: int | None = None
    _frame: Frame = field(default_factory=Frame)
    _has_data: bool = False

    def feed(self, line: str) -> Frame | None:
        """The frame a blank line completes, else None."""
        if line == "":
            frame, has_data = self._frame, self._has_data
            self._frame, self._has_data = Frame(), False
            return frame if has_data else None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._frame.event = value
        elif name == "data":
            self._frame.data = value if not self._has_data else f"{self._frame.data}\n{value}"
            self._has_data = True
        elif name == "id":
            self._frame.id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


@dataclass
class Reconnect:
    """Where a stream resumes from and how long to wait before the next attempt."""

    last_event_id: str | None
    base_delay: float = 2.0
    failures: int = 0
    wait_at_least: float = 0.0

    def headers(self) -> dict[str, str]:
        """The request headers that resume after the last durable event."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def check(self, response: httpx.Response) -> None:
        """Raise for an answer not worth retrying; note a wait the server asks for."""
        if response.status_code == 200:
            return
        error = TidingsError.from_response(response)
        if response.status_code in GIVE_UP_STATUSES:
            raise error
        self.wait_at_least = max(self.wait_at_least, error.retry_after or 0.0)
        raise _RetryableStatus(error)

    def note_retry(self, retry_ms: int | None) -> None:
        """Take the server's ``retry:`` hint as the first delay from now on."""
        if retry_ms is not None:
            self.base_delay = retry_ms / 1000

    def handle(self, frame: Frame, parser: FrameParser) -> Event | None:
        """The event to yield for a frame (None: nothing for the caller)."""
        self.note_retry(parser.retry_ms)
        try:
            data = json.loads(frame.data)
        except ValueError:
            return None
        if frame.event == "overloaded":
            retry_ms = data.get("retry_ms", 0) if isinstance(data, dict) else 0
            self.wait_at_least = max(self.wait_at_least, float(retry_ms) / 1000)
            return None
        if not isinstance(data, dict):
            return None
        event = parse_event(frame.event, frame.id, data)
        if isinstance(event, Connected):
            self.failures = 0
            if self.last_event_id is None:
                # Started live: from here on, a reconnect resumes after what this stream
                # would have shown, not "live again" (which would skip the gap between).
                self.last_event_id = event.last_event_id
        position = getattr(event, "id", None)  # durable events, and unknown ones with an id
        if isinstance(position, int):
            self.last_event_id = str(position)
        return event

    def delay(self) -> float:
        """Seconds to wait before the next attempt (and count this one as failed)."""
        ceiling = min(MAX_DELAY, self.base_delay * (2**self.failures))
        self.failures += 1
        wait = max(self.wait_at_least, random.uniform(ceiling / 2, ceiling))
        self.wait_at_least = 0.0
        return wait


class _RetryableStatus(Exception):
    """Opening the stream was answered with a status worth another attempt (5xx, 429)."""

    def __init__(self, error: TidingsError) -> None:
        super().__init__(str(error))
        self.error = error


RETRYABLE = (httpx.TransportError, _RetryableStatus)
"""What ends one attempt but not the iteration (read timeouts, refused connections, ...)."""
