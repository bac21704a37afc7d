"""Real nginx, configured from deploy/nginx.conf, in front of three real server processes.

A DM and a group conversation run through the proxy with streams open on every process; then
one process is killed (SIGKILL) mid-conversation. Its clients' streams break; they reconnect
through nginx with Last-Event-ID, as a browser does, land on a live process, and in the end
every tab holds exactly its person's share of the event log, in order, nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from tests.cluster.conftest import StartCluster
from tests.cluster.support import NginxProcess, Person, Tab, assert_in_order, close_all
from tests.support.server import free_port
from tests.support.sse import SSEFrame


async def _streams_per_node(nodes) -> list[int]:
    async with httpx.AsyncClient(timeout=10) as client:
        return [(await client.get(f"{n.url}/api/health")).json()["streams"] for n in nodes]


async def _events_left_by(tab: Tab) -> list[SSEFrame]:
    """The event frames a broken stream delivered before it ended."""
    frames = []
    with contextlib.suppress(asyncio.QueueEmpty):
        while True:
            item = tab.reader.frames.get_nowait()
            if isinstance(item, BaseException):
                break
            if item.comment is None and item.id is not None and item.event != "resync":
                frames.append(item)
    return frames


async def test_conversations_through_nginx_survive_a_killed_process(
    start_cluster: StartCluster, tmp_path
):
    cluster = await start_cluster(3)
    proxy = NginxProcess(
        [f"127.0.0.1:{n.port}" for n in cluster.nodes], tmp_path / "nginx", free_port()
    )
    people: list[Person] = []
    try:
        await proxy.start()
        url = proxy.url
        alice, bob, carol, dave = people = [
            await Person.register(url, name) for name in ("alice", "bob", "carol", "dave")
        ]
        for other in (bob, carol, dave):
            asked = await other.call(
                url, "POST", "/api/friends/request", {"username": "alice"}, 201
            )
            await alice.call(url, "POST", f"/api/friends/requests/{asked['request']['id']}/accept")
        dm = await alice.call(
            url, "POST", "/api/conversations", {"type": "direct", "user_id": bob.id}, 201
        )
        group = await alice.call(
            url,
            "POST",
            "/api/conversations",
            {"type": "group", "name": "all", "member_ids": [bob.id, carol.id, dave.id]},
            201,
        )

        # Six streams through nginx; least_conn spreads them over the three processes.
        tabs: list[Tab] = []
        for person in (alice, bob, carol, dave, alice, bob):
            tab = await person.open_tab(url)
            await tab.wait_connected()
            tabs.append(tab)
        per_node = await _streams_per_node(cluster.nodes)
        assert sum(per_node) == 6 and all(per_node), per_node

        script = [
            (alice, dm, "hi bob"),
            (bob, dm, "hi alice"),
            (carol, group, "hello all"),
            (dave, group, "hey"),
            (alice, group, "plans?"),
            (bob, group, "tonight"),
        ]

        async def converse(lines: list) -> None:
            for sender, conversation, text in lines:
                await sender.call(
                    url,
                    "POST",
                    f"/api/conversations/{conversation['id']}/messages",
                    {"content": f"{text} ({len(lines)})"},
                    201,
                )

        await converse(script)
        # Every stream hears the conversation through the proxy. (The script ends with a group
        # message, which everyone gets: the log's head is then everyone's latest event.)
        for tab in tabs:
            await tab.read_until(await tab.person.current_event_id(url))

        # Kill the process holding the most streams, mid-conversation.
        victim_index = max(range(3), key=lambda i: per_node[i])
        victim = cluster.nodes[victim_index]
        await victim.kill()
        broken_count = per_node[victim_index]
        writing = asyncio.create_task(converse(script * 2))

        # Its streams break (nginx closes them); the others are untouched.
        pending = {asyncio.ensure_future(t.reader.ended.wait()): t for t in tabs}
        broken: list[Tab] = []
        async with asyncio.timeout(20):
            while len(broken) < broken_count:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                broken += [pending.pop(f) for f in done]
        for future in pending:
            future.cancel()

        # Like a browser: reconnect through nginx with the last id received.
        resumed: dict[Tab, Tab] = {}
        for tab in broken:
            tab.frames += await _events_left_by(tab)
            again = await tab.person.open_tab(url, last_event_id=tab.last_id)
            assert again.reader.status_code == 200
            await again.wait_connected()
            resumed[tab] = again
        await writing

        # Every tab's events, before and after the break, are its person's log since it opened.
        for person in people:
            final = await person.current_event_id(url)
            log_tab = await person.open_tab(url, last_event_id="0")
            await log_tab.wait_connected()
            await log_tab.read_until(final)
            log = [(f.id, f.event, f.data) for f in log_tab.frames]
            assert_in_order(log_tab.frames)
            for tab in [t for t in tabs if t.person is person]:
                live = resumed.get(tab, tab)
                await live.read_until(final)
                frames = tab.frames + (live.frames if live is not tab else [])
                start = int(tab.connected["last_event_id"]) if tab.connected else 0
                assert [(f.id, f.event, f.data) for f in frames] == [
                    entry for entry in log if int(entry[0] or 0) > start
                ]
        assert len(resumed) == broken_count
        assert all(n.process.returncode is None for n in cluster.nodes if n is not victim)
    finally:
        await close_all(people)
        await proxy.stop()
