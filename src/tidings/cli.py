"""The ``tidings`` command: serve, migrate, demo, cluster; tail and send (the Python client's,
``clients/python``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from tidings.config import Settings


def _settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key in ("host", "port", "workers", "database_url", "redis_url")
        if (value := getattr(args, key, None)) is not None
    }
    # Children of a multi-worker server read the environment: keep flags and env in agreement.
    for key, value in overrides.items():
        os.environ[key.upper()] = str(value)
    return Settings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    from tidings import server

    settings = _settings_from(args)
    if settings.workers > 1 and not settings.redis_url:
        print(
            "tidings: --workers > 1 needs REDIS_URL: without it, an event published in one "
            "worker would never reach streams held by another.",
            file=sys.stderr,
        )
        return 2
    print(f"Tidings on http://{settings.host}:{settings.port}  (database: {settings.database_url})")
    server.run(settings)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from tidings.db import Database
    from tidings.migrations import upgrade_to_head

    settings = _settings_from(args)

    async def go() -> None:
        db = Database(settings.database_url)
        try:
            await upgrade_to_head(db.write_engine)
        finally:
            await db.dispose()

    asyncio.run(go())
    print(f"Database at {settings.database_url} is up to date.")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tidings.demo import create_demo

    settings = _settings_from(args)
    print(asyncio.run(create_demo(settings)))
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tidings import cluster

    config = cluster.ClusterConfig(
        nodes=args.nodes,
        host=args.host,
        port=args.port,
        base_port=args.base_port,
        database_url=args.database_url,
        redis_url=args.redis_url,
        run_dir=Path(args.run_dir) if args.run_dir else None,
        nginx=args.nginx,
        template=Path(args.nginx_template) if args.nginx_template else cluster.TEMPLATE,
    )
    return cluster.main(config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tidings", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--database-url", help="default: $DATABASE_URL or ./tidings.db")

    serve = commands.add_parser("serve", help="run the server")
    common(serve)
    serve.add_argument("--host", help="default: $HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: $PORT or 8000")
    serve.add_argument("--workers", type=int, help="default: $WORKERS or 1 (more needs REDIS_URL)")
    serve.add_argument("--redis-url", help="default: $REDIS_URL (none: in-memory hub)")
    serve.set_defaults(func=_serve)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    common(migrate)
    migrate.set_defaults(func=_migrate)

    clustered = commands.add_parser(
        "cluster", help="try scale-out: N server processes with nginx in front (Ctrl-C stops)"
    )
    common(clustered)
    clustered.add_argument("--nodes", type=int, default=3, help="server processes (default 3)")
    clustered.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    clustered.add_argument("--port", type=int, default=8080, help="nginx's port (default 8080)")
    clustered.add_argument(
        "--base-port", type=int, help="first server's port; the others follow (default port+1)"
    )
    clustered.add_argument("--redis-url", help="default: $REDIS_URL, else redis://127.0.0.1:6379/0")
    clustered.add_argument("--run-dir", help="for nginx.conf, pid and logs (default: a temp dir)")
    clustered.add_argument("--nginx", help="the nginx binary (default: nginx on PATH)")
    clustered.add_argument("--nginx-template", help="default: deploy/nginx.conf")
    clustered.set_defaults(func=_cluster)

    demo = commands.add_parser("demo", help="create demo users, friendships and conversations")
    common(demo)
    demo.set_defaults(func=_demo)
    _client_commands(commands)
    return parser


def _client_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``tail`` and ``send`` come from the Python client (``tidings_client.cli``), installed
    beside the server by ``scripts/bootstrap``; without it they say how to get it."""
    try:
        from tidings_client.cli import add_commands
    except ImportError:

        def missing(args: argparse.Namespace) -> int:
            print("tidings: needs the client: pip install -e clients/python", file=sys.stderr)
            return 2

        for name in ("tail", "send"):
            commands.add_parser(name, help="(needs clients/python)").set_defaults(func=missing)
        return
    add_commands(commands)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
