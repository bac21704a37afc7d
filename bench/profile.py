"""Where the time and memory go: ``python -m bench.profile [--streams N] [--out DIR]``.

Not part of the timed suite. Runs its own server and:

* memory: the server runs under ``tracemalloc`` (``bench.traced_server``, opt-in, nothing in
  ``src/``); a snapshot before and after opening N idle streams, diffed by allocation site and
  by traceback, gives the Python objects each stream keeps (RSS per stream is measured too: the
  difference is allocator overhead and C-level buffers tracemalloc cannot see);
* time: ``py-spy`` (if installed) samples the server while it opens streams, fans one message
  out to a big group, and takes back-to-back writes; the collapsed stacks are summed into the
  functions with the most samples (own and total).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from bench import procs, seed
from bench.plan import FULL, Run
from bench.pool import LoadGen, Pool
from bench.server import TidingsServer


async def _snapshot(server: TidingsServer, folder: Path, n: int) -> tracemalloc.Snapshot:
    path = folder / f"snapshot-{n}.pickle"
    os.kill(server.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("no tracemalloc snapshot")
        await asyncio.sleep(0.2)
    return tracemalloc.Snapshot.load(str(path))


def _filtered(s: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    return s.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


async def memory(run: Run, streams: int, lines: list[str]) -> None:
    snaps = run.raw / "tracemalloc"
    snaps.mkdir(parents=True, exist_ok=True)
    server = TidingsServer(
        run.raw / "profile-mem",
        run.server_core,
        traced=True,
        extra_env={"BENCH_TRACEMALLOC_DIR": str(snaps), "BENCH_TRACEMALLOC_FRAMES": "12"},
    )
    await server.start()
    try:
        s = await asyncio.to_thread(seed.seed, server.db_path, streams + 20, [], [])
        async with Pool(1, run.load_core) as pool:
            g = pool.gens[0]
            common = {"host": server.host, "port": server.port, "src": g.src}
            await g.call("open", users=[[u, s.tokens[u]] for u in range(1, 21)], **common)
            await g.call("close_above", uid=0)
            await asyncio.sleep(1)
            rss0 = server.rss()
            before = _filtered(await _snapshot(server, snaps, 0))
            users = [[u, s.tokens[u]] for u in range(21, 21 + streams)]
            reply = await g.call("open", timeout=300, users=users, concurrency=50, **common)
            await asyncio.sleep(2)
            rss1 = server.rss()
            after = _filtered(await _snapshot(server, snaps, 1))
    finally:
        server.stop()
    n = reply["opened"]
    total = sum(st.size_diff for st in after.compare_to(before, "filename"))
    lines += [
        f"### Memory per idle stream ({n:,} streams, tracemalloc diff)",
        "",
        f"RSS grew {(rss1 - rss0) / 1024 / n:.1f} KiB per stream; Python objects traced by "
        f"tracemalloc grew {total / 1024 / n:.1f} KiB per stream (the rest: allocator "
        "fragmentation/arenas, C-level buffers of uvloop/httptools, thread stacks).",
        "",
        "Top allocation sites (own line), bytes per stream:",
        "",
        "| Bytes/stream | Objects/stream | Site |",
        "|---|---|---|",
    ]
    for st in after.compare_to(before, "lineno")[:25]:
        if st.size_diff <= 0:
            continue
        frame = st.traceback[0]
        site = f"{_short(frame.filename)}:{frame.lineno}"
        lines.append(f"| {st.size_diff / n:,.0f} | {st.count_diff / n:.1f} | `{site}` |")
    lines += ["", "Top tracebacks (innermost frames from the app), bytes per stream:", ""]
    for st in after.compare_to(before, "traceback")[:12]:
        if st.size_diff <= 0:
            continue
        frames = [f"{_short(f.filename)}:{f.lineno}" for f in st.traceback][-6:]
        lines.append(f"- {st.size_diff / n:,.0f} B/stream: " + " ← ".join(reversed(frames)))
    lines.append("")


def _short(filename: str) -> str:
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def _pyspy() -> str | None:
    here = Path(procs.python()).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def _top(collapsed: Path, limit: int = 18) -> list[str]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        # The event loop's thread only: py-spy counts the aiosqlite threads' blocking waits as
        # busy, which the per-thread CPU times (/proc) show they are not.
        if not stack or "MainThread" not in stack.split(";", 1)[0]:
            continue
        count = int(count_s)
        frames = stack.split(";")[1:]
        if not frames:
            continue
        samples += count
        own[_frame(frames[-1])] += count
        for f in {_frame(x) for x in frames}:
            total[f] += count
    samples = max(1, samples)
    out = [
        f"{samples:,} samples of the event loop's thread. Own time:",
        "",
        "| % own | Function |",
        "|---|---|",
    ]
    out += [f"| {c / samples * 100:.1f} | `{f}` |" for f, c in own.most_common(limit)]
    app = [(f, c) for f, c in total.most_common(400) if "tidings/" in f or "sqlalchemy" in f]
    out += [
        "",
        "Inclusive time, app and SQLAlchemy frames:",
        "",
        "| % total | Function |",
        "|---|---|",
    ]
    out += [f"| {c / samples * 100:.1f} | `{f}` |" for f, c in app[:limit]]
    return [*out, ""]


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread of a process, from /proc/<pid>/task/*/stat."""
    out: dict[str, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = "event loop (main thread)" if int(tid) == pid else f"thread {tid}"
        out[name] = (int(fields[11]) + int(fields[12])) / procs.CLK_TCK
    return out


def _frame(raw: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; drop the line number.
    name, _, where = raw.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({_short(where)})"


@contextlib.asynccontextmanager
async def _sampling(pid: int, out: Path, seconds: float):  # type: ignore[no-untyped-def]
    exe = _pyspy()
    proc = None
    if exe:
        proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [
                exe,
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(seconds)),
                "-r",
                "200",
                "--threads",
                "--format",
                "raw",
                "-o",
                str(out),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        procs.track(proc.pid)
        await asyncio.sleep(1.0)
    try:
        yield
    finally:
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            await asyncio.to_thread(proc.wait, 30)
            procs.stop(proc.pid, grace=1.0)


async def cpu(run: Run, streams: int, group: int, lines: list[str], clients: int = 16) -> None:
    if not _pyspy():
        lines += ["py-spy not installed: no CPU profile.", ""]
        return
    m = max(streams, group)
    server = TidingsServer(run.raw / "profile-cpu", run.server_core)
    await server.start()
    try:
        pairs = [(k + m, k) for k in range(1, m + 1)]
        s = await asyncio.to_thread(
            seed.seed, server.db_path, 2 * m, pairs, [(m + 1, list(range(1, group + 1)))]
        )
        gens = max(1, (m + 4999) // 5000)
        async with Pool(gens, run.load_core) as pool:
            sender = LoadGen(run.load_core, "127.0.0.100")
            await sender.start()
            common = {"host": server.host, "port": server.port}
            users = list(range(1, m + 1))
            out = run.raw / "pyspy-open.txt"
            async with _sampling(server.pid, out, 120):
                await asyncio.gather(
                    *(
                        g.call(
                            "open",
                            timeout=300,
                            src=g.src,
                            concurrency=100,
                            users=[[u, s.tokens[u]] for u in users[k::gens]],
                            **common,
                        )
                        for k, g in enumerate(pool.gens)
                    )
                )
            lines += [f"### Opening {m:,} streams (py-spy)", "", *_top(out)]
            out = run.raw / "pyspy-fanout.txt"
            async with _sampling(server.pid, out, 120):
                t0 = time.monotonic_ns()
                await sender.call(
                    "send",
                    start_ns=t0,
                    deadline_s=100,
                    items=[[0, s.cookie(m + 1), s.groups[0], 1]],
                    **common,
                )
                await asyncio.sleep(1.0)
            lines += [
                f"### One message to a group of {group:,} online members (py-spy)",
                "",
                *_top(out),
            ]
            out = run.raw / "pyspy-writes.txt"
            items = [[s.cookie(k + m), s.dm[(k + m, k)]] for k in range(1, m + 1)]
            m0, t0 = await server.metrics(), thread_cpu(server.pid)
            async with _sampling(server.pid, out, 60):
                reply = await sender.call(
                    "hammer", clients=clients, duration_s=8, items=items, **common
                )
            m1, t1 = await server.metrics(), thread_cpu(server.pid)
            n = max(1, reply["ok"])
            queries = m1["tidings_db_queries"] - m0["tidings_db_queries"]
            lines += [
                f"### Back-to-back direct messages, {clients} clients (py-spy)",
                "",
                f"{n:,} messages in {reply['elapsed_s']:.1f} s ({n / reply['elapsed_s']:.0f}/s), "
                f"{queries / n:.1f} SQL statements per message. Server CPU per message by "
                "thread (/proc):",
                "",
                "| Thread | CPU ms / message |",
                "|---|---|",
            ]
            for name in sorted(t1, key=lambda k: t0.get(k, 0.0) - t1[k]):
                used = t1[name] - t0.get(name, 0.0)
                if used > 0.005:
                    lines.append(f"| {name} | {used / n * 1000:.2f} |")
            lines += ["", *_top(out)]
            await sender.close()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--group", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16, help="back-to-back writers")
    parser.add_argument("--cpu-only", action="store_true", help="skip the memory profile")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    procs.install_reaper()
    procs.raise_fd_limit()
    server_core, load_core = procs.cores()
    run = Run(FULL, args.out.resolve(), server_core, load_core)
    (run.raw).mkdir(parents=True, exist_ok=True)
    lines: list[str] = [
        "# Profiles (`python -m bench.profile`)",
        "",
        "Raw material for the findings in report.md; the server pinned to core 0 as in the suite.",
        "",
    ]

    async def go() -> None:
        if not args.cpu_only:
            run.say("profile: memory (tracemalloc)")
            await memory(run, args.streams, lines)
        run.say("profile: CPU (py-spy)")
        await cpu(run, args.streams, args.group, lines, args.clients)

    try:
        asyncio.run(go())
    finally:
        procs.reap_all()
    path = run.out / "profile.md"
    path.write_text("\n".join(lines) + "\n")
    run.say(f"profile written to {path}")


if __name__ == "__main__":
    main()
