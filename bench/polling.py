"""Scenario 1: the seed's polling-vs-push table, measured.

Same users, same traffic, two fresh servers. Polling mode replays the old client's intervals
against the REST API; push mode holds one stream per user and fetches once. The server counts
its requests and SQL statements (``/metrics``), /proc gives its CPU time, the clients count the
bytes they receive. A message is *seen* when the recipient first holds it: in a poll response
(polling) or in an SSE ``message`` frame (push).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from bench import seed
from bench.plan import Run, summary_ms
from bench.pool import LoadGen
from bench.server import TidingsServer

NOTIFICATIONS_EVERY = 30.0
CONVERSATIONS_EVERY = 3.0
OPEN_CONVERSATION_EVERY = 1.5


async def scenario(run: Run) -> None:
    plan = run.plan
    out: dict[str, Any] = {
        "users": plan.polling_users,
        "period_s": plan.polling_period_s,
        "msgs_per_min": plan.polling_msgs_per_min,
    }
    for mode in ("polling", "push"):
        out[mode] = await _one_mode(run, mode)
    run.results["polling"] = out


def _traffic(
    run: Run, s: seed.Seeded, users: int, partner: dict[int, int]
) -> tuple[list[Any], dict[int, int]]:
    plan = run.plan
    rng = random.Random(5)
    count = max(1, round(plan.polling_msgs_per_min * plan.polling_period_s / 60))
    # Sends stop early enough for the slowest poll (3 s) to see the last one.
    gap = max(1.0, plan.polling_period_s - 4) / count
    items = []
    expected = {}
    for k in range(count):
        sender = rng.randint(1, users)
        recipient = partner[sender]
        msg_id = 10**9 + k
        expected[msg_id] = recipient
        offset = int((k + rng.random() * 0.8 + 0.1) * gap * 1e9)
        items.append([offset, s.cookie(sender), s.dm[(sender, recipient)], msg_id])
    return items, expected


async def _one_mode(run: Run, mode: str) -> dict[str, Any]:
    plan = run.plan
    users = plan.polling_users - plan.polling_users % 2
    server = TidingsServer(run.raw / f"polling-{mode}", run.server_core, heartbeat_seconds=30.0)
    run.say(f"polling vs push: {mode} mode, {users} users for {plan.polling_period_s:.0f}s")
    await server.start()
    run.code_states.append(server.code)
    gen = LoadGen(run.load_core, "127.0.0.2")
    sender = LoadGen(run.load_core, "127.0.0.3")
    try:
        await gen.start()
        await sender.start()
        pairs = [(k, k + 1) for k in range(1, users + 1, 2)]
        s = await asyncio.to_thread(seed.seed, server.db_path, users, pairs, [])
        partner = {a: b for a, b in pairs} | {b: a for a, b in pairs}
        items, expected = _traffic(run, s, users, partner)

        def paths(uid: int) -> list[tuple[str, float]]:
            p = [
                ("/api/notifications", NOTIFICATIONS_EVERY),
                ("/api/conversations", CONVERSATIONS_EVERY),
            ]
            if uid % 2:  # half of the users have their conversation open
                p.append(
                    (
                        f"/api/conversations/{s.dm[(uid, partner[uid])]}/messages",
                        OPEN_CONVERSATION_EVERY,
                    )
                )
            return p

        m0 = await server.metrics()
        cpu0 = server.cpu()
        t0 = time.monotonic()
        stream_opens = 0
        bytes_in = 0
        seen: list[list[int]] = []
        setup: tuple[dict[str, float], float, float] | None = None
        common = {"host": server.host, "port": server.port}
        start_ns = time.monotonic_ns() + 200_000_000
        send = asyncio.create_task(
            sender.call(
                "send",
                timeout=plan.polling_period_s + 90,
                start_ns=start_ns,
                deadline_s=plan.polling_period_s + 30,
                items=items,
                **common,
            )
        )
        if mode == "polling":
            reply = await gen.call(
                "poll",
                timeout=plan.polling_period_s + 60,
                duration_s=plan.polling_period_s,
                users=[[u, s.cookie(u), paths(u)] for u in range(1, users + 1)],
                **common,
            )
            bytes_in = reply["bytes_in"]
            seen = reply["seen"]
        else:
            opened = await gen.call(
                "open",
                users=[[u, s.tokens[u]] for u in range(1, users + 1)],
                src=gen.src,
                **common,
            )
            stream_opens = opened["opened"]
            fetched = await gen.call(
                "fetch",
                users=[[s.cookie(u), [p for p, _ in paths(u)]] for u in range(1, users + 1)],
                **common,
            )
            bytes_in += fetched["bytes_in"]
            setup = (await server.metrics(), server.cpu(), time.monotonic())
            await asyncio.sleep(max(0.0, plan.polling_period_s - (time.monotonic() - t0)))
            stats = await gen.call("stats")
            bytes_in += stats["bytes_in"]
            seen = [[a[0], a[1], a[3]] for a in (await gen.call("arrivals"))["arrivals"]]
        sent = await send
        elapsed = time.monotonic() - t0
        cpu1 = server.cpu()
        m1 = await server.metrics()
    finally:
        await gen.close()
        await sender.close()
        server.stop()

    if setup is None:
        setup = (m0, cpu0, t0)
    steady_min = (t0 + elapsed - setup[2]) / 60
    steady = {
        "minutes": steady_min,
        "requests_per_min": (server.requests_total(m1) - server.requests_total(setup[0]) - 1)
        / steady_min,
        "queries_per_min": (m1["tidings_db_queries"] - setup[0]["tidings_db_queries"]) / steady_min,
        "cpu_s_per_min": (cpu1 - setup[1]) / steady_min,
    }
    sched = {r[0]: r[1] for r in sent["results"] if r[2] == 201}
    lat = []
    for msg_id, uid, seen_ns in seen:
        if expected.get(msg_id) == uid and msg_id in sched:
            lat.append(seen_ns - sched[msg_id])
    minutes = elapsed / 60
    # The /metrics scrape m0 itself is counted in m1: not a client request.
    requests = server.requests_total(m1) - server.requests_total(m0) - 1 + stream_opens
    sends = len(sent["results"])
    result = {
        "elapsed_s": elapsed,
        "requests": requests,
        "requests_per_min": requests / minutes,
        "reads_per_min": (requests - sends) / minutes,
        "sends": sends,
        "accepted": len(sched),
        "queries": m1["tidings_db_queries"] - m0["tidings_db_queries"],
        "queries_per_min": (m1["tidings_db_queries"] - m0["tidings_db_queries"]) / minutes,
        "cpu_s": cpu1 - cpu0,
        "bytes_to_clients": bytes_in,
        "seen": len(lat),
        "unseen": len(sched) - len(lat),
        "latency_ms": summary_ms(lat),
        "lat_ns": lat,
        "steady": steady,
    }
    run.say(
        f"  {mode}: {result['requests_per_min']:.0f} req/min, {result['queries_per_min']:.0f} "
        f"queries/min, CPU {result['cpu_s']:.2f}s, {bytes_in / 1024:.0f} KiB, latency p50 "
        f"{result['latency_ms']['p50']:.0f} ms p99 {result['latency_ms']['p99']:.0f} ms "
        f"({len(lat)}/{len(sched)} seen)"
    )
    return result
