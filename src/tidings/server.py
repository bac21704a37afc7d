"""Running the app under uvicorn, with a shutdown that ends event streams first.

uvicorn waits for open connections to finish before it runs the lifespan shutdown, and an event
stream never finishes by itself: without help, SIGTERM would hang until a timeout. So at startup
the app wraps the SIGTERM/SIGINT handlers uvicorn installed: on the signal it first ends every
stream of this process (a clean end of body, so browsers reconnect, to another process if there
is one, and replay), then lets uvicorn proceed. This works for one worker, for each of several
workers, and for ``uvicorn --factory tidings.app:create_app_from_env`` alike.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from types import FrameType

import uvicorn

from tidings.config import Settings
from tidings.realtime.hub import close_all_streams

_WRAPPED = "_tidings_ends_streams"


def end_streams_on_shutdown_signals(loop: asyncio.AbstractEventLoop) -> None:
    """Chain a stream-closing step in front of the current SIGTERM and SIGINT handlers."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous) or getattr(previous, _WRAPPED, False):
            continue

        def handler(signum: int, frame: FrameType | None, previous=previous) -> None:  # type: ignore[no-untyped-def]
            loop.call_soon_threadsafe(close_all_streams, "shutdown")
            previous(signum, frame)

        setattr(handler, _WRAPPED, True)
        signal.signal(sig, handler)


def uvicorn_config(settings: Settings, **overrides: object) -> uvicorn.Config:
    options: dict[str, object] = {
        "host": settings.host,
        "port": settings.port,
        "factory": True,
        "loop": "uvloop",
        "http": "httptools",
        "log_level": settings.log_level,
        "timeout_graceful_shutdown": 10,
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1",
        **overrides,
    }
    return uvicorn.Config("tidings.app:create_app_from_env", **options)  # type: ignore[arg-type]


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM, with ``settings.workers`` processes sharing the port."""
    config = uvicorn_config(settings, workers=settings.workers)
    if settings.workers <= 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    Multiprocess(config, sockets=[sock]).run()
