"""``python -m bench [scenario ...] [--quick] [--out DIR]``: run the suite, write the report.

Scenarios (issue 5): polling (1), idle (2), latency (3), fanout (4), pushpin (5), writes (6);
issue 13: users (7, finding people among 100,000 users, in this process: SQLite, and PostgreSQL
when ``TIDINGS_BENCH_POSTGRES_URL`` names a database it may empty); issue 14: presence (8,
streams of people with friends opening and closing: events sent, server CPU; a wrong event makes
the run exit with status 1); issue 16: first_load (9, the web app's first load in Chromium:
bytes, requests, time to a usable sidebar). By name or number, all by default. The server runs
pinned to the first core, the load generators to the second; the report and charts go to
``--out`` (default ``bench/results``), raw data and logs to ``<out>/raw``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

from bench import procs
from bench.plan import FULL, QUICK, SCENARIOS, Run

DEFAULT_OUT = Path(__file__).parent / "results"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} or 1-{len(SCENARIOS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small N, short periods (< 1 min)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder")
    parser.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the report from <out>/raw/results.json"
    )
    return parser


def _wanted(names: list[str]) -> list[str]:
    if not names:
        return list(SCENARIOS)
    chosen = set()
    for name in names:
        if name.isdigit() and 1 <= int(name) <= len(SCENARIOS):
            chosen.add(SCENARIOS[int(name) - 1])
        elif name in SCENARIOS:
            chosen.add(name)
        else:
            raise SystemExit(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    return [s for s in SCENARIOS if s in chosen]


def _code_measured(run: Run) -> str:
    """The commit(s) the servers ran: this is a shared working tree, commits may land mid-run."""
    states = sorted(set(run.code_states))
    return " / ".join(states) if states else procs.git_state()


async def _main(run: Run, wanted: list[str]) -> None:
    from bench import capacity, polling, pushpin

    if "polling" in wanted:
        await polling.scenario(run)
    on_tidings = {"idle", "latency", "fanout", "writes"} & set(wanted)
    if on_tidings:
        await capacity.Capacity(run, on_tidings).execute()
    if "pushpin" in wanted:
        await pushpin.scenario(run)
    if "users" in wanted:
        from bench import user_search

        await user_search.scenario(run)
    if "presence" in wanted:
        from bench import presence

        await presence.scenario(run)
    if "first_load" in wanted:
        from bench import first_load

        await first_load.scenario(run)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    wanted = _wanted(args.scenarios)
    procs.install_reaper()
    fd_limit = procs.raise_fd_limit()
    server_core, load_core = procs.cores()
    if load_core is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {load_core})
    out: Path = args.out.resolve()
    run = Run(QUICK if args.quick else FULL, out, server_core, load_core)
    if args.report_only:
        from bench import report

        run.results = json.loads((run.raw / "results.json").read_text())
        report.write(run, charts=not args.no_charts)
        return 0
    if run.raw.exists():
        shutil.rmtree(run.raw)
    run.raw.mkdir(parents=True)
    run.say(
        f"bench: {', '.join(wanted)} ({'quick' if args.quick else 'full'}), server on core "
        f"{server_core}, load on core {load_core}, fd limit {fd_limit}, out {out}"
    )
    started = time.monotonic()
    try:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(_main(run, wanted))
    except KeyboardInterrupt:
        run.say("interrupted: stopping every process")
        return 130
    finally:
        procs.reap_all()
    run.results["meta"] = {
        "git": _code_measured(run),
        "quick": args.quick,
        "scenarios": wanted,
        "duration_s": time.monotonic() - started,
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    (run.raw / "results.json").write_text(json.dumps(run.results, indent=1, default=str))
    from bench import report

    report.write(run, charts=not args.no_charts)
    run.say(f"done in {time.monotonic() - started:.0f}s: {out / 'report.md'}")
    for failure in run.failures:
        run.say(f"FAILED: {failure}")
    return 1 if run.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
