"""Presence under churn (issue 14): streams of people with friends open and close; how many
``presence`` events the server sends, what it costs, and that nobody hears of a change that
did not happen.

Scenario ``presence`` of ``python -m bench``. One ``tidings serve`` (SQLite, memory hub and
presence store) with a short grace period (``Plan.presence_grace_s``; away after an hour, so
that no user turns away during the run); N users with a session each and F friends each (user
``i`` and the F/2 users after it, mod N, are friends both ways: everyone has exactly F), seeded
in the database; S streams per user, a user's streams in one load generator. Phases:

1. *connect*: every stream opens. Each user turns online once, announced to each of their F
   friends: the server's ``tidings_presence_events`` counter must grow by exactly N x F (the
   counter counts addressees, with or without a stream); which friend had a stream open at that
   moment is not known, so the frames received are only reported (all must say "online").
2. *churn*: for a while, loops close one stream of a user who has more and open it again, and
   some users (flaps) close all their streams and reopen them within the grace period. Nobody's
   status changes: 0 events counted, 0 frames received, after waiting out the grace period.
3. *leave*: L users (every N/L-th: many of them friends of each other) close all their
   streams and stay away past the grace period: exactly L x F events counted, and each friend
   still connected receives one ``offline`` frame per stream for each of them, nothing else.
4. *return*: they open their streams again: L x F events counted; each friend who stayed
   receives one ``online`` frame per stream for each of them (the returning users' own streams
   may or may not have opened in time for each other's: not compared).

A check that does not hold is a failure of the run (exit status 1), not a timing: figures are
reported, never asserted. Server CPU from ``/proc/<pid>/stat`` over each phase; the counter is
read every second for the peak rate.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import os
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import seed
from bench.plan import Run, summary_ms
from bench.pool import Pool
from bench.server import TidingsServer

COUNTER = "tidings_presence_events_total"
TICK_S = 1.0
"""The presence tracker's pass period (``PresenceConfig.tick_seconds``)."""

Frames = dict[tuple[int, int, str], int]
"""(stream's user, user announced, status) -> frames received."""


def friends_of(user: int, users: int, friends: int) -> list[int]:
    """User ``user``'s friends among users ``1..users``: the ``friends / 2`` after and before."""
    half = friends // 2
    return [(user - 1 + d) % users + 1 for d in range(-half, half + 1) if d]


def _seed_friends(db_path: Any, users: int, friends: int) -> None:
    db = sqlite3.connect(db_path, timeout=30)
    try:
        with db:
            db.executemany(
                "INSERT INTO friendship (user_id, friend_id, created_at)"
                " VALUES (?, ?, datetime('now'))",
                [(u, f) for u in range(1, users + 1) for f in friends_of(u, users, friends)],
            )
    finally:
        db.close()


async def _seed_postgres(url: str, users: int, friends: int) -> dict[int, str]:
    """The same users, sessions and friendships on PostgreSQL (asyncpg); their tokens."""
    import asyncpg

    tokens = {u: secrets.token_urlsafe(24) for u in range(1, users + 1)}
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with connection.transaction():
            await connection.executemany(
                'INSERT INTO "user" (id, username, display_name, password_hash, created_at)'
                " VALUES ($1, $2, $3, $4, now())",
                [
                    (
                        u,
                        f"bench{u}",
                        f"Bench user {u}",
                        seed.PASSWORD_HASH,
                    )
                    for u in tokens
                ],
            )
            await connection.executemany(
                "INSERT INTO auth_session (token_hash, user_id, created_at, expires_at)"
                " VALUES ($1, $2, now(), now() + interval '7 days')",
                [(hashlib.sha256(t.encode()).hexdigest(), u) for u, t in tokens.items()],
            )
            await connection.executemany(
                "INSERT INTO friendship (user_id, friend_id, created_at) VALUES ($1, $2, now())",
                [(u, f) for u in tokens for f in friends_of(u, users, friends)],
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return tokens


def _spread(users: int, count: int, offset: int) -> list[int]:
    """``count`` users evenly spread over ``1..users``."""
    return sorted({(k * users // count + offset) % users + 1 for k in range(count)})


class PresenceBench:
    def __init__(self, run: Run, postgres: str | None = None, redis: str | None = None) -> None:
        self.run = run
        plan = run.plan
        self.n = plan.presence_users
        self.per_user = plan.presence_streams_per_user
        self.f = plan.presence_friends
        self.grace = plan.presence_grace_s
        self.postgres = postgres
        env = {"PRESENCE_GRACE_SECONDS": str(self.grace), "PRESENCE_AWAY_SECONDS": "3600"}
        if postgres and redis:
            env |= {
                "DATABASE_URL": postgres,
                "REDIS_URL": redis,
                "REDIS_PREFIX": f"bench-presence-{os.getpid()}",
            }
            nodes = plan.presence_processes
            self.backend = f"PostgreSQL + Redis, {nodes} server processes"
        else:
            nodes = 1
            self.backend = "SQLite, one server process (memory hub and presence store)"
        self.servers = [
            TidingsServer(run.raw / f"presence{k}", run.server_core, extra_env=env)
            for k in range(nodes)
        ]
        streams = self.n * self.per_user
        self.gen_count = max(2, math.ceil(streams / plan.streams_per_gen))
        self.tokens: dict[int, str] = {}
        self.samples: list[tuple[float, float, float]] = []
        """(monotonic time, counter, server CPU seconds), every second."""
        self.phases: dict[str, dict[str, Any]] = {}
        self.failures: list[str] = []

    def gen_of(self, user: int) -> int:
        return user % self.gen_count

    async def execute(self) -> dict[str, Any]:
        run = self.run
        run.say(
            f"presence: {self.n:,} users x {self.per_user} streams, {self.f} friends each, "
            f"grace {self.grace:g} s, {self.gen_count} load generators"
        )
        run.say(f"presence: {self.backend}")
        try:
            if self.postgres:
                from bench.write_cost import reset_postgres

                await reset_postgres(self.postgres)
            for server in self.servers:  # one at a time: the first migrates the database
                await server.start()
            run.code_states.append(self.servers[0].code)
            t0 = time.monotonic()
            if self.postgres:
                self.tokens = await _seed_postgres(self.postgres, self.n, self.f)
            else:
                self.tokens = await asyncio.to_thread(self._seed)
            run.say(f"presence: seeded in {time.monotonic() - t0:.1f}s (direct SQL inserts)")
            self.rss0 = self._rss()
            async with Pool(self.gen_count, run.load_core) as pool:
                self.pool = pool
                sampler = asyncio.create_task(self._sample())
                try:
                    await self._connect()
                    await self._churn()
                    leavers = _spread(self.n, self.run.plan.presence_leavers, 2)
                    await self._leave(leavers)
                    await self._return(leavers)
                finally:
                    sampler.cancel()
        finally:
            for server in self.servers:
                server.stop()
        return {
            "backend": self.backend,
            "processes": len(self.servers),
            "users": self.n,
            "streams_per_user": self.per_user,
            "friends": self.f,
            "grace_s": self.grace,
            "generators": self.gen_count,
            "rss0": self.rss0,
            "phases": self.phases,
            "failures": self.failures,
        }

    def _seed(self) -> dict[int, str]:
        db_path = self.servers[0].db_path
        seeded = seed.seed(db_path, self.n, [], [])
        _seed_friends(db_path, self.n, self.f)
        return seeded.tokens

    # -- measuring -----------------------------------------------------------------------------

    async def _counter(self) -> float:
        """Presence events sent, by every server process."""
        replies = await asyncio.gather(*(server.metrics() for server in self.servers))
        return sum(m.get(COUNTER, 0.0) for m in replies)

    def _cpu(self) -> float:
        return sum(server.cpu() for server in self.servers)

    def _rss(self) -> int:
        return sum(server.rss() for server in self.servers)

    def port_of(self, user: int, stream: int) -> int:
        """The server process a user's stream goes to: a user's streams spread over them."""
        return self.servers[(user + stream) % len(self.servers)].port

    async def _sample(self) -> None:
        while True:
            self.samples.append((time.monotonic(), await self._counter(), self._cpu()))
            await asyncio.sleep(1.0)

    async def _frames(self) -> Frames:
        """The frames received since the last call (the count starts again)."""
        frames: Frames = {}
        for reply in await self.pool.all("presence"):
            for r, s, status, n in reply["frames"]:
                frames[(r, s, status)] = frames.get((r, s, status), 0) + n
        return frames

    async def _held(self) -> dict[int, int]:
        held: dict[int, int] = {}
        for reply in await self.pool.all("held_by_user"):
            held.update({int(u): n for u, n in reply["held"].items()})
        return held

    async def _until_counter(self, target: float, timeout: float) -> float:
        """Wait until the counter reaches ``target``; when it did (monotonic), or now."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self._counter() >= target:
                return time.monotonic()
            await asyncio.sleep(0.1)
        return time.monotonic()

    async def _phase(
        self, name: str, body: Callable[[float], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Run ``body(counter before)``; it returns its figures with ``busy_s``: the time it
        spent doing what is measured (until its last expected event), and ``settle_s``: the
        time it then waited for unexpected ones. Adds the counter's and the CPU's deltas."""
        await self._frames()  # drop anything before
        m0, cpu0, t0 = await self._counter(), self._cpu(), time.monotonic()
        out = await body(m0)
        m1, cpu1, t1 = await self._counter(), self._cpu(), time.monotonic()
        busy = out.get("busy_s", t1 - t0)
        peak = 0.0
        window = [s for s in self.samples if t0 <= s[0] <= t1]
        for (ta, ma, _), (tb, mb, _) in itertools.pairwise(window):
            peak = max(peak, (mb - ma) / max(1e-9, tb - ta))
        out.update(
            events=int(m1 - m0),
            events_per_s=(m1 - m0) / max(1e-9, busy),
            peak_events_per_s=peak,
            elapsed_s=t1 - t0,
            busy_s=busy,
            cpu_s=cpu1 - cpu0,
            cpu_pct=(cpu1 - cpu0) / (t1 - t0) * 100,
            rss=self._rss(),
        )
        self.phases[name] = out
        self.run.say(
            f"presence {name}: {out['events']:,} events ({out['events_per_s']:,.0f}/s over "
            f"{busy:.1f}s, peak {peak:,.0f}/s), {out.get('frames', 0):,} frames, server CPU "
            f"{out['cpu_s']:.2f}s ({out['cpu_pct']:.0f}% of a core over {t1 - t0:.1f}s), "
            f"RSS {out['rss'] / 2**20:.0f} MiB"
        )
        return out

    def _fail(self, phase: str, what: str) -> None:
        self.failures.append(f"presence {phase}: {what}")
        self.run.say(f"presence {phase}: FAILED: {what}")

    def _settle_s(self) -> float:
        """Long enough for a wrongly released hold to expire and be announced."""
        return self.grace + 2 * TICK_S

    # -- phases --------------------------------------------------------------------------------

    async def _open(self, users: list[int]) -> dict[str, Any]:
        """Open each user's streams, spread over the server processes."""
        parts: dict[tuple[int, int], list[list[Any]]] = {}
        for u in users:
            for k in range(self.per_user):
                parts.setdefault((self.gen_of(u), self.port_of(u, k)), []).append(
                    [u, self.tokens[u]]
                )
        t0 = time.monotonic()
        replies = await asyncio.gather(
            *(
                self.pool.gens[gen].call(
                    "open",
                    timeout=600,
                    host=self.servers[0].host,
                    port=port,
                    src=self.pool.gens[gen].src,
                    concurrency=max(1, 100 // len(self.servers)),
                    timeout_s=300,
                    users=part,
                )
                for (gen, port), part in parts.items()
            )
        )
        return {
            "opened": sum(r["opened"] for r in replies),
            "failed": sum(r["failed"] for r in replies),
            "errors": [e for r in replies for e in r["errors"]][:5],
            "open_s": time.monotonic() - t0,
            "open_ms": summary_ms([int(x * 1e6) for r in replies for x in r["open_ms"]]),
        }

    async def _connect(self) -> None:
        expected = self.n * self.f

        async def body(m0: float) -> dict[str, Any]:
            t0 = time.monotonic()
            opened = await self._open(list(range(1, self.n + 1)))
            done = await self._until_counter(m0 + expected, 60 + self._settle_s())
            await asyncio.sleep(TICK_S)
            frames = await self._frames()
            if opened["failed"]:
                self._fail("connect", f"{opened['failed']} streams failed: {opened['errors']}")
            odd = [k for k in frames if k[2] != "online" or k[1] not in self._friends(k[0])]
            if odd:
                self._fail("connect", f"frames other than a friend online: {odd[:5]}")
            return {
                **opened,
                "expected_events": expected,
                "frames": sum(frames.values()),
                "max_frames": expected * self.per_user,
                "streams_per_s": opened["opened"] / max(1e-9, opened["open_s"]),
                "busy_s": done - t0,
            }

        out = await self._phase("connect", body)
        if out["events"] != expected:
            self._fail("connect", f"{out['events']} events counted, expected {expected}")

    def _friends(self, user: int) -> set[int]:
        return set(friends_of(user, self.n, self.f))

    async def _churn(self) -> None:
        plan = self.run.plan
        flaps = _spread(self.n, plan.presence_flaps, 0)
        per_gen = max(1, plan.presence_churn_concurrency // self.gen_count)

        async def body(m0: float) -> dict[str, Any]:
            t0 = time.monotonic()
            replies = await asyncio.gather(
                *(
                    g.call(
                        "churn",
                        timeout=plan.presence_churn_s + 120,
                        host=self.servers[0].host,
                        src=g.src,
                        duration_s=plan.presence_churn_s,
                        concurrency=per_gen,
                        seed=k,
                        tokens={str(u): t for u, t in self.tokens.items() if self.gen_of(u) == k},
                        flap_uids=[u for u in flaps if self.gen_of(u) == k],
                    )
                    for k, g in enumerate(self.pool.gens)
                )
            )
            churn_s = max(r["elapsed_s"] for r in replies)
            busy = time.monotonic() - t0
            await asyncio.sleep(self._settle_s())
            frames = await self._frames()
            cycles = sum(r["cycles"] for r in replies)
            gaps = {int(u): ms for r in replies for u, ms in r["flap_gaps"]}
            # A flap that took nearly the grace period may rightly be seen (the server notices
            # a close after the client made it): such users are left out of the check.
            slow = {u for u, ms in gaps.items() if ms >= (self.grace - TICK_S) * 1000}
            reopened = cycles + self.per_user * len(gaps)
            errors = sum(r["errors"] for r in replies)
            held = await self._held()
            short = {u: held.get(u, 0) for u in range(1, self.n + 1) if held.get(u, 0) == 0}
            if errors:
                texts = [t for r in replies for t in r["error_texts"]][:5]
                self._fail("churn", f"{errors} reopens failed: {texts}")
            if short:
                self._fail("churn", f"users left with no stream: {sorted(short)[:10]}")
            wrong = {k: n for k, n in frames.items() if k[1] not in slow}
            if wrong:
                self._fail("churn", f"{sum(wrong.values())} frames, expected 0: {_first(wrong)}")
            return {
                "churn_s": churn_s,
                "cycles": cycles,
                "flaps": len(gaps),
                "flap_gap_ms": summary_ms([int(g * 1e6) for g in gaps.values()]),
                "slow_flaps": len(slow),
                "frames_of_slow_flaps": sum(frames.values()) - sum(wrong.values()),
                "reopen_ms": summary_ms([int(x * 1e6) for r in replies for x in r["open_ms"]]),
                "streams_per_s": reopened / churn_s,
                "errors": errors,
                "streams_held": sum(held.values()),
                "frames": sum(frames.values()),
                "expected_events": 0,
                "busy_s": busy,
            }

        out = await self._phase("churn", body)
        allowed = 2 * self.f * out["slow_flaps"]  # offline, then online, to each friend
        if out["events"] > allowed:
            self._fail("churn", f"{out['events']} events counted, expected {allowed or 0}")

    async def _leave(self, leavers: list[int]) -> None:
        held = await self._held()
        gone = set(leavers)
        expected: Frames = {}
        for s in leavers:
            for r in friends_of(s, self.n, self.f):
                if r not in gone and held.get(r):
                    expected[(r, s, "offline")] = held[r]
        count = len(leavers) * self.f

        async def body(m0: float) -> dict[str, Any]:
            t0 = time.monotonic()
            closed = await self.pool.all("close_users", uids=[u for u in leavers if u in held])
            done = await self._until_counter(m0 + count, self._settle_s() + 60)
            await asyncio.sleep(TICK_S)
            frames = await self._frames()
            self._compare("leave", frames, expected)
            return {
                "leavers": len(leavers),
                "closed": sum(r["closed"] for r in closed),
                "expected_events": count,
                "frames": sum(frames.values()),
                "expected_frames": sum(expected.values()),
                "busy_s": done - t0,
                "after_grace_s": done - t0 - self.grace,
            }

        out = await self._phase("leave", body)
        if out["events"] != count:
            self._fail("leave", f"{out['events']} events counted, expected {count}")

    async def _return(self, leavers: list[int]) -> None:
        held = await self._held()
        back = set(leavers)
        expected: Frames = {}
        for s in leavers:
            for r in friends_of(s, self.n, self.f):
                if r not in back:
                    expected[(r, s, "online")] = held.get(r, 0)
        count = len(leavers) * self.f

        async def body(m0: float) -> dict[str, Any]:
            t0 = time.monotonic()
            opened = await self._open(leavers)
            done = await self._until_counter(m0 + count, self._settle_s() + 60)
            await asyncio.sleep(TICK_S)
            frames = await self._frames()
            among = {k: n for k, n in frames.items() if k[0] in back}
            odd = [k for k in among if k[1] not in back or k[2] != "online"]
            if odd:
                self._fail("return", f"a returning user heard of others than returning: {odd}")
            self._compare("return", {k: n for k, n in frames.items() if k[0] not in back}, expected)
            return {
                "returning": len(leavers),
                "opened": opened["opened"],
                "expected_events": count,
                "frames": sum(frames.values()),
                "expected_frames": sum(expected.values()),
                "frames_among_returning": sum(among.values()),
                "busy_s": done - t0,
            }

        out = await self._phase("return", body)
        if out["events"] != count:
            self._fail("return", f"{out['events']} events counted, expected {count}")

    def _compare(self, phase: str, frames: Frames, expected: Frames) -> None:
        missing = {k: n - frames.get(k, 0) for k, n in expected.items() if frames.get(k, 0) < n}
        extra = {k: n - expected.get(k, 0) for k, n in frames.items() if n > expected.get(k, 0)}
        if missing:
            self._fail(
                phase,
                f"{sum(missing.values())} frames missing of {sum(expected.values())} "
                f"(stream's user, user, status: frames): {_first(missing)}",
            )
        if extra:
            self._fail(phase, f"{sum(extra.values())} frames not expected: {_first(extra)}")


def _first(frames: Frames, count: int = 5) -> str:
    return ", ".join(
        f"{r}<-{s} {status} x{n}" for (r, s, status), n in list(frames.items())[:count]
    )


async def scenario(run: Run) -> None:
    """``python -m bench presence``: the plan's sizes on SQLite, and on PostgreSQL + Redis with
    several server processes when ``TIDINGS_BENCH_POSTGRES_URL`` (a database it may empty) and
    ``TIDINGS_BENCH_REDIS_URL`` are set; a failed check fails the run."""
    runs = [await PresenceBench(run).execute()]
    postgres = os.environ.get("TIDINGS_BENCH_POSTGRES_URL")
    redis = os.environ.get("TIDINGS_BENCH_REDIS_URL")
    if postgres and redis:
        runs.append(await PresenceBench(run, postgres, redis).execute())
    run.results["presence"] = {"runs": runs}
    for result in runs:
        run.failures += [f"{result['backend']}: {f}" for f in result["failures"]]
    (run.out / "presence.md").write_text("\n".join(report_lines(run.results)) + "\n")


def report_lines(r: dict[str, Any]) -> list[str]:
    """The report's section (bench/report.py), also written to ``presence.md``."""
    runs = r["presence"]["runs"]
    d = runs[0]
    lines = [
        "## 8. Presence under churn",
        "",
        f"{d['users']:,} users with {d['streams_per_user']} streams each "
        f"({d['users'] * d['streams_per_user']:,} streams, {d['generators']} load generators), "
        f"{d['friends']} friends each (user i and the {d['friends'] // 2} after it, mod "
        f"{d['users']:,}, both ways), grace period {d['grace_s']:g} s (away after an hour: no "
        "one turns away during the run). *Events* is the servers' `tidings_presence_events` "
        "(one per addressee of a change, with or without a stream), *frames* the `presence` "
        "frames the streams received. Events/s over the phase's busy time (until its last "
        "expected event; the leave phase's includes the grace period); peak: the highest "
        "one-second rate. Server CPU from /proc (all server processes; not PostgreSQL's or "
        "Redis's) over the whole phase, including the wait for unexpected events (grace + 2 s "
        "after churn). The checks are described in `bench/presence.py`; one that fails makes "
        "`python -m bench` exit 1.",
        "",
    ]
    for d in runs:
        lines += _run_lines(d)
    if not any(d["processes"] > 1 for d in runs):
        lines += [
            "PostgreSQL + Redis: not run (set `TIDINGS_BENCH_POSTGRES_URL` and "
            "`TIDINGS_BENCH_REDIS_URL`).",
            "",
        ]
    return lines


def _run_lines(d: dict[str, Any]) -> list[str]:
    p = d["phases"]
    lines = [
        f"**{d['backend']}**: server RSS before any stream {d['rss0'] / 2**20:.0f} MiB"
        + (", a user's streams spread over the processes." if d["processes"] > 1 else "."),
        "",
        "| phase | what happens | events (expected) | events/s (peak) | frames (expected) "
        "| streams/s | server CPU | RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def row(name: str, what: str, frames_expected: str, streams: str) -> None:
        x = p.get(name)
        if x is None:
            return
        lines.append(
            f"| {name} | {what} | {x['events']:,} ({x['expected_events']:,}) | "
            f"{x['events_per_s']:,.0f} ({x['peak_events_per_s']:,.0f}) | "
            f"{x['frames']:,} ({frames_expected}) | {streams} | "
            f"{x['cpu_s']:.2f} s, {x['cpu_pct']:.0f} % of a core over {x['elapsed_s']:.1f} s | "
            f"{x['rss'] / 2**20:.0f} MiB |"
        )

    if "connect" in p:
        c = p["connect"]
        row(
            "connect",
            f"{c['opened']:,} streams open ({c['failed']} failed), open p50 "
            f"{c['open_ms']['p50']:.0f} ms",
            f"≤ {c['max_frames']:,}",
            f"{c['streams_per_s']:,.0f} opened",
        )
    if "churn" in p:
        c = p["churn"]
        row(
            "churn",
            f"{c['churn_s']:.0f} s: {c['cycles']:,} streams closed and reopened (others of the "
            f"user open), {c['flaps']} users closed all theirs and reopened (gap p50 "
            f"{c['flap_gap_ms']['p50']:.0f} ms, max {c['flap_gap_ms']['max']:.0f} ms"
            + (
                f"; {c['slow_flaps']} took over grace - 1 s and are not checked: "
                f"{c['frames_of_slow_flaps']} frames of theirs"
                if c.get("slow_flaps")
                else ""
            )
            + ")",
            "0",
            f"{c['streams_per_s']:,.0f} closed + {c['streams_per_s']:,.0f} opened",
        )
    if "leave" in p:
        c = p["leave"]
        row(
            "leave",
            f"{c['leavers']} users close all their streams ({c['closed']:,}); the last event "
            f"{c['after_grace_s']:.1f} s after the grace period",
            f"{c['expected_frames']:,}",
            "-",
        )
    if "return" in p:
        c = p["return"]
        row(
            "return",
            f"they open them again ({c['opened']:,}); frames among them: "
            f"{c['frames_among_returning']:,} (not compared)",
            f"{c['expected_frames']:,} + those among them",
            "-",
        )
    lines.append("")
    if d["failures"]:
        lines += ["**Checks that failed:**", "", *(f"- {f}" for f in d["failures"]), ""]
    else:
        lines += [
            "Checks held: each user announced online once to each friend on connect; no event "
            "and no frame during the churn and the flaps; exactly one offline (then online) "
            "event per friend of each leaver, a frame on each of their friends' streams, "
            "nothing about anyone else.",
            "",
        ]
    return lines
