"""``tidings cluster``: several ``tidings serve`` processes and nginx in front, to try scale-out.

It migrates the database once, starts N server processes on consecutive ports (sharing the
database and Redis), writes an nginx config generated from ``deploy/nginx.conf`` into a run
directory and starts nginx in front, then waits. Ctrl-C or SIGTERM stops everything it started:
the servers first (they end their streams cleanly), then nginx. If a process it started dies on
its own, it stops the rest and exits with status 1.

SQLite is fine here: several processes share one file, their writes serialized by
``BEGIN IMMEDIATE`` and a busy timeout. Production would use PostgreSQL (``DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def render_nginx_conf(
    template: str, *, listen: str, upstreams: Sequence[str], run_dir: Path
) -> str:
    """``template`` with its listen address, upstream servers and file paths replaced.

    Everything else (the SSE settings, keep-alive, timeouts) is kept as written. Raises
    ValueError if the template lacks one of the lines to replace.
    """
    paths = {
        "pid": run_dir / "nginx.pid",
        "error_log": run_dir / "nginx-error.log",
        "access_log": run_dir / "nginx-access.log",
        **{f"{name}_temp_path": run_dir / f"{name}_temp" for name in _TEMP_PATHS},
    }
    seen: set[str] = set()
    out: list[str] = []
    in_upstream = False
    for line in template.splitlines():
        stripped = line.strip()
        if re.match(r"upstream\s+\S+\s*\{", stripped):
            in_upstream = True
        elif in_upstream and stripped == "}":
            in_upstream = False
        directive = re.match(r"(\s*)(\w+)\s+(\S+?)(;|\s.*;)\s*(#.*)?$", line)
        if directive is None:
            out.append(line)
            continue
        indent, name, _value, rest, _comment = directive.groups()
        if in_upstream and name == "server":
            if "server" not in seen:
                out.extend(f"{indent}server {address}{rest}" for address in upstreams)
            seen.add("server")
        elif name in paths:
            out.append(f"{indent}{name} {paths[name]}{rest}")
            seen.add(name)
        elif name == "listen" and not in_upstream:
            out.append(f"{indent}listen {listen}{rest}")
            seen.add(name)
        else:
            out.append(line)
    missing = {"server", "listen", *paths} - seen
    if missing:
        raise ValueError(f"the nginx template has no {', '.join(sorted(missing))} line")
    return "\n".join(out) + "\n"


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)),
        None,
    )


async def http_ok(host: str, port: int, path: str = "/api/health") -> bool:
    """Whether ``GET path`` answers 200 (no HTTP client library needed)."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        status_line = await reader.readline()
        return status_line.split(b" ")[1:2] == [b"200"]
    except OSError:
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclass
class ClusterConfig:
    nodes: int = 3
    host: str = "127.0.0.1"
    port: int = 8080
    base_port: int | None = None
    database_url: str | None = None
    redis_url: str | None = None
    run_dir: Path | None = None
    nginx: str | None = None
    template: Path = TEMPLATE
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def node_ports(self) -> list[int]:
        base = self.base_port if self.base_port is not None else self.port + 1
        return [base + index for index in range(self.nodes)]


def _say(message: str) -> None:
    print(f"tidings cluster: {message}", file=sys.stderr, flush=True)


class _Child:
    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process

    async def stop(self, sig: signal.Signals, grace: float = 15) -> None:
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            _say(f"{self.name} did not stop in {grace:.0f}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


async def _wait_ready(child: _Child, host: str, port: int) -> None:
    async with asyncio.timeout(60):
        while not await http_ok(host, port):
            if child.process.returncode is not None:
                raise RuntimeError(f"{child.name} exited with status {child.process.returncode}")
            await asyncio.sleep(0.1)  # readiness probe: nothing else to wait on


async def _check_redis(url: str) -> str | None:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        return str(exc)
    finally:
        await client.aclose()
    return None


async def _migrate(database_url: str) -> None:
    from tidings.db import Database
    from tidings.migrations import upgrade_to_head

    db = Database(database_url)
    try:
        await upgrade_to_head(db.write_engine)
    finally:
        await db.dispose()


async def run_cluster(config: ClusterConfig) -> int:
    """Start the cluster, wait for Ctrl-C/SIGTERM or a process dying, stop it. Exit status."""
    from tidings.config import Settings

    if config.nodes < 1:
        _say("--nodes must be at least 1")
        return 2
    if config.port in config.node_ports:
        _say(f"port {config.port} is both nginx's and a server's: pick another --base-port")
        return 2
    settings = Settings()
    database_url = config.database_url or settings.database_url
    redis_url = config.redis_url or settings.redis_url
    if not redis_url:
        redis_url = DEFAULT_REDIS_URL
        _say(f"REDIS_URL is not set; using {redis_url} (the processes share events through it)")
    nginx = config.nginx or find_nginx()
    if nginx is None:
        _say("nginx not found: install it (Debian: apt-get install nginx) or pass --nginx PATH")
        return 2
    if not config.template.is_file():
        _say(f"nginx template {config.template} not found: pass --nginx-template PATH")
        return 2
    if (problem := await _check_redis(redis_url)) is not None:
        _say(f"Redis at {redis_url} does not answer ({problem}); start it or set REDIS_URL")
        return 2
    run_dir = config.run_dir or Path(tempfile.mkdtemp(prefix="tidings-cluster-"))
    run_dir.mkdir(parents=True, exist_ok=True)

    _say(f"migrating {database_url}")
    await _migrate(database_url)
    upstreams = [f"{config.host}:{port}" for port in config.node_ports]
    conf = run_dir / "nginx.conf"
    conf.write_text(
        render_nginx_conf(
            config.template.read_text(),
            listen=f"{config.host}:{config.port}",
            upstreams=upstreams,
            run_dir=run_dir,
        )
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    nodes: list[_Child] = []
    proxy: _Child | None = None
    try:
        for index, port in enumerate(config.node_ports):
            env = {
                # The nodes sit behind nginx: believe its X-Forwarded-For (the client's address,
                # for rate limits), and accept browser writes from the origin it serves.
                "TRUSTED_PROXIES": ",".join(dict.fromkeys(["127.0.0.1", config.host])),
                "PUBLIC_URL": f"http://{config.host}:{config.port}",
                **os.environ,
                **config.extra_env,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "HOST": config.host,
                "PORT": str(port),
                "WORKERS": "1",
                "AUTO_MIGRATE": "false",
            }
            log = (run_dir / f"node{index + 1}.log").open("ab")
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "tidings.cli", "serve"),
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,  # signals come from us, in order
            )
            log.close()
            nodes.append(_Child(f"node {index + 1} (port {port})", process))
        await asyncio.gather(
            *(_wait_ready(n, config.host, p) for n, p in zip(nodes, config.node_ports, strict=True))
        )
        process = await asyncio.create_subprocess_exec(
            nginx,
            *("-e", str(run_dir / "nginx-error.log"), "-c", str(conf), "-g", "daemon off;"),
            start_new_session=True,
        )
        proxy = _Child(f"nginx (port {config.port})", process)
        await _wait_ready(proxy, config.host, config.port)
        _say(
            f"http://{config.host}:{config.port} -> {len(nodes)} processes on ports "
            f"{config.node_ports[0]}-{config.node_ports[-1]}\n"
            f"  database {database_url}\n  redis    {redis_url}\n"
            f"  logs and nginx.conf in {run_dir}\n  Ctrl-C stops everything."
        )
        children = [*nodes, proxy]
        waiters = [asyncio.ensure_future(child.process.wait()) for child in children]
        stopped = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([stopped, *waiters], return_when=asyncio.FIRST_COMPLETED)
        for future in [stopped, *waiters]:
            future.cancel()
        if stopped in done:
            _say("stopping")
            return 0
        dead = [child.name for child in children if child.process.returncode is not None]
        _say(f"{', '.join(dead)} exited; stopping the rest (logs in {run_dir})")
        return 1
    except (RuntimeError, TimeoutError) as exc:
        _say(f"could not start: {exc or 'timed out'} (logs in {run_dir})")
        return 1
    finally:
        await asyncio.gather(*(node.stop(signal.SIGTERM) for node in nodes))
        if proxy is not None:
            await proxy.stop(signal.SIGQUIT)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main(config: ClusterConfig) -> int:
    return asyncio.run(run_cluster(config))
