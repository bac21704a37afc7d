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
import sys
import threading
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from tidings.config import Settings
from tidings.connections import ConnectionLimits, TidingsConfig
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


APP_FACTORY = "tidings.app:create_app_from_env"


def uvicorn_config(
    settings: Settings, app: ASGIApp | str = APP_FACTORY, **overrides: object
) -> TidingsConfig:
    """How every Tidings server runs: ``tidings serve`` and its workers, the ``tidings cluster``
    nodes, and the tests' in-process servers. ``app`` is the factory's import path (each worker
    builds its own app from the environment) or an app object. A bare ``uvicorn --factory
    tidings.app:create_app_from_env`` would run without the connection limits of
    ``tidings.connections`` (head timeout and size, connections per process)."""
    trusted_proxies = [host.strip() for host in settings.trusted_proxies.split(",") if host.strip()]
    options: dict[str, object] = {
        "host": settings.host,
        "port": settings.port,
        "factory": isinstance(app, str),
        "loop": "uvloop",
        "ws": "none",
        "log_level": settings.log_level,
        "timeout_graceful_shutdown": 10,
        "timeout_keep_alive": settings.keep_alive_seconds,
        # X-Forwarded-For/-Proto are believed from these addresses only (none by default): from
        # anyone else they would let a client pick the address rate limits are counted by.
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": trusted_proxies,
        **overrides,
    }
    return TidingsConfig(app, limits=ConnectionLimits.from_settings(settings), **options)


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM, with ``settings.workers`` processes sharing the port."""
    config = uvicorn_config(settings, workers=settings.workers)
    sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)
    if settings.workers <= 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    Multiprocess(config, sockets=[sock]).run()
