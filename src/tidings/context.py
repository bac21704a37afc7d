"""The per-app services that routes and actions need, built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher

from tidings.accounts.sessions import SessionCache
from tidings.config import Settings
from tidings.db import Database
from tidings.ratelimit import RateLimiter
from tidings.realtime.gate import StreamGate
from tidings.realtime.hub import Hub
from tidings.realtime.metrics import Metrics
from tidings.realtime.writer import Writer


@dataclass(slots=True)
class AppContext:
    settings: Settings
    db: Database
    hub: Hub
    sessions: SessionCache
    writer: Writer
    metrics: Metrics
    password_hasher: PasswordHasher
    limiter: RateLimiter
    stream_gate: StreamGate
