"""Child processes: start them pinned to a core, measure them from /proc, and always reap them.

Every child is started in its own session (process group); ``reap_all`` ends exactly those groups,
by id, on normal exit, on error and on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

_children: dict[int, subprocess.Popen[bytes] | None] = {}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cores() -> tuple[int | None, int | None]:
    """(server core, load core), or (None, None) on a machine with a single core."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return available[0], available[1]


def raise_fd_limit() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pinned(argv: list[str], core: int | None) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(core), *argv]


def spawn(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, start_new_session=True, **kwargs)  # type: ignore[call-overload]
    _children[proc.pid] = proc
    return proc  # type: ignore[no-any-return]


def track(pid: int) -> None:
    """Reap this process group too (for children started by asyncio)."""
    _children.setdefault(pid, None)


def stop(pid: int, grace: float = 10.0) -> None:
    """SIGTERM the child's process group, then SIGKILL it if it is still there after ``grace``."""
    proc = _children.pop(pid, None)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        if proc is None and not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(2)


def reap_all() -> None:
    for pid in list(_children):
        stop(pid, grace=3.0)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def install_reaper() -> None:
    atexit.register(reap_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    """Resident set size, from /proc/<pid>/status (what psutil reports as ``rss``)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_pids(pid: int) -> list[int]:
    """The process and all its descendants (read from /proc, so psutil is optional)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    if not os.path.exists(f"/proc/{pid}"):
        return []
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, ()))
    return out


def tree_rss(pid: int) -> int:
    total = 0
    for p in tree_pids(pid):
        with contextlib.suppress(OSError):
            total += rss_bytes(p)
    return total


def tree_cpu(pid: int) -> float:
    total = 0.0
    for p in tree_pids(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_seconds(p)
    return total


def git_state() -> str:
    """The commit checked out, and the src/ files changed but not committed."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True, text=True
        ).stdout.splitlines()
    except OSError:
        return "unknown"
    changed = [line[3:] for line in status if line.strip()]
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def python() -> str:
    return sys.executable
