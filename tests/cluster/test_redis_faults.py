"""Redis faults while events flow between real server processes: no event is silently lost.

The guarantee (docs/scale-out.md): requests and same-process streams keep working without
Redis; once a process's subscription is back, its streams catch up from the event log, and a
process whose publishes failed sends them when Redis answers again. So every stream ends up
with every one of its events, in order, without a further write to push them out.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from tests.cluster.conftest import StartCluster
from tests.cluster.support import Person, Tab, assert_in_order, close_all
from tests.support.server import free_port
from tests.support.services import RedisServer, TcpProxy, missing


async def _kill_subscriptions(redis_url: str, prefix: str) -> int:
    """CLIENT KILL the subscription connections of this cluster's processes (only theirs)."""
    client = Redis.from_url(redis_url)
    try:
        ids = [
            c["id"]
            for c in await client.client_list(_type="pubsub")
            if c.get("name", "").startswith(f"tidings-sub-{prefix}-")
        ]
        for client_id in ids:
            await client.client_kill_filter(_id=client_id)
        return len(ids)
    finally:
        await client.aclose()


async def _group_of_three(n0, n1, n2) -> tuple[list[Person], int]:
    alice, bob, carol = people = [
        await Person.register(n0, "alice"),
        await Person.register(n1, "bob"),
        await Person.register(n2, "carol"),
    ]
    await alice.api.befriend(bob.api)
    await alice.api.befriend(carol.api)
    group = await alice.call(
        n0,
        "POST",
        "/api/conversations",
        {"type": "group", "name": "g", "member_ids": [bob.id, carol.id]},
        201,
    )
    return people, group["id"]


async def _open_tabs(people: list[Person], nodes) -> list[Tab]:
    tabs = []
    for person, node in zip(people, nodes, strict=True):
        tab = await person.open_tab(node)
        await tab.wait_connected()
        tabs.append(tab)
    return tabs


async def _converse(
    people: list[Person],
    writers: dict[Person, Any],
    group: int,
    count: int,
    *,
    before_each: Callable[[int], Awaitable[None]],
) -> list[tuple[Person, str]]:
    """``count`` group messages, the people taking turns, each through their writer process."""
    sent: list[tuple[Person, str]] = []
    for n in range(count):
        await before_each(n)
        sender = people[n % 3]
        text = f"message {n}"
        await sender.call(
            writers[sender], "POST", f"/api/conversations/{group}/messages", {"content": text}, 201
        )
        sent.append((sender, text))
    return sent


async def _expect_conversation(tabs: list[Tab], sent: list[tuple[Person, str]]) -> None:
    """Each tab gets every group message ``sent`` (its own too), once each, in order."""
    for tab in tabs:
        after = int(tab.connected["last_event_id"]) if tab.connected else 0
        frames = await tab.expect(["message"] * len(sent), timeout=20)
        assert_in_order(frames, after=after)
        texts = [f.json["message"]["content"] for f in frames]
        assert texts == [text for _, text in sent]


async def test_subscriptions_killed_while_messages_flow(start_cluster: StartCluster):
    """Redis drops every subscription of the cluster mid-conversation (CLIENT KILL)."""
    cluster = await start_cluster(3)
    n0, n1, n2 = cluster.nodes
    people, group = await _group_of_three(n0, n1, n2)
    try:
        # Streams on one process each; each person writes through another one.
        tabs = await _open_tabs(people, [n0, n1, n2])
        writers = {people[0]: n1, people[1]: n2, people[2]: n0}

        async def kill_at_10(n: int) -> None:
            if n == 10:
                assert await _kill_subscriptions(cluster.redis_url, cluster.prefix) == 3

        sent = await _converse(people, writers, group, 30, before_each=kill_at_10)
        await _expect_conversation(tabs, sent)
    finally:
        await close_all(people)


async def test_redis_unreachable_then_back(start_cluster: StartCluster, services):
    """Redis is out of reach for both processes; requests and local streams go on; once it is
    back, the other process's streams get everything without another write."""
    _, redis_url = services
    proxy = await TcpProxy.to_url(redis_url).start()
    people: list[Person] = []
    try:
        cluster = await start_cluster(2, redis_urls=[proxy.url_through(redis_url)] * 2)
        n0, n1 = cluster.nodes
        people, group = await _group_of_three(n0, n1, n0)
        alice, bob, _ = people
        tabs = await _open_tabs(people, [n0, n1, n0])
        path = f"/api/conversations/{group}/messages"

        proxy.cut()
        await bob.call(n1, "POST", path, {"content": "bob, while Redis is away"}, 201)
        await tabs[1].expect(["message"])  # bob's own, on his process
        for n in range(3):
            await alice.call(n0, "POST", path, {"content": f"alice {n}"}, 201)
        # On alice's process streams go on. Her first message there comes after bob's in the
        # log, so that process reads bob's from the log first (its sequencer fills the gap).
        await tabs[0].expect(["message"] * 4)
        await tabs[2].expect(["message"] * 4)
        for tab in (tabs[0], tabs[2]):
            assert tab.frames[0].json["message"]["content"] == "bob, while Redis is away"

        proxy.restore()  # and nothing more is written: what bob misses must come by itself
        frames = await tabs[1].expect(["message"] * 3, timeout=20)
        got_by_bob = [f.json["message"]["content"] for f in frames]
        assert got_by_bob == ["alice 0", "alice 1", "alice 2"]
        for tab in tabs:
            assert_in_order(tab.frames, after=int(tab.connected["last_event_id"]))
        assert proxy.connections_made > 2  # the processes did reconnect
    finally:
        await close_all(people)
        await proxy.close()


async def test_redis_restarted_while_messages_flow(start_cluster: StartCluster, tmp_path):
    """A private redis-server is stopped mid-conversation and started again on its port."""
    if shutil.which("redis-server") is None:
        missing("redis-server is not installed: cannot run a private Redis to restart")
    redis = await RedisServer(free_port(), str(tmp_path / "redis.log")).start()
    people: list[Person] = []
    try:
        cluster = await start_cluster(3, redis_urls=[redis.url] * 3)
        n0, n1, n2 = cluster.nodes
        people, group = await _group_of_three(n0, n1, n2)
        tabs = await _open_tabs(people, [n0, n1, n2])
        writers = {people[0]: n2, people[1]: n0, people[2]: n1}

        async def stop_at_8_start_at_16(n: int) -> None:
            if n == 8:
                await redis.stop()
            if n == 16:
                await redis.start()

        sent = await _converse(people, writers, group, 24, before_each=stop_at_8_start_at_16)
        await _expect_conversation(tabs, sent)
    finally:
        await close_all(people)
        await redis.stop()
