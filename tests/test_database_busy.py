"""A busy database answers 503 with Retry-After and ``code: database_busy``, never 500, and the
same request succeeds once the database is free again."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager

import pytest
from sqlalchemy import exc as sqlalchemy_exc

from tests.api_helpers import assert_error
from tests.support.settings import backend


def _assert_busy(response) -> None:
    assert_error(response, 503, "database_busy")
    assert int(response.headers["retry-after"]) >= 1


async def _friends_with_a_dm(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await alice.befriend(bob)
    return alice, bob, await alice.dm(bob)


@contextmanager
def _write_lock_held_by_another_process(server) -> Iterator[None]:
    """Another program (a backup, a shell) holds the write lock on the server's SQLite file."""
    path = server.settings.database_url.removeprefix("sqlite+aiosqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.skipif(backend() != "sqlite-memory", reason="SQLite's file lock")
@pytest.mark.settings(sqlite_busy_timeout_ms=50)
async def test_a_write_while_another_process_holds_the_sqlite_lock_is_503(server, make_user):
    alice, bob, dm = await _friends_with_a_dm(make_user)
    with _write_lock_held_by_another_process(server):
        response = await alice.post(f"/api/conversations/{dm['id']}/messages", {"content": "hello"})
        _assert_busy(response)
        _assert_busy(
            await bob.client.post(
                "/api/auth/register", json={"username": "carol", "password": "x" * 12}
            )
        )
        # Reads go on (WAL): the 503 is about the lock, not a broken server.
        assert (await bob.get(f"/api/conversations/{dm['id']}/messages")).json()["messages"] == []
    sent = await alice.send(dm["id"], "hello")
    page = await bob.ok("GET", f"/api/conversations/{dm['id']}/messages")
    assert [m["id"] for m in page["messages"]] == [sent["id"]]


QUEUED_WRITES = 10
BUSY_TIMEOUT_MS = 2000
"""Ten writes waiting the busy timeout in turn would take 20 s: the test allows 10 in all."""


@pytest.mark.skipif(backend() != "sqlite-memory", reason="SQLite's file lock")
@pytest.mark.parametrize(
    "case",
    [
        # The wait for the in-process write lock is bounded by the pool timeout...
        pytest.param(
            "lock-wait-bounded",
            marks=pytest.mark.settings(
                sqlite_busy_timeout_ms=BUSY_TIMEOUT_MS, db_pool_timeout_seconds=0.2
            ),
        ),
        # ...and writes queued behind one that found the file locked give up with it.
        pytest.param(
            "queue-fails-fast",
            marks=pytest.mark.settings(
                sqlite_busy_timeout_ms=BUSY_TIMEOUT_MS, db_pool_timeout_seconds=30.0
            ),
        ),
    ],
)
async def test_writes_queued_behind_another_processs_sqlite_lock_all_answer_503_soon(
    server, make_user, case
):
    alice, bob, dm = await _friends_with_a_dm(make_user)
    with _write_lock_held_by_another_process(server):
        async with asyncio.timeout(BUSY_TIMEOUT_MS / 1000 * QUEUED_WRITES / 2):
            responses = await asyncio.gather(
                *(
                    alice.post(f"/api/conversations/{dm['id']}/messages", {"content": str(i)})
                    for i in range(QUEUED_WRITES)
                )
            )
        for response in responses:
            _assert_busy(response)
    # The lock is free: writes go through again, none held back by the earlier failures.
    sent = [await alice.send(dm["id"], f"after {i}") for i in range(2)]
    page = await bob.ok("GET", f"/api/conversations/{dm['id']}/messages")
    assert sorted(m["id"] for m in page["messages"]) == sorted(m["id"] for m in sent)


@pytest.mark.settings(db_pool_timeout_seconds=0.05)
async def test_a_request_that_finds_no_free_pooled_connection_is_503(server, make_user):
    alice = await make_user("alice")
    db = server.ctx.db
    async with AsyncExitStack() as held:
        # Take every connection the server's read pool will give, until it makes us wait
        # (SQLite: the read threads' pool; PostgreSQL: the one pool).
        with pytest.raises(sqlalchemy_exc.TimeoutError):  # noqa: PT012 (until it raises)
            while True:
                if db.sync_engine is not None:
                    held.enter_context(db.sync_engine.connect())
                else:
                    await held.enter_async_context(db.engine.connect())
        _assert_busy(await alice.get("/api/auth/me"))
    assert (await alice.ok("GET", "/api/auth/me"))["user"]["username"] == "alice"


@pytest.mark.skipif(backend() != "postgres-redis", reason="PostgreSQL's row locks")
@pytest.mark.settings(postgres_lock_timeout_ms=50)
async def test_a_write_waiting_on_a_postgres_lock_held_elsewhere_is_503(server, make_user):
    import asyncpg

    alice, bob = await make_user("alice"), await make_user("bob")
    await alice.befriend(bob)
    dm = await alice.dm(bob)
    dsn = server.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    other = await asyncpg.connect(dsn)
    try:
        # Another program holds the conversation's row lock (a sending transaction takes it).
        async with other.transaction():
            await other.execute("SELECT 1 FROM conversation WHERE id = $1 FOR UPDATE", dm["id"])
            response = await alice.post(
                f"/api/conversations/{dm['id']}/messages", {"content": "hello"}
            )
            _assert_busy(response)
    finally:
        await other.close()
    sent = await alice.send(dm["id"], "hello")
    page = await bob.ok("GET", f"/api/conversations/{dm['id']}/messages")
    assert [m["id"] for m in page["messages"]] == [sent["id"]]
