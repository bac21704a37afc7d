"""Sizes and periods of each scenario, for the full suite and for ``--quick``."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIOS = (
    "polling",
    "idle",
    "latency",
    "fanout",
    "pushpin",
    "writes",
    "users",
    "presence",
    "first_load",
)
"""In issue order: 1 polling vs push, 2 idle capacity, 3 latency, 4 fan-out, 5 Pushpin, 6 writes;
7 finding people (issue 13); 8 presence under churn (issue 14); 9 the web app's first load
(issue 16)."""


@dataclass(frozen=True)
class Plan:
    quick: bool
    polling_users: int
    polling_period_s: float
    polling_msgs_per_min: float
    idle_ladder: tuple[int, ...]
    idle_window_s: float
    idle_heartbeat_window_s: float
    latency_streams: int
    latency_rates: tuple[int, ...]
    latency_seconds: float
    latency_drain_s: float
    """How long after the last scheduled send an unfinished POST may still complete."""
    fanout_sizes: tuple[int, ...]
    fanout_budget_s: float
    """Skip a fan-out size whose extrapolated time is beyond this (it could take minutes)."""
    pushpin_streams: int
    writes_seconds: float
    writes_levels: tuple[tuple[int, int | None], ...]
    """(clients, senders): N connections POSTing back to back as ``senders`` people in turn
    (senders = clients: each client one person, whose session is cached after its first
    request), or None: each request from a person who never sent before (their session read
    from the database first), until the level's share of such people runs out."""
    user_search_users: int = 100_000
    user_search_queries: int = 20
    """Different queries per kind."""
    user_search_runs: int = 5
    """Timed runs of each query."""
    streams_per_gen: int = 5000
    presence_users: int = 1000
    presence_streams_per_user: int = 5
    presence_friends: int = 50
    """Each user's friends: the ``friends / 2`` users after them and before them (mod N)."""
    presence_churn_s: float = 20.0
    presence_churn_concurrency: int = 50
    """Close-and-reopen loops at once, over all load generators."""
    presence_flaps: int = 50
    """Users who close all their streams and reopen them within the grace period."""
    presence_leavers: int = 200
    presence_grace_s: float = 5.0
    presence_processes: int = 3
    """Server processes on PostgreSQL + Redis (when configured)."""
    first_load_runs: int = 5
    """Cold and warm visits per network profile (the time reported is their median)."""

    @property
    def dm_pairs(self) -> int:
        return max(self.latency_streams, max(self.fanout_sizes), (max(self.idle_ladder) + 1) // 2)


FULL = Plan(
    quick=False,
    polling_users=100,
    polling_period_s=60,
    polling_msgs_per_min=10,
    idle_ladder=(1000, 5000, 10000, 19800),
    idle_window_s=5,
    idle_heartbeat_window_s=31,
    latency_streams=10000,
    latency_rates=(10, 100, 500, 1000),
    latency_seconds=5,
    latency_drain_s=20,
    fanout_sizes=(100, 1000, 10000),
    fanout_budget_s=60,
    pushpin_streams=10000,
    writes_seconds=10,
    writes_levels=((1, 1), (16, 16), (64, 64), (1, None), (64, None)),
)

QUICK = Plan(
    quick=True,
    polling_users=20,
    polling_period_s=5,
    polling_msgs_per_min=100,
    idle_ladder=(200, 500),
    idle_window_s=1,
    idle_heartbeat_window_s=2.5,
    latency_streams=500,
    latency_rates=(10, 50, 100),
    latency_seconds=2,
    latency_drain_s=5,
    fanout_sizes=(10, 100),
    fanout_budget_s=10,
    pushpin_streams=500,
    writes_seconds=2,
    writes_levels=((1, 1), (8, 8), (8, None)),
    user_search_users=2_000,
    user_search_queries=5,
    user_search_runs=2,
    presence_users=100,
    presence_churn_s=3.0,
    presence_churn_concurrency=10,
    presence_flaps=10,
    presence_leavers=20,
    presence_grace_s=2.0,
    first_load_runs=1,
)


@dataclass
class Run:
    """What one invocation shares: the plan, where to write, the results so far, progress."""

    plan: Plan
    out: Path
    server_core: int | None
    load_core: int | None
    started: float = field(default_factory=time.monotonic)
    results: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, list[str]] = field(default_factory=dict)
    code_states: list[str] = field(default_factory=list)
    """The git state each server started from (commits can land during a run)."""
    failures: list[str] = field(default_factory=list)
    """Correctness checks that did not hold (not timings): the run exits non-zero."""

    @property
    def raw(self) -> Path:
        return self.out / "raw"

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(values_ns: list[int]) -> dict[str, float]:
    ms = [v / 1e6 for v in values_ns]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
    }
