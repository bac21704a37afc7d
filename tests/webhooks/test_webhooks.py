"""Outgoing webhooks on a real server, to a real receiver: set, shown, replaced and removed by
the bot's owner; each event delivered once, in order, signed, retried after failures, also
across a restart."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.api_helpers import assert_error
from tests.conftest import MakeUser
from tests.support.api import PASSWORD, ApiUser
from tests.support.server import LiveServer, ServerProcess
from tests.support.settings import backend, child_server_env, reset_postgres
from tests.webhooks.support import Receiver, signed_with
from tidings.db import Database
from tidings.realtime import log
from tidings.webhooks.models import Webhook

FAST_RETRIES = {"webhook_allow_private_addresses": True, "webhook_retry_base_seconds": 0.05}


async def make_bot(owner: ApiUser, name: str) -> int:
    """A new bot of ``owner``'s (their friend from the start): its id."""
    body = await owner.ok("POST", "/api/bots", {"username": name}, 201)
    return int(body["bot"]["user"]["id"])


async def open_dm(user: ApiUser, other_id: int) -> int:
    response = await user.post("/api/conversations", {"type": "direct", "user_id": other_id})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


async def recorded(owner: ApiUser, bot_id: int, position: int) -> dict[str, Any]:
    """The webhook once the server recorded delivering up to ``position``: the receiver sees
    an event before the server sees its answer, and nothing tells the test when that is, so
    it asks (through the API) until then."""
    async with asyncio.timeout(30):
        while True:
            webhook: dict[str, Any] = (await owner.ok("GET", f"/api/bots/{bot_id}/webhook"))[
                "webhook"
            ]
            if webhook["cursor"] >= position:
                return webhook


async def bot_events(db: Database, bot_id: int, after: int) -> list[tuple[str, str]]:
    """(id, type) of the bot's events after ``after``, as its stream would replay them."""

    def read(session: Any) -> list[tuple[str, str]]:
        page = log.events_page(session, bot_id, after, log.read_head(session), 10_000)
        assert page is not None
        return [(e.id, e.type) for e in page]

    return await db.run_query(read)


@pytest.mark.settings(**FAST_RETRIES)
async def test_a_failing_receiver_gets_each_event_once_in_order_after_retries(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    bot = await make_bot(alice, "helper")
    dm = await open_dm(alice, bot)
    await alice.send(dm, "before the webhook")  # not delivered: the webhook starts at the head
    async with Receiver(fail_first=3) as receiver:
        created = await alice.ok("PUT", f"/api/bots/{bot}/webhook", {"url": receiver.url})
        secret = created["secret"]
        start = created["webhook"]["cursor"]
        assert secret.startswith("whsec_")
        for i in range(3):
            await alice.send(dm, f"m{i}")
        expected = await bot_events(server.ctx.db, bot, start)
        assert [t for _, t in expected].count("message") == 3
        await receiver.wait_until(lambda r: len(r.accepted) >= len(expected))

        # The first event failed three times, then went; each event arrived once, in order.
        first = expected[0][0]
        assert [r.event_id for r in receiver.requests[:4]] == [first] * 4
        assert [r.status for r in receiver.requests[:4]] == [500, 500, 500, 200]
        assert [(r.event_id, r.payload["type"]) for r in receiver.accepted] == expected
        for received in receiver.requests:
            received.verify(secret)
            assert received.headers["content-type"] == "application/json"
        messages = [r.payload["data"] for r in receiver.accepted if r.payload["type"] == "message"]
        assert [m["message"]["content"] for m in messages] == ["m0", "m1", "m2"]

        webhook = await recorded(alice, bot, int(expected[-1][0]))
        assert webhook["cursor"] == int(expected[-1][0])
        assert webhook["failures"] == 0 and webhook["next_attempt_at"] is None
        assert webhook["last_delivery"]["succeeded"] is True
        deliveries = (await alice.ok("GET", f"/api/bots/{bot}/webhook/deliveries"))["deliveries"]
        oldest_first = deliveries[::-1]
        assert [
            (d["event_pos"], d["attempt"], d["status_code"], d["succeeded"])
            for d in oldest_first[:4]
        ] == [
            (int(first), 1, 500, False),
            (int(first), 2, 500, False),
            (int(first), 3, 500, False),
            (int(first), 4, 200, True),
        ]
        assert all("500" in d["error"] for d in oldest_first[:3])
        assert [d["event_pos"] for d in oldest_first[3:]] == [int(i) for i, _ in expected]
        assert all(d["succeeded"] and d["attempt"] == 1 for d in oldest_first[4:])
        failures = server.ctx.metrics.registry.get_sample_value("tidings_webhook_failures_total")
        assert failures == 3


async def test_only_the_owner_sets_a_bots_webhook_with_an_http_url(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    mallory = await make_user("mallory")
    bot = await make_bot(alice, "helper")
    path = f"/api/bots/{bot}/webhook"
    good = {"url": "https://hooks.example.com/tidings?x=1"}
    for user, bot_id in ((mallory, bot), (alice, alice.id), (alice, mallory.id), (alice, 999)):
        for method, body in (("PUT", good), ("GET", None), ("DELETE", None)):
            response = await user.client.request(method, f"/api/bots/{bot_id}/webhook", json=body)
            assert_error(response, 404, "unknown_bot")
        assert_error(await user.get(f"/api/bots/{bot_id}/webhook/deliveries"), 404, "unknown_bot")
    assert_error(await alice.get(path), 404, "no_webhook")
    assert_error(await alice.delete(path), 404, "no_webhook")

    for url in (
        "ftp://example.com/x",
        "example.com/hook",
        "http://",
        "https://example.com/" + "x" * 2000,
        "javascript:alert(1)",
        "",
        " https://example.com",
    ):
        response = await alice.client.put(path, json={"url": url})
        assert response.status_code == 422, (url, response.text)
    # This server does not deliver to its own or a private network (not allowed by default).
    for url in (
        "http://127.0.0.1:8000/",
        "http://localhost/",
        "http://[::1]/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/",
    ):
        assert_error(await alice.client.put(path, json={"url": url}), 422, "private_address")

    created = await alice.ok("PUT", path, good)
    assert created["webhook"]["url"] == good["url"]
    assert created["webhook"]["last_delivery"] is None
    shown = await alice.ok("GET", path)
    assert shown == {"webhook": created["webhook"]}
    assert created["secret"] not in str(shown)
    again = await alice.ok("PUT", path, {"url": "https://other.example.com/"})
    assert again["secret"] != created["secret"]
    assert again["webhook"]["url"] == "https://other.example.com/"
    assert again["webhook"]["cursor"] == created["webhook"]["cursor"]
    assert (await alice.ok("GET", f"{path}/deliveries")) == {"deliveries": []}

    # A token cannot set where a bot's events go.
    secret = (await alice.ok("POST", "/api/tokens", {"name": "s", "scopes": ["write"]}, 201))[
        "secret"
    ]
    bearer = {"Authorization": f"Bearer {secret}"}
    refused = await alice.client.put(path, json=good, headers=bearer)
    assert_error(refused, 403, "session_required")

    await alice.ok("DELETE", path, status=204)
    assert_error(await alice.get(path), 404, "no_webhook")


@pytest.mark.settings(**FAST_RETRIES)
async def test_a_new_secret_signs_what_follows(server: LiveServer, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    bot = await make_bot(alice, "helper")
    dm = await open_dm(alice, bot)
    path = f"/api/bots/{bot}/webhook"
    async with Receiver() as receiver:
        created = await alice.ok("PUT", path, {"url": receiver.url})
        old = created["secret"]
        await alice.send(dm, "one")
        expected = await bot_events(server.ctx.db, bot, created["webhook"]["cursor"])
        await receiver.wait_until(lambda r: len(r.accepted) >= len(expected))
        await recorded(alice, bot, int(expected[-1][0]))
        new = (await alice.ok("PUT", path, {"url": receiver.url}))["secret"]
        seen = len(receiver.requests)
        await alice.send(dm, "two")
        await receiver.wait_until(
            lambda r: any(x.payload["type"] == "message" for x in r.requests[seen:])
        )
        for received in receiver.requests[:seen]:
            received.verify(old)
        for received in receiver.requests[seen:]:
            received.verify(new)
        # Removed: nothing more is sent.
        await alice.ok("DELETE", path, status=204)
        assert_error(await alice.get(f"{path}/deliveries"), 404, "no_webhook")


async def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    bot = await make_bot(alice, "helper")
    path = f"/api/bots/{bot}/webhook"
    async with Receiver() as receiver:
        await alice.ok("PUT", path, {"url": "https://hooks.example.com/"})
        # As if hooks.example.com now resolved to this machine: a name, checked when sent.
        async with server.ctx.db.write() as session:
            await session.execute(
                update(Webhook)
                .where(Webhook.bot_id == bot)
                .values(url=f"http://localhost:{receiver.port}/hook")
            )
        await open_dm(alice, bot)
        server.ctx.webhooks.wake()
        async with server.ctx.db.query_session() as session:
            webhook_id = await session.scalar(select(Webhook.id).where(Webhook.bot_id == bot))
        deliveries: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while not deliveries:  # a failed attempt leaves nothing to await but its log
            assert time.monotonic() < deadline
            deliveries = (await alice.ok("GET", f"{path}/deliveries"))["deliveries"]
        [refused] = deliveries
        assert refused["succeeded"] is False and refused["status_code"] is None
        assert (
            "private" in refused["error"] and "WEBHOOK_ALLOW_PRIVATE_ADDRESSES" in refused["error"]
        )
        assert receiver.requests == []
        assert webhook_id in server.ctx.webhooks.delivering


def _server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return child_server_env(
        tmp_path,
        "info",
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true",
        WEBHOOK_RETRY_BASE_SECONDS="0.3",
        **extra,
    )


async def stop_server(server: ServerProcess, how: str) -> None:
    """A clean stop (SIGTERM) or a crash (SIGKILL: the lease stays until it runs out)."""
    if how == "terminate":
        server.terminate()
        assert await server.wait() in (0, -15)
    else:
        await server.kill()


@pytest.mark.parametrize("how", ["terminate", "kill"])
async def test_a_restart_while_retrying_loses_nothing_and_repeats_nothing(
    tmp_path: Path, how: str
) -> None:
    env = _server_env(tmp_path, WEBHOOK_LEASE_SECONDS="2")
    if env["DATABASE_URL"].startswith("postgresql"):
        await reset_postgres(env["DATABASE_URL"])
    server_log = tmp_path / "server.log"
    server = ServerProcess(env, log=server_log)
    await server.start()
    async with Receiver(fail_first=3) as receiver:
        try:
            alice = await ApiUser(server.url, "alice").register()
            bot = await make_bot(alice, "helper")
            dm = await open_dm(alice, bot)
            created = await alice.ok("PUT", f"/api/bots/{bot}/webhook", {"url": receiver.url})
            secret, start = created["secret"], created["webhook"]["cursor"]
            for i in range(3):
                await alice.send(dm, f"m{i}")
            await receiver.wait_until(lambda r: len(r.requests) >= 2)
            # Stopped while the first event is failing and backing off.
            await stop_server(server, how)
            assert receiver.accepted == []

            server = ServerProcess(env, port=server.port, log=server_log)
            await server.start()
            for i in range(3, 5):
                await alice.send(dm, f"m{i}")
            db = Database(env["DATABASE_URL"])
            try:
                expected = await bot_events(db, bot, start)
                await receiver.wait_until(lambda r: len(r.accepted) >= len(expected))
                # Stopped again with nothing failing (a crash between a receiver's 2xx and
                # its record would send that event again: at least once), one more message
                # after the restart.
                await recorded(alice, bot, int(expected[-1][0]))
                await stop_server(server, how)
                server = ServerProcess(env, port=server.port, log=server_log)
                await server.start()
                await alice.send(dm, "m5")
                expected = await bot_events(db, bot, start)
                await receiver.wait_until(lambda r: len(r.accepted) >= len(expected))
            finally:
                await db.dispose()
            assert [(r.event_id, r.payload["type"]) for r in receiver.accepted] == expected
            assert [r.status for r in receiver.requests[:4]] == [500, 500, 500, 200]
            for received in receiver.requests:
                received.verify(secret)
            contents = [
                r.payload["data"]["message"]["content"]
                for r in receiver.accepted
                if r.payload["type"] == "message"
            ]
            assert contents == [f"m{i}" for i in range(6)]
            await recorded(alice, bot, int(expected[-1][0]))
            deliveries = (await alice.ok("GET", f"/api/bots/{bot}/webhook/deliveries"))[
                "deliveries"
            ]
            failed = sum(not d["succeeded"] for d in deliveries)
            # (A crash may come before the second failure is recorded.)
            assert failed == 3 if how == "terminate" else 2 <= failed <= 3
            assert sorted(d["event_pos"] for d in deliveries if d["succeeded"]) == [
                int(i) for i, _ in expected
            ]
            await alice.aclose()
        finally:
            server.terminate()
            await server.wait()


@pytest.mark.settings(**FAST_RETRIES)
async def test_events_pruned_before_delivery_make_one_resync(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    bot = await make_bot(alice, "helper")
    dm = await open_dm(alice, bot)
    path = f"/api/bots/{bot}/webhook"
    async with Receiver(fail_first=10**9) as receiver:
        await alice.ok("PUT", path, {"url": receiver.url})
        await alice.send(dm, "lost")
        await receiver.wait_until(lambda r: len(r.requests) >= 2)
        # The receiver was down for longer than the log keeps events.
        async with server.ctx.db.write() as session:
            await session.run_sync(log.prune_events, max_age=timedelta(0))
            floor, _ = await session.run_sync(log.bounds)
        secret = (await alice.ok("PUT", path, {"url": receiver.url}))["secret"]  # retry now
        # (Accepting only what the new secret signs: an attempt already under way may carry
        # the old one.)
        receiver.accept = lambda headers, body: signed_with(secret, headers, body)
        await receiver.wait_until(lambda r: len(r.accepted) >= 1)
        await alice.send(dm, "after")
        expected = await bot_events(server.ctx.db, bot, floor)
        await receiver.wait_until(lambda r: len(r.accepted) >= 1 + len(expected))
        resync, *rest = receiver.accepted
        assert resync.verify(secret) == {
            "id": str(floor),
            "type": "resync",
            "data": {"last_event_id": str(floor)},
        }
        assert [(r.event_id, r.payload["type"]) for r in rest] == expected
        assert any("after" in str(r.payload) for r in rest)
        assert all("lost" not in str(r.payload) for r in receiver.accepted)


async def lease_owner(db: Database, bot_id: int) -> str | None:
    async with db.query_session() as session:
        owner = await session.scalar(select(Webhook.lease_owner).where(Webhook.bot_id == bot_id))
    return owner


@pytest.mark.skipif(backend() != "postgres-redis", reason="several processes on one database")
async def test_two_processes_deliver_each_event_once_and_one_takes_over(tmp_path: Path) -> None:
    env = _server_env(tmp_path, WEBHOOK_LEASE_SECONDS="2")
    await reset_postgres(env["DATABASE_URL"])
    first = ServerProcess(env, log=tmp_path / "first.log")
    await first.start()
    second = ServerProcess(env, log=tmp_path / "second.log")
    await second.start()
    db = Database(env["DATABASE_URL"])
    async with Receiver(fail_first=3) as receiver:
        try:
            alice = await ApiUser(first.url, "alice").register()
            bot = await make_bot(alice, "helper")
            dm = await open_dm(alice, bot)
            token = await alice.ok(
                "POST", f"/api/bots/{bot}/tokens", {"name": "t", "scopes": ["write"]}, 201
            )
            as_bot = httpx.AsyncClient(
                base_url=second.url, headers={"Authorization": f"Bearer {token['secret']}"}
            )
            created = await alice.ok("PUT", f"/api/bots/{bot}/webhook", {"url": receiver.url})
            secret, start = created["secret"], created["webhook"]["cursor"]
            for i in range(3):
                await alice.send(dm, f"a{i}")
                sent = await as_bot.post(
                    f"/api/conversations/{dm}/messages", json={"content": f"b{i}"}
                )
                assert sent.status_code == 201, sent.text  # written by the other process
            expected = await bot_events(db, bot, start)
            await receiver.wait_until(lambda r: len(r.accepted) >= len(expected))
            await recorded(alice, bot, int(expected[-1][0]))
            assert [r.status for r in receiver.requests[:4]] == [500, 500, 500, 200]
            assert [(r.event_id, r.payload["type"]) for r in receiver.accepted] == expected

            # The process holding the lease dies; the other carries on once it expires.
            holder = await lease_owner(db, bot)
            assert holder is not None
            pids = {first.process.pid: first, second.process.pid: second}  # type: ignore[union-attr]
            [dead] = [p for pid, p in pids.items() if f":{pid}:" in holder]
            survivor = second if dead is first else first
            await dead.kill()
            sender = ApiUser(survivor.url, "alice")
            await sender.ok("POST", "/api/auth/login", {"username": "alice", "password": PASSWORD})
            await sender.send(dm, "after the crash")
            expected = await bot_events(db, bot, start)
            await receiver.wait_until(lambda r: len(r.accepted) >= len(expected))
            assert [(r.event_id, r.payload["type"]) for r in receiver.accepted] == expected
            for received in receiver.requests:
                received.verify(secret)
            now_holder = await lease_owner(db, bot)
            assert now_holder is not None and now_holder != holder
            await sender.aclose()
            await as_bot.aclose()
            await alice.aclose()
        finally:
            await db.dispose()
            for process in (first, second):
                process.terminate()
                await process.wait()


@pytest.mark.settings(**FAST_RETRIES, webhook_lease_seconds=0.4)
async def test_an_idle_webhooks_cursor_keeps_up_with_the_log(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    bot = await make_bot(alice, "helper")
    async with Receiver() as receiver:
        await alice.ok("PUT", f"/api/bots/{bot}/webhook", {"url": receiver.url})
        # Events for others only: nothing is sent, and the cursor moves past them (with the
        # lease's renewal), so the webhook never falls behind the log's retention floor.
        mallory = await make_user("mallory")
        await mallory.befriend(alice)
        head = await server.ctx.db.run_query(log.read_head)
        webhook = await recorded(alice, bot, head)
        assert webhook["cursor"] == head and webhook["last_delivery"] is None
        assert receiver.requests == []
        dm = await open_dm(alice, bot)
        await alice.send(dm, "now")
        expected = await bot_events(server.ctx.db, bot, head)
        await receiver.wait_until(lambda r: len(r.accepted) >= len(expected))
        assert [(r.event_id, r.payload["type"]) for r in receiver.accepted] == expected
