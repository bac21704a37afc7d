"""``tidings tail`` and ``tidings send`` as a script runs them: child processes with
``TIDINGS_URL`` and ``TIDINGS_TOKEN`` against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.api_helpers import friends
from tests.client.conftest import token_for
from tests.conftest import MakeUser
from tests.support.api import ApiUser
from tests.support.server import LiveServer


def _env(server: LiveServer, token: str) -> dict[str, str]:
    return {**os.environ, "TIDINGS_URL": server.url, "TIDINGS_TOKEN": token}


async def tidings(server: LiveServer, token: str, *args: str) -> tuple[int, str, str]:
    """Run ``tidings ARGS``; its exit code, standard output and error."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tidings.cli", *args, env=_env(server, token),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class Tail:
    """A running ``tidings tail``: its lines as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, timeout: float = 30) -> str:
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            raw = await self.process.stdout.readline()
        assert raw, "tail ended"
        return raw.decode().rstrip("\n")

    async def json_event(self, event_type: str) -> dict[str, Any]:
        """The next printed event of this type (others skipped)."""
        while True:
            event: dict[str, Any] = json.loads(await self.line())
            if event["type"] == event_type:
                return event


@asynccontextmanager
async def tail(server: LiveServer, token: str, *args: str) -> AsyncIterator[Tail]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tidings.cli", "tail", *args, env=_env(server, token),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield Tail(process)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # Ctrl-C: a quiet exit
            async with asyncio.timeout(20):
                await process.communicate()
        assert process.returncode == 130


async def _connected(user: ApiUser) -> int:
    """The log position now (a tail started after it prints what comes next)."""
    return int((await user.ok("GET", "/api/conversations"))["last_event_id"])


async def test_tail_json_prints_events_as_they_arrive(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    since = await _connected(bob)
    token = await token_for(bob, "read")
    async with tail(server, token, "--json", "--since", str(since)) as printed:
        for n in range(3):
            sent = await alice.send(dm, f"hello {n}")
            event = await printed.json_event("message")
            assert event["message"]["id"] == sent["id"]
            assert event["message"]["content"] == f"hello {n}"
            assert event["id"] > since
            since = event["id"]


async def test_tail_prints_one_line_per_event_and_replays_since(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    group = (await alice.group("Book club", bob))["id"]
    since = await _connected(bob)
    await alice.send(group, "sent before the tail started")
    token = await token_for(bob, "read")
    async with tail(server, token, "--since", str(since)) as printed:
        first = await printed.line()
        assert first.endswith(" message  Book club  alice: sent before the tail started")
        await alice.send(group, "and now")
        assert (await printed.line()).endswith(" message  Book club  alice: and now")


async def test_send_posts_and_prints_the_id(server: LiveServer, make_user: MakeUser) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    group = (await alice.group("Book club", bob))["id"]
    token = await token_for(bob)
    for target, conversation in ((str(dm), dm), ("alice", dm), ("book club", group)):
        code, out, err = await tidings(server, token, "send", target, f"to {target}")
        assert (code, err) == (0, "")
        page = await alice.ok("GET", f"/api/conversations/{conversation}/messages")
        last = page["messages"][-1]
        assert (last["id"], last["content"]) == (int(out), f"to {target}")
        assert last["sender"]["id"] == bob.id
    code, out, err = await tidings(server, token, "send", "nobody", "x")
    assert code == 1 and "no conversation" in err
    code, out, err = await tidings(server, await token_for(bob, "read"), "send", str(dm), "x")
    assert code == 1 and "insufficient_scope" in err
