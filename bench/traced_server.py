"""Opt-in: ``tidings serve`` with tracemalloc on, for the bench's memory profile only.

Started instead of ``tidings.cli`` when a scenario asks for a traced server. ``SIGUSR1`` writes a
snapshot to ``$BENCH_TRACEMALLOC_DIR/snapshot-<n>.pickle``. Nothing in ``src/`` knows about it.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

_counter = itertools.count()


def _dump(signum: int, frame: FrameType | None) -> None:
    folder = Path(os.environ.get("BENCH_TRACEMALLOC_DIR", "."))
    path = folder / f"snapshot-{next(_counter)}.pickle"
    tmp = path.with_suffix(".tmp")
    tracemalloc.take_snapshot().dump(str(tmp))
    tmp.rename(path)


def main() -> int:
    tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "12")))
    signal.signal(signal.SIGUSR1, _dump)
    from tidings.cli import main as tidings_main

    return tidings_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
