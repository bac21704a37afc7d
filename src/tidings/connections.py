"""Connection-level limits that uvicorn lacks: head timeout, head size, open connections.

uvicorn starts no timer on a fresh connection, and its keep-alive timer is cancelled by any
byte, so a client that sends a request head one byte at a time (slowloris) holds a connection,
and its file descriptor, for ever; thousands of them exhaust the process's open-file limit and
nobody else gets in. ``LimitedHttpToolsProtocol`` closes a connection whose request head has not
fully arrived within ``header_timeout_seconds`` (of connecting, or of the previous response
finishing), refuses a head larger than ``max_head_bytes`` with 431, and keeps the number of open
connections at ``max_connections`` per server: a connection beyond it first evicts the oldest
connection with no request in progress (still sending its head, or idle between requests); only
when every connection is busy with a request is the new one refused (503). An attacker's
half-open connections are thus always the first to go, and a health check or a sign-in gets in.
A connection stays busy no longer than its request: the whole body must arrive within
``body_timeout_seconds`` (``RequestBodyLimitMiddleware``), so trickling bodies cannot hold
every connection.

The limits travel in ``TidingsConfig`` (a ``uvicorn.Config`` that ``--workers`` pickles to each
worker); the per-server bookkeeping hangs off uvicorn's per-server ``ServerState``, so two
servers in one process never share counts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from tidings.config import Settings

logger = logging.getLogger(__name__)

MAX_HEAD_BYTES = 32 * 1024
HEAD_LINE_OVERHEAD = 4
"""What each header line (": ", CRLF) or the request line adds to what the parser reports: so
that many tiny headers count what they cost."""
"""Request line plus headers; browsers send a few KiB (nginx's default buffers allow 32 KiB)."""


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    header_timeout_seconds: float
    max_head_bytes: int = MAX_HEAD_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            max_connections=settings.connection_limit,
            header_timeout_seconds=settings.header_timeout_seconds,
        )


class TidingsConfig(uvicorn.Config):
    """uvicorn's Config, serving with ``LimitedHttpToolsProtocol`` under ``limits``."""

    def __init__(self, app: Any, *, limits: ConnectionLimits, **options: Any) -> None:
        self.limits = limits
        super().__init__(app, http=LimitedHttpToolsProtocol, **options)


class ConnectionRegistry:
    """One server's open connections, and which of them may be evicted, oldest first."""

    _by_server: ClassVar[weakref.WeakKeyDictionary[ServerState, ConnectionRegistry]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self) -> None:
        self.open: set[LimitedHttpToolsProtocol] = set()
        self.idle: OrderedDict[LimitedHttpToolsProtocol, None] = OrderedDict()
        self.evicted = 0
        self.refused = 0

    @classmethod
    def of(cls, server_state: ServerState) -> ConnectionRegistry:
        registry = cls._by_server.get(server_state)
        if registry is None:
            registry = cls._by_server[server_state] = cls()
        return registry

    def admit(self, connection: LimitedHttpToolsProtocol, limit: int) -> bool:
        """Count ``connection`` in, evicting the oldest idle one if full; False: refuse it."""
        if len(self.open) >= limit:
            if not self.idle:
                self.refused += 1
                return False
            victim, _ = self.idle.popitem(last=False)
            self.open.discard(victim)
            self.evicted += 1
            victim.evict()
        self.open.add(connection)
        self.idle[connection] = None
        return True

    def mark_busy(self, connection: LimitedHttpToolsProtocol) -> None:
        self.idle.pop(connection, None)

    def mark_idle(self, connection: LimitedHttpToolsProtocol) -> None:
        if connection in self.open:
            self.idle[connection] = None
            self.idle.move_to_end(connection)

    def forget(self, connection: LimitedHttpToolsProtocol) -> None:
        self.open.discard(connection)
        self.idle.pop(connection, None)


def raw_error_response(status: int, reason: str, detail: str, code: str) -> bytes:
    """A complete ``{detail, code}`` response with ``Connection: close``, for the protocol
    layer, which answers before any request reaches the app."""
    body = json.dumps({"detail": detail, "code": code}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


HEAD_TOO_LARGE = raw_error_response(
    431, "Request Header Fields Too Large", "The request head is too large.", "head_too_large"
)
SERVER_FULL = raw_error_response(
    503, "Service Unavailable", "The server is at its connection limit.", "too_many_connections"
)


def abort_connection(send: Callable[..., Any]) -> None:
    """Drop the connection that uvicorn's ``send`` writes to, discarding unsent bytes.

    For the event stream, whose client stopped reading: ``close()``, which uvicorn calls when
    an app returns mid-response, would wait to flush to that client for ever. uvicorn's
    ``send`` is a method of the request's cycle, which holds the transport.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    abort = getattr(transport, "abort", None)
    if callable(abort):
        abort()


def write_now(send: Callable[..., Any], body: bytes) -> bool:
    """Write one more chunk of a started response to the connection that uvicorn's ``send``
    writes to, from a plain function call, as ``send`` would (the same chunked framing and the
    same checks); False, writing nothing, when it cannot take it now: flow control paused the
    connection (the client is behind), it is gone, or the response is not in its body. The
    caller then awaits ``send`` as usual, which waits for the client.

    For the event stream: the hub hands an event to an idle stream's socket in its own turn,
    instead of waking the stream's task to await ``send`` (a future, a task step and two
    coroutines per stream: most of a fan-out's per-stream cost besides the socket write).
    """
    cycle = getattr(send, "__self__", None)
    if not isinstance(cycle, RequestResponseCycle):
        return False
    # ``disconnected`` alone is not enough: when a request was pipelined behind the stream's,
    # uvicorn marks that later request's cycle when the connection goes, not the stream's.
    transport = cycle.transport
    if (
        cycle.disconnected
        or transport.is_closing()
        or cycle.flow.write_paused
        or not cycle.response_started
        or cycle.response_complete
        or not cycle.chunked_encoding
        or not body
    ):
        return False
    try:
        transport.write(b"%x\r\n%b\r\n" % (len(body), body))
    except Exception:  # e.g. uvloop refusing a write to a lost connection
        return False
    return True


CONNECTION_EXTENSIONS: dict[str, dict[object, object]] = {
    "tidings.connection": {"abort": abort_connection, "write_now": write_now}
}
"""The ASGI extension every request gets: ``abort(send)`` and ``write_now(send, body)`` (see
``abort_connection`` and ``write_now``)."""


class _ConnectionState:
    """What the protocol adds per connection, in one slotted object.

    uvicorn's protocol keeps 28 attributes in its instance dict; CPython shares dict keys
    between instances only up to 30, so five more attributes of our own would make every
    connection's dict private and ~1.3 KiB larger (measured at 19,800 idle streams).
    """

    __slots__ = (
        "ended_in_read",
        "head_began_in_read",
        "head_bytes",
        "head_in_progress",
        "head_read_bytes",
        "head_timer",
        "limits",
        "refused",
        "registry",
    )

    def __init__(self, limits: ConnectionLimits, registry: ConnectionRegistry) -> None:
        self.limits = limits
        self.registry = registry
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_in_progress = False
        self.head_bytes = 0
        """The current head's URL, header names and values, as the parser reports them."""
        self.head_read_bytes = 0
        """Bytes of the reads that fell wholly inside the current head (it began in an earlier
        read): what bounds a head whose last header never ends, which the parser keeps to
        itself until it does."""
        self.head_began_in_read = False
        """The current head began in the current read, after a request that ended in it: that
        read is not counted as head (it holds the end of the previous request)."""
        self.ended_in_read = False
        """A request ended in the current read (pipelining)."""
        self.refused = False
        """Answered at the connection level (503 or 431) and closing: nothing more is parsed."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head timeout, a head size cap and a connection cap."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if not isinstance(config, TidingsConfig):
            raise TypeError("LimitedHttpToolsProtocol needs a TidingsConfig (its limits)")
        self.guard = _ConnectionState(config.limits, ConnectionRegistry.of(server_state))

    # Connection lifetime

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        guard = self.guard
        if not guard.registry.admit(self, guard.limits.max_connections):
            if guard.registry.refused % 1000 == 1:  # the first, then every 1000th: no log flood
                logger.warning(
                    "%d connections, all busy (MAX_CONNECTIONS): refused %d so far",
                    guard.limits.max_connections,
                    guard.registry.refused,
                )
            guard.refused = True
            self.transport.write(SERVER_FULL)
            self.transport.close()
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self.guard.registry.forget(self)
        super().connection_lost(exc)

    def evict(self) -> None:
        """Drop this connection at once to make room for a new one (it had no request)."""
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.abort()

    # The request head: its size is what the parser reports (URL, header names and values), so
    # the read that completes a head counts as much as the reads before it. A head still
    # incomplete after a read is also bounded by the bytes of the reads that fell wholly inside
    # it: the parser reports a header only once it ends, and a head that never ends must not
    # grow for ever. The read in which a head begins is not counted that way (it may hold the
    # end of the previous request too); that one read is all the slack there is.

    def data_received(self, data: bytes) -> None:
        guard = self.guard
        if guard.refused:
            return
        guard.head_began_in_read = False
        guard.ended_in_read = False
        super().data_received(data)
        if guard.refused or not guard.head_in_progress or self.transport.is_closing():
            return
        if not guard.head_began_in_read:
            guard.head_read_bytes += len(data)
            if guard.head_read_bytes > guard.limits.max_head_bytes:
                self._refuse_head()

    def on_message_begin(self) -> None:
        guard = self.guard
        if guard.refused:
            return
        super().on_message_begin()
        # One shared object, no allocation per request (a stream holds its scope for hours).
        self.scope["extensions"] = CONNECTION_EXTENSIONS
        guard.head_in_progress = True
        # Only a head that follows another request in the same read is not counted by reads;
        # on a fresh connection or after a keep-alive pause, the whole read is head.
        guard.head_began_in_read = guard.ended_in_read
        guard.head_bytes = 0
        guard.head_read_bytes = 0

    def on_url(self, url: bytes) -> None:
        if self.guard.refused:
            return
        super().on_url(url)
        self._count_head(len(url) + HEAD_LINE_OVERHEAD)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.guard.refused:
            return
        super().on_header(name, value)
        self._count_head(len(name) + len(value) + HEAD_LINE_OVERHEAD)

    def _count_head(self, size: int) -> None:
        guard = self.guard
        guard.head_bytes += size
        if guard.head_bytes > guard.limits.max_head_bytes:
            self._refuse_head()

    def on_headers_complete(self) -> None:
        guard = self.guard
        if guard.refused:  # refused mid-head: the app never sees this request
            return
        guard.head_in_progress = False
        self._cancel_head_timer()
        guard.registry.mark_busy(self)
        super().on_headers_complete()

    def _refuse_head(self) -> None:
        """431 and close. The parser goes on through the rest of the read it is in; every
        callback ignores it from here on, so no request of this connection reaches the app."""
        guard = self.guard
        guard.refused = True
        guard.head_in_progress = False
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.write(HEAD_TOO_LARGE)
            self.transport.close()

    # After a refusal, what is left of the read is neither a request nor an error to answer.

    def on_body(self, body: bytes) -> None:
        if not self.guard.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.guard.refused:
            self.guard.ended_in_read = True
            super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if not self.guard.refused:
            super().send_400_response(msg)

    def _should_upgrade(self) -> bool:
        return not self.guard.refused and super()._should_upgrade()

    def _unsupported_upgrade_warning(self) -> None:
        if not self.guard.refused:
            super()._unsupported_upgrade_warning()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self.guard.registry.mark_idle(self)
            self._arm_head_timer()

    # The head timer

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self.guard.head_timer = self.loop.call_later(
            self.guard.limits.header_timeout_seconds, self._head_timed_out
        )

    def _cancel_head_timer(self) -> None:
        if self.guard.head_timer is not None:
            self.guard.head_timer.cancel()
            self.guard.head_timer = None

    def _head_timed_out(self) -> None:
        self.guard.head_timer = None
        if self.transport.is_closing():
            return
        # A client that has not read its last response keeps close() waiting: abort instead.
        if self.transport.get_write_buffer_size():
            self.transport.abort()
        else:
            self.transport.close()
