"""Group commit (``realtime/writer.py``): writes queued together commit in one transaction, each
with its own result, error and events; and nothing answered 201 is lost to a SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest
from sqlalchemy import Table, insert

from tests.api_helpers import db_user
from tests.conftest import MakeUser
from tests.support.api import ApiUser
from tests.support.server import LiveServer, ServerProcess
from tests.support.settings import FAST_HASHING, GENEROUS_LIMITS, backend
from tests.support.sse import EventStreamReader, open_stream
from tidings.conversations import actions
from tidings.conversations.models import Conversation, Message
from tidings.db import utcnow
from tidings.errors import Conflict, NotFound
from tidings.realtime.transaction import Transaction
from tidings.realtime.writer import RowLocks, Writer

_conversations = cast(Table, Conversation.__table__)


@contextlib.asynccontextmanager
async def _writes_held_back(server: LiveServer) -> AsyncIterator[None]:
    """Another connection holds what every write needs (SQLite's write lock; on PostgreSQL the
    event log's head row), so the writer's batch waits, until the block exits."""
    url = server.settings.database_url
    if url.startswith("sqlite"):
        other = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute("SELECT 1 FROM event_log WHERE id = 1 FOR UPDATE")
        try:
            yield
        finally:
            await transaction.rollback()
    finally:
        await connection.close()


async def _queued_behind_a_first_write(
    server: LiveServer, first: Coroutine[Any, Any, Any], *writes: Coroutine[Any, Any, Any]
) -> list[Any]:
    """Start ``first`` while writes are held back, so that its batch waits; queue ``writes``
    behind it; then let everything go. Returns the writes' results (or their exceptions), in
    order, once ``first`` is through."""
    writer = server.ctx.writer
    before = writer.batches
    async with _writes_held_back(server):
        started = asyncio.create_task(first)
        async with asyncio.timeout(10):  # the first batch started, and waits
            await writer.wait_until(lambda w: w.batches == before + 1)
        queued = [asyncio.create_task(write) for write in writes]
        async with asyncio.timeout(10):  # the others queued behind it
            await writer.wait_until(lambda w: w.queued == len(writes))
    await started
    return list(await asyncio.gather(*queued, return_exceptions=True))


async def _only_the_refused_write_failed(
    writer: Writer,
    batches_before: int,
    results: tuple[Any, Any, Any],
    refusal: type[Exception],
    stream: EventStreamReader,
) -> None:
    """After ``_queued_behind_a_first_write`` of "first", then "one", a refused write and
    "two": the three went in one transaction after the first one's (two batches in all), the
    refused one failed alone, and the others' events reach the stream in commit order."""
    one, refused, two = results
    assert writer.batches == batches_before + 2
    assert isinstance(refused, refusal)
    assert not isinstance(one, BaseException) and not isinstance(two, BaseException)
    frames = await stream.next_events(3)
    assert [f.json["message"]["content"] for f in frames] == ["first", "one", "two"]
    assert [f.json["message"]["id"] for f in frames[1:]] == [one.id, two.id]  # their events


@pytest.mark.settings(sqlite_busy_timeout_ms=30_000, postgres_lock_timeout_ms=30_000)
async def test_a_failing_write_in_a_batch_fails_alone(server: LiveServer, make_user: MakeUser):
    alice, bob, carol = [await make_user(name) for name in ("alice", "bob", "carol")]
    await alice.befriend(bob)
    await bob.befriend(carol)
    dm = await alice.dm(bob)
    theirs = await bob.dm(carol)  # alice is no member: her send there is a 404
    stream = await open_stream(bob.client)
    await stream.next()  # connected
    me = await db_user(server, alice)
    writer = server.ctx.writer
    before = writer.batches

    one, refused, two = await _queued_behind_a_first_write(
        server,
        actions.send_message(server.ctx, me, dm["id"], "first"),
        *(
            actions.send_message(server.ctx, me, cid, text)
            for cid, text in ((dm["id"], "one"), (theirs["id"], "not mine"), (dm["id"], "two"))
        ),
    )

    await _only_the_refused_write_failed(writer, before, (one, refused, two), NotFound, stream)
    page = await bob.ok("GET", f"/api/conversations/{theirs['id']}/messages")
    assert page["messages"] == []
    await stream.close()


def _write_then_refuse(tx: Transaction, conversation_id: int, sender_id: int) -> None:
    """A write that stores a message and then fails (as a constraint would, late)."""
    tx.session.execute(
        insert(Message).values(
            conversation_id=conversation_id,
            sender_id=sender_id,
            content="ghost",
            created_at=utcnow(),
        )
    )
    raise Conflict("changed its mind after writing")


@pytest.mark.settings(sqlite_busy_timeout_ms=30_000, postgres_lock_timeout_ms=30_000)
async def test_a_write_failing_after_it_wrote_leaves_nothing_and_the_batch_commits(
    server: LiveServer, make_user: MakeUser
):
    """SQLite runs a batch without savepoints while its writes succeed (or fail before
    writing): one failing after it wrote makes the batch run again, each write in a savepoint.
    Whatever the path, the failed write leaves no row and the others commit, once each."""
    alice, bob = [await make_user(name) for name in ("alice", "bob")]
    await alice.befriend(bob)
    dm = await alice.dm(bob)
    stream = await open_stream(bob.client)
    await stream.next()  # connected
    me = await db_user(server, alice)
    writer = server.ctx.writer
    before = writer.batches

    one, refused, two = await _queued_behind_a_first_write(
        server,
        actions.send_message(server.ctx, me, dm["id"], "first"),
        actions.send_message(server.ctx, me, dm["id"], "one"),
        # Declaring the conversation's row lock, as a send does: on PostgreSQL too, it shares
        # the others' transaction (each in a savepoint there).
        writer.run(
            _write_then_refuse, dm["id"], alice.id, locks=RowLocks(_conversations, (dm["id"],))
        ),
        actions.send_message(server.ctx, me, dm["id"], "two"),
    )

    await _only_the_refused_write_failed(writer, before, (one, refused, two), Conflict, stream)
    page = await bob.ok("GET", f"/api/conversations/{dm['id']}/messages")
    assert [m["content"] for m in page["messages"]] == ["first", "one", "two"]
    await stream.close()


@pytest.mark.settings(sqlite_busy_timeout_ms=30_000, postgres_lock_timeout_ms=30_000)
async def test_removed_and_added_back_in_one_batch_gets_the_groups_events(
    server: LiveServer, make_user: MakeUser
):
    """A leave and a re-join of the same member committed together: the re-join's span stays
    open (the leave ends only the span opened before it), live and on replay."""
    alice, bob = [await make_user(name) for name in ("alice", "bob")]
    await alice.befriend(bob)
    group = await alice.ok(
        "POST", "/api/conversations", {"type": "group", "name": "g", "member_ids": [bob.id]}, 201
    )
    mark = (await bob.ok("GET", "/api/conversations"))["last_event_id"]
    stream = await open_stream(bob.client)
    await stream.next()  # connected
    me = await db_user(server, alice)
    writer = server.ctx.writer
    before = writer.batches
    out, back = await _queued_behind_a_first_write(
        server,
        actions.send_message(server.ctx, me, group["id"], "first"),
        actions.remove_member(server.ctx, me, group["id"], bob.id),
        actions.add_member(server.ctx, me, group["id"], bob.id),
    )
    assert not isinstance(out, BaseException) and not isinstance(back, BaseException)
    if server.settings.database_url.startswith("sqlite"):
        assert writer.batches == before + 2  # the leave and the re-join shared a transaction
    else:
        # On PostgreSQL, writes that lock more than their conversation's row (these lock
        # users too) run in transactions of their own: no deadlock between batches.
        assert writer.batches == before + 3
    await alice.send(group["id"], "after")
    live = await stream.next_events(6)
    assert [(f.event, f.json.get("reason")) for f in live] == [
        ("message", None),
        ("conversation_update", "removed"),
        ("conversation_update", "member_added"),
        ("message", None),  # the system line: "alice added bob"
        ("notification", None),  # added to the group (again)
        ("message", None),
    ]
    await stream.close()
    replay = await open_stream(bob.client, last_event_id=mark)
    try:
        await replay.next()  # connected
        replayed = await replay.next_events(6)
        assert [(f.id, f.event) for f in replayed] == [(f.id, f.event) for f in live]
    finally:
        await replay.close()


# --- a process killed mid-batch -----------------------------------------------------------


SENDERS = 16
KILL_AFTER = 150


async def _send_until_killed(server: ServerProcess, alice: ApiUser, dm: int) -> dict[int, str]:
    """Many concurrent sends; SIGKILL the server after ``KILL_AFTER`` answers. Returns the
    messages answered 201: id -> content."""
    answered: dict[int, str] = {}
    killed = asyncio.Event()
    counter = iter(range(1_000_000))

    async def sender() -> None:
        async with httpx.AsyncClient(base_url=server.url, cookies=alice.client.cookies) as client:
            while not killed.is_set():
                text = f"m{next(counter)}"
                try:
                    response = await client.post(
                        f"/api/conversations/{dm}/messages", json={"content": text}
                    )
                except httpx.TransportError:
                    return  # the server is gone: this one was never answered
                if response.status_code == 201:
                    answered[response.json()["message"]["id"]] = text
                if len(answered) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    assert server.process is not None
                    server.process.send_signal(signal.SIGKILL)

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return answered


async def _all_messages(user: ApiUser, dm: int) -> dict[int, str]:
    found: dict[int, str] = {}
    before = None
    while True:
        query = f"?limit=100&before={before}" if before else "?limit=100"
        page = await user.ok("GET", f"/api/conversations/{dm}/messages{query}")
        found.update({m["id"]: m["content"] for m in page["messages"]})
        if not page["has_more"]:
            return found
        before = page["messages"][0]["id"]


async def killed_mid_batch_loses_nothing_answered(env: dict[str, str], log: Path) -> None:
    server = ServerProcess(env, log=log)
    await server.start()
    try:
        alice = await ApiUser(server.url, "alice").register()
        bob = await ApiUser(server.url, "bob").register()
        await alice.befriend(bob)
        dm = (await alice.dm(bob))["id"]
        mark = (await bob.ok("GET", "/api/conversations"))["last_event_id"]
        answered = await _send_until_killed(server, alice, dm)
        await server.process.wait()  # type: ignore[union-attr]
        assert len(answered) >= KILL_AFTER

        # Restarted on the same port and database: the same sessions work again.
        server = ServerProcess(env, port=server.port, log=log)
        await server.start()
        stored = await _all_messages(bob, dm)
        # Every write answered 201 is there (and maybe some that were never answered).
        assert {i: stored.get(i) for i in answered} == answered
        # And every stored message's event replays, once, in order.
        stream = await open_stream(bob.client, last_event_id=mark)
        try:
            assert (await stream.next()).event == "connected"
            frames = await stream.next_events(len(stored))
            ids = [f.json["message"]["id"] for f in frames]
            assert ids == sorted(stored)
        finally:
            await stream.close()
    finally:
        await server.kill()


def _env(**extra: str) -> dict[str, str]:
    return {
        "LOG_LEVEL": "warning",
        **{key.upper(): str(value) for key, value in FAST_HASHING.items()},
        **{key.upper(): str(value) for key, value in GENEROUS_LIMITS.items()},
        **extra,
    }


@pytest.mark.skipif(backend() != "sqlite-memory", reason="the SQLite process; PG: tests/cluster")
async def test_a_process_killed_mid_batch_loses_no_answered_write_sqlite(tmp_path: Path):
    database = f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}"
    await killed_mid_batch_loses_nothing_answered(
        _env(DATABASE_URL=database), tmp_path / "server.log"
    )
