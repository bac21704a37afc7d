"""Scenario 5: Debian's Pushpin holding the same idle streams and publishing the same fan-out.

Pushpin runs with its own config, run and log directories under the run's temp folder (its
``runner`` starts condure, zurl, pushpin-proxy and pushpin-handler), on free ports, pinned to
the server core with its origin. ``message_rate`` is raised from its default 2,500/s, which
would otherwise pace a 10,000-subscriber publish over 4 s.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

from bench import procs
from bench.client import HttpConn, probe_content
from bench.plan import Run
from bench.pool import Pool

CONF = """[global]
include=/usr/lib/pushpin/internal.conf
rundir={run}
ipc_prefix=bench-
port_offset=0
stats_connection_ttl=120
[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port={http}
logdir={log}
log_level=1
client_buffer_size=8192
client_maxconn=50000
condure_bin=condure
zurl_bin=zurl
[proxy]
zurl_out_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-in
zurl_out_stream_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-in-stream
zurl_in_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-out
routesfile=routes
debug=false
auto_cross_origin=false
sig_iss=pushpin
sig_key=changeme
updates_check=off
[handler]
push_in_spec=tcp://127.0.0.1:{pull}
push_in_sub_specs=tcp://127.0.0.1:{sub}
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port={control}
stats_spec=ipc://{{rundir}}/{{ipc_prefix}}stats
command_spec=tcp://127.0.0.1:{command}
message_rate=1000000
message_hwm=1000000
message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
stats_subscription_ttl=60
stats_report_interval=10
stats_format=tnetstring
"""


def available() -> bool:
    return all(shutil.which(b) for b in ("pushpin", "condure", "zurl"))


async def scenario(run: Run) -> None:
    plan = run.plan
    if not available():
        run.results["pushpin"] = {"skipped": "pushpin, condure or zurl not installed"}
        return
    home = run.raw / "pushpin"
    for sub in ("run", "log"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    origin_port = procs.free_port()
    ports = {k: procs.free_port() for k in ("http", "pull", "sub", "control", "command")}
    (home / "pushpin.conf").write_text(CONF.format(run=home / "run", log=home / "log", **ports))
    (home / "routes").write_text(f"* 127.0.0.1:{origin_port}\n")
    sizes = [s for s in plan.fanout_sizes if s <= plan.pushpin_streams]
    log = (home / "pushpin.out").open("ab")
    origin = procs.spawn(
        procs.pinned(
            [procs.python(), "-m", "bench.origin", str(origin_port), *map(str, sizes)],
            run.server_core,
        ),
        stdout=log,
        stderr=log,
    )
    pushpin = procs.spawn(
        procs.pinned(
            [
                "pushpin",
                "--config",
                str(home / "pushpin.conf"),
                "--port",
                f"127.0.0.1:{ports['http']}",
            ],
            run.server_core,
        ),
        stdout=log,
        stderr=log,
        cwd=str(home),
    )
    log.close()
    result: dict[str, Any] = {"version": await asyncio.to_thread(_version)}
    try:
        await _wait_port(ports["http"])
        await _wait_port(ports["control"])
        await asyncio.sleep(1.0)
        rss0 = procs.tree_rss(pushpin.pid)
        n = plan.pushpin_streams
        gens = max(1, math.ceil(n / plan.streams_per_gen))
        async with Pool(gens, run.load_core) as pool:
            run.say(f"pushpin: opening {n} idle streams through Pushpin")
            users = list(range(1, n + 1))

            async def open_streams(
                uids: list[int], concurrency: int, timeout_s: float
            ) -> list[dict[str, Any]]:
                """Open idle streams for ``uids``, spread over the load generators."""
                return list(
                    await asyncio.gather(
                        *(
                            g.call(
                                "open",
                                timeout=600,
                                host="127.0.0.1",
                                port=ports["http"],
                                src=g.src,
                                path="/s/{uid}",
                                concurrency=concurrency,
                                timeout_s=timeout_s,
                                users=[[u, None] for u in uids[k::gens]],
                            )
                            for k, g in enumerate(pool.gens)
                            if uids[k::gens]
                        )
                    )
                )

            t0 = time.monotonic()
            replies = await open_streams(users, concurrency=100, timeout_s=300)
            failed_uids = {u for r in replies for u in r["failed_uids"]}
            errors = [e for r in replies for e in r["errors"]][:5]
            failed_first_pass = len(failed_uids)
            if failed_uids:
                # Pushpin answers some opens of a burst with 502 (its origin fetch failed):
                # retry those once, gently, so that both servers hold the same N.
                retried = await open_streams(sorted(failed_uids), concurrency=10, timeout_s=120)
                replies += retried
                failed_uids = {u for r in retried for u in r["failed_uids"]}
            open_s = time.monotonic() - t0
            opened = sum(r["opened"] for r in replies)
            await asyncio.sleep(1.0)
            cpu0 = procs.tree_cpu(pushpin.pid)
            await asyncio.sleep(plan.idle_window_s)
            cpu1 = procs.tree_cpu(pushpin.pid)
            rss = procs.tree_rss(pushpin.pid)
            per_process = {
                process_name(p): procs.rss_bytes(p) for p in procs.tree_pids(pushpin.pid)
            }
            result["idle"] = {
                "n": n,
                "opened": opened,
                "failed": n - opened,
                "errors": errors,
                "failed_first_pass": failed_first_pass,
                "open_s": open_s,
                "rss0": rss0,
                "rss": rss,
                "rss_per_stream": (rss - rss0) / max(1, opened),
                "idle_cpu_pct": (cpu1 - cpu0) / plan.idle_window_s * 100,
                "per_process_rss": per_process,
            }
            run.say(
                f"pushpin: {opened} streams, RSS {rss / 2**20:.0f} MiB "
                f"({result['idle']['rss_per_stream'] / 1024:.1f} KiB/stream) in {open_s:.1f}s"
            )
            result["fanout"] = []
            control = HttpConn("127.0.0.1", ports["control"])
            await pool.all("arrivals")
            for i, size in enumerate(sizes):
                msg_id = 10**11 + i
                expected = sum(1 for u in range(1, size + 1) if u not in failed_uids)
                sched = time.monotonic_ns()
                data = json.dumps({"content": probe_content(msg_id, sched)}, separators=(",", ":"))
                item = {
                    "channel": f"g{size}",
                    "formats": {"http-stream": {"content": f"event: message\ndata: {data}\n\n"}},
                }
                status, _ = await control.request(
                    "POST", "/publish/", body=json.dumps({"items": [item]}).encode()
                )
                publish_ms = (time.monotonic_ns() - sched) / 1e6
                arrivals: list[list[int]] = []
                deadline = time.monotonic() + (5 if plan.quick else 30)
                while time.monotonic() < deadline:
                    arrivals += [
                        a
                        for r in await pool.all("arrivals")
                        for a in r["arrivals"]
                        if a[0] == msg_id
                    ]
                    if len({a[1] for a in arrivals}) >= expected:
                        break
                    await asyncio.sleep(0.1)
                lat = sorted(a[3] - a[2] for a in arrivals)
                entry = {
                    "size": size,
                    "status": status,
                    "publish_ms": publish_ms,
                    "received": len({a[1] for a in arrivals}),
                    "duplicates": len(arrivals) - len({a[1] for a in arrivals}),
                }
                if lat:
                    entry |= {
                        "first_ms": lat[0] / 1e6,
                        "last_ms": lat[-1] / 1e6,
                        "p50_ms": lat[len(lat) // 2] / 1e6,
                    }
                result["fanout"].append(entry)
                run.say(
                    f"pushpin fanout {size}: first {entry.get('first_ms', float('nan')):.1f} ms,"
                    f" last {entry.get('last_ms', float('nan')):.1f} ms,"
                    f" received {entry['received']}"
                )
                await asyncio.sleep(0.5)
            control.close()
    finally:
        procs.stop(pushpin.pid, grace=5.0)
        procs.stop(origin.pid, grace=2.0)
    run.results["pushpin"] = result


def process_name(pid: int) -> str:
    try:
        return f"{Path(f'/proc/{pid}/exe').resolve().name}[{pid}]"
    except OSError:
        return str(pid)


def _version() -> str:
    import subprocess

    try:
        return subprocess.run(
            ["pushpin", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


async def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"port {port} did not open")
