"""A load-generator process: holds SSE streams and sends requests, told what to do on stdin.

The controller (``bench.pool``) starts several of these pinned to the load core. Each reads JSON
commands, one a line, runs each as its own task, and answers with one JSON line carrying the
command's ``id``. Every command is bounded in count and time; the process exits when stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench.client import ANY_PROBE, HttpConn, SSEStream, StreamStats, probe_content, stream_request

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def _send_message(conn: HttpConn, cookie: str, conv: int, content: str) -> int:
    """POST one message, with a client id as the web client sends; the HTTP status, or 0 if the
    connection failed (and was closed)."""
    body = json.dumps({"content": content, "client_id": uuid.uuid4().hex}).encode()
    try:
        status, _ = await conn.request(
            "POST", f"/api/conversations/{conv}/messages", cookie=cookie, body=body
        )
    except (OSError, ConnectionError, asyncio.IncompleteReadError):
        conn.close()
        return 0
    return status


class Worker:
    def __init__(self) -> None:
        self.stats = StreamStats()
        self.streams: list[SSEStream] = []
        self.out_lock = asyncio.Lock()

    # -- streams -------------------------------------------------------------------------------

    async def cmd_open(self, c: dict[str, Any]) -> dict[str, Any]:
        """Open one stream per (user_id, token), at most ``concurrency`` connecting at once."""
        loop = asyncio.get_running_loop()
        host, port, src = c["host"], c["port"], c.get("src")
        path, cookie_name = c.get("path", "/api/events"), c.get("cookie_name", "tidings_session")
        timeout = float(c.get("timeout_s", 60))
        sem = asyncio.Semaphore(int(c.get("concurrency", 200)))
        errors: list[str] = []
        failed: list[int] = []
        opened = 0
        start = time.monotonic()
        open_ms: list[float] = []

        async def one(uid: int, token: str | None) -> None:
            nonlocal opened
            async with sem:
                t0 = time.monotonic()
                req = stream_request(f"{host}:{port}", path.format(uid=uid), token, cookie_name)
                proto: SSEStream | None = None
                try:
                    _, proto = await loop.create_connection(
                        lambda: SSEStream(req, uid, self.stats),
                        host,
                        port,
                        local_addr=(src, 0) if src else None,
                    )
                    await asyncio.wait_for(proto.opened, max(1.0, timeout))
                    self.streams.append(proto)
                    opened += 1
                    open_ms.append((time.monotonic() - t0) * 1000)
                except (OSError, TimeoutError, ConnectionError) as exc:
                    if proto is not None:
                        proto.close()
                    failed.append(uid)
                    if len(errors) < 5:
                        errors.append(f"{type(exc).__name__}: {exc}")

        tasks = [asyncio.ensure_future(one(uid, tok)) for uid, tok in c["users"]]
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        return {
            "opened": opened,
            "failed": len(c["users"]) - opened,
            "elapsed_s": time.monotonic() - start,
            "open_ms": open_ms,
            "errors": errors,
            "failed_uids": failed,
        }

    async def cmd_close(self, c: dict[str, Any]) -> dict[str, Any]:
        count = int(c.get("count", len(self.streams)))
        victims = self.streams[len(self.streams) - count :] if count else []
        self.streams = self.streams[: len(self.streams) - len(victims)]
        for s in victims:
            s.close()
        await asyncio.sleep(0.05)
        return {"closed": len(victims), "held": len(self.streams)}

    async def cmd_close_above(self, c: dict[str, Any]) -> dict[str, Any]:
        """Close the streams of users with an id above ``uid``."""
        keep = [s for s in self.streams if s.user_id <= int(c["uid"])]
        victims = [s for s in self.streams if s.user_id > int(c["uid"])]
        self.streams = keep
        for s in victims:
            s.close()
        await asyncio.sleep(0.05)
        return {"closed": len(victims), "held": len(keep)}

    async def cmd_stats(self, c: dict[str, Any]) -> dict[str, Any]:
        s = self.stats
        return {
            "held": sum(1 for x in self.streams if not x.closed),
            "lost": sum(1 for x in self.streams if x.closed),
            "bytes_in": s.bytes_in,
            "heartbeats": s.heartbeats,
            "frames": s.frames,
            "message_frames": s.message_frames,
        }

    # -- presence (bench.presence) -------------------------------------------------------------

    async def _stream(self, c: dict[str, Any], uid: int, token: str, port: int) -> SSEStream:
        """One more stream of ``uid`` to ``port`` (the command's host and src), opened."""
        loop = asyncio.get_running_loop()
        req = stream_request(f"{c['host']}:{port}", "/api/events", token, "tidings_session")
        src = c.get("src")
        _, proto = await loop.create_connection(
            lambda: SSEStream(req, uid, self.stats),
            c["host"],
            port,
            local_addr=(src, 0) if src else None,
        )
        try:
            await asyncio.wait_for(proto.opened, 30)
        except BaseException:
            proto.close()
            raise
        return proto

    def _by_user(self) -> dict[int, list[SSEStream]]:
        by_user: dict[int, list[SSEStream]] = {}
        for s in self.streams:
            if not s.closed:
                by_user.setdefault(s.user_id, []).append(s)
        return by_user

    async def cmd_held_by_user(self, c: dict[str, Any]) -> dict[str, Any]:
        """How many open streams each user has here."""
        return {"held": {str(u): len(ss) for u, ss in self._by_user().items()}}

    async def cmd_presence(self, c: dict[str, Any]) -> dict[str, Any]:
        """The ``presence`` frames received since the last call, as ``[stream's user, user
        announced, status, frames]``; the count starts again from zero."""
        got, self.stats.presence = self.stats.presence, {}
        return {"frames": [[r, s, status, n] for (r, s, status), n in got.items()]}

    async def cmd_close_users(self, c: dict[str, Any]) -> dict[str, Any]:
        """Close every stream of these users."""
        leaving = {int(u) for u in c["uids"]}
        victims = [s for s in self.streams if s.user_id in leaving]
        self.streams = [s for s in self.streams if s.user_id not in leaving]
        for s in victims:
            s.close()
        await asyncio.sleep(0.05)
        return {"closed": len(victims), "held": len(self.streams)}

    async def cmd_churn(self, c: dict[str, Any]) -> dict[str, Any]:
        """For ``duration_s``: ``concurrency`` loops each close one stream of a user with more
        than one and open it again (the user never has none); meanwhile each of ``flap_uids``
        in turn, spread over the period, closes all its streams and opens as many again at
        once, each stream to the server it was on. ``tokens``: {uid: session cookie value};
        ``flap_gaps``: [uid, ms from the first close to the last reopen]."""
        rng = random.Random(int(c.get("seed", 1)))
        tokens = {int(u): t for u, t in c["tokens"].items()}
        flap_uids = [int(u) for u in c.get("flap_uids", ())]
        duration = float(c["duration_s"])
        by_user = self._by_user()
        churned = [u for u, ss in by_user.items() if len(ss) >= 2 and u not in set(flap_uids)]
        busy: set[int] = set()
        cycles = errors = 0
        open_ms: list[float] = []
        flap_gaps: list[list[float]] = []
        error_texts: list[str] = []
        start = time.monotonic()
        stop_at = start + duration

        def port_of(stream: SSEStream) -> int:
            assert stream.transport is not None
            return int(stream.transport.get_extra_info("peername")[1])

        async def reopen(uid: int, port: int) -> None:
            nonlocal errors
            t0 = time.monotonic()
            try:
                by_user[uid].append(await self._stream(c, uid, tokens[uid], port))
                open_ms.append((time.monotonic() - t0) * 1000)
            except (OSError, TimeoutError, ConnectionError) as exc:
                errors += 1
                if len(error_texts) < 5:
                    error_texts.append(f"{type(exc).__name__}: {exc}")

        async def churner() -> None:
            nonlocal cycles
            while churned and time.monotonic() < stop_at:
                uid = rng.choice(churned)
                if uid in busy:
                    await asyncio.sleep(0)
                    continue
                busy.add(uid)
                streams = by_user[uid]
                victim = streams.pop(rng.randrange(len(streams)))
                port = port_of(victim)
                victim.close()
                await reopen(uid, port)
                cycles += 1
                busy.discard(uid)

        async def flapper() -> None:
            every = duration / max(1, len(flap_uids))
            for k, uid in enumerate(flap_uids):
                await asyncio.sleep(max(0.0, start + k * every - time.monotonic()))
                streams, by_user[uid] = by_user.get(uid, []), []
                t0 = time.monotonic()
                ports = [port_of(s) for s in streams]
                for s in streams:
                    s.close()
                await asyncio.gather(*(reopen(uid, port) for port in ports))
                flap_gaps.append([uid, (time.monotonic() - t0) * 1000])

        await asyncio.gather(flapper(), *(churner() for _ in range(int(c["concurrency"]))))
        self.streams = [s for ss in by_user.values() for s in ss]
        return {
            "cycles": cycles,
            "errors": errors,
            "error_texts": error_texts,
            "elapsed_s": time.monotonic() - start,
            "open_ms": open_ms,
            "flap_gaps": flap_gaps,
        }

    async def cmd_arrivals(self, c: dict[str, Any]) -> dict[str, Any]:
        arrivals, self.stats.arrivals = self.stats.arrivals, []
        return {"arrivals": [[a.msg_id, a.user_id, a.sched_ns, a.arrival_ns] for a in arrivals]}

    # -- requests ------------------------------------------------------------------------------

    async def cmd_send(self, c: dict[str, Any]) -> dict[str, Any]:
        """Open loop: POST each message at its scheduled time, whatever happened to the others.

        Items are ``[offset_ns, cookie, conversation_id, msg_id]``; the probe carries the
        *scheduled* time, so a backed-up server shows up as latency (no coordinated omission).
        """
        host, port, src = c["host"], c["port"], c.get("src")
        start_ns = int(c["start_ns"])
        deadline = time.monotonic() + float(c.get("deadline_s", 60))
        idle: list[HttpConn] = []
        sem = asyncio.Semaphore(int(c.get("max_conns", 64)))
        results: list[list[int]] = []
        tasks: list[asyncio.Task[None]] = []

        async def post(offset: int, cookie: str, conv: int, msg_id: int) -> None:
            sched = start_ns + offset
            async with sem:
                conn = idle.pop() if idle else HttpConn(host, port, src)
                status = await _send_message(conn, cookie, conv, probe_content(msg_id, sched))
                results.append([msg_id, sched, status, time.monotonic_ns()])
                idle.append(conn)

        for offset, cookie, conv, msg_id in c["items"]:
            delay = (start_ns + offset - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            if time.monotonic() > deadline:
                break
            tasks.append(asyncio.ensure_future(post(offset, cookie, conv, msg_id)))
        if tasks:
            await asyncio.wait(tasks, timeout=max(0.1, deadline - time.monotonic()))
        for t in tasks:
            t.cancel()
        for conn in idle:
            conn.close()
        return {"results": results, "scheduled": len(c["items"]), "dispatched": len(tasks)}

    async def cmd_hammer(self, c: dict[str, Any]) -> dict[str, Any]:
        """Closed loop: ``clients`` connections POST back to back for ``duration_s``, as the
        ``items`` in turn (or each item once, then stop: ``each_once``)."""
        host, port = c["host"], c["port"]
        items = c["items"]
        duration = float(c["duration_s"])
        lat_us: list[int] = []
        errors = 0
        counter = 0
        stop_at = time.monotonic() + duration

        each_once = bool(c.get("each_once"))
        dealt = iter(items)

        async def client(k: int) -> None:
            nonlocal errors, counter
            conn = HttpConn(host, port, c.get("src"))
            i = k
            while time.monotonic() < stop_at:
                if each_once:  # every item once, across the clients; then stop
                    item = next(dealt, None)
                    if item is None:
                        break
                    cookie, conv = item
                else:
                    cookie, conv = items[i % len(items)]
                    i += int(c["clients"])
                counter += 1
                t0 = time.monotonic_ns()
                status = await _send_message(conn, cookie, conv, f"w{counter}")
                if status == 201:
                    lat_us.append((time.monotonic_ns() - t0) // 1000)
                else:
                    errors += 1
            conn.close()

        t0 = time.monotonic()
        await asyncio.wait_for(
            asyncio.gather(*(client(k) for k in range(int(c["clients"])))), duration + 30
        )
        return {
            "ok": len(lat_us),
            "errors": errors,
            "elapsed_s": time.monotonic() - t0,
            "lat_us": lat_us,
        }

    async def cmd_poll(self, c: dict[str, Any]) -> dict[str, Any]:
        """The old client: each user polls its endpoints on fixed intervals for ``duration_s``.

        Every response is scanned for latency probes; the first time a user sees a probe is
        when that message reached the user's screen.
        """
        host, port = c["host"], c["port"]
        duration = float(c["duration_s"])
        stop_at = time.monotonic() + duration
        seen: dict[tuple[int, int], int] = {}
        requests = 0
        bytes_in = 0
        statuses: dict[int, int] = {}

        async def loop_one(uid: int, cookie: str, path: str, every: float, phase: float) -> None:
            nonlocal requests, bytes_in
            conn = HttpConn(host, port, c.get("src"))
            await asyncio.sleep(min(phase, max(0.0, stop_at - time.monotonic())))
            next_at = time.monotonic()
            if next_at >= stop_at:
                return
            while time.monotonic() < stop_at:
                status, body = await conn.request("GET", path, cookie=cookie)
                now = time.monotonic_ns()
                requests += 1
                statuses[status] = statuses.get(status, 0) + 1
                for m in ANY_PROBE.finditer(body):
                    key = (int(m.group(1)), uid)
                    if key not in seen:
                        seen[key] = now
                next_at += every
                if next_at >= stop_at:
                    break
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            conn.close()
            bytes_in += conn.bytes_in

        jobs = []
        for k, (uid, cookie, paths) in enumerate(c["users"]):
            for path, every in paths:
                phase = (k * 0.6180339887 % 1.0) * every  # spread users over the interval
                jobs.append(loop_one(uid, cookie, path, every, phase))
        await asyncio.wait_for(asyncio.gather(*jobs), duration + 30)
        return {
            "requests": requests,
            "bytes_in": bytes_in,
            "statuses": statuses,
            "seen": [[msg, uid, ns] for (msg, uid), ns in seen.items()],
        }

    async def cmd_fetch(self, c: dict[str, Any]) -> dict[str, Any]:
        """Each user GETs its paths once (the push client's initial load)."""
        host, port = c["host"], c["port"]
        requests = 0
        bytes_in = 0

        async def one(cookie: str, paths: list[str]) -> None:
            nonlocal requests, bytes_in
            conn = HttpConn(host, port, c.get("src"))
            for path in paths:
                await conn.request("GET", path, cookie=cookie)
                requests += 1
            conn.close()
            bytes_in += conn.bytes_in

        await asyncio.wait_for(asyncio.gather(*(one(ck, p) for ck, p in c["users"])), 60)
        return {"requests": requests, "bytes_in": bytes_in}

    # -- plumbing ------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 30)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        tasks: set[asyncio.Task[None]] = set()
        while line := await reader.readline():
            command = json.loads(line)
            task = asyncio.ensure_future(self._handle(command))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if command["cmd"] == "quit":
                break
        for s in self.streams:
            s.close()
        for task in tasks:
            task.cancel()

    async def _handle(self, command: dict[str, Any]) -> None:
        name = command["cmd"]
        if name == "quit":
            return
        handler: Handler = getattr(self, f"cmd_{name}")
        try:
            reply = await handler(command)
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        reply["id"] = command["id"]
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cpu = os.environ.get("BENCH_CPU")
    if cpu:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {int(cpu)})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(Worker().run())


if __name__ == "__main__":
    main()
