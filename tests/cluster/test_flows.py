"""Three real server processes, one PostgreSQL database, one Redis: issue 3's flow across them.

Streams are spread over the processes (several people hold tabs on two of them), and every
write is sent to a process that holds no stream of its author, so every event crosses Redis to
reach some of its addressees.
"""

from __future__ import annotations

import asyncio

from tests.cluster.conftest import StartCluster
from tests.cluster.support import (
    Person,
    assert_in_order,
    barrier,
    close_all,
    step,
    tabs_agree_then_replay,
)


async def test_every_event_reaches_exactly_its_addressees_on_every_process(
    start_cluster: StartCluster,
):
    cluster = await start_cluster(3)
    n0, n1, n2 = cluster.nodes
    people: list[Person] = []
    try:
        alice, bob, carol, dave, eve, sentinel = people = [
            await Person.register(node, name)
            for node, name in zip(
                [n0, n1, n2, n0, n1, n2],
                ["alice", "bob", "carol", "dave", "eve", "sentinel"],
                strict=True,
            )
        ]
        # Streams: alice on 0 and 1, bob on 1, carol on 2, dave on 2 and 0, and eve (who is in
        # none of it) on every process. The sentinel has no stream; it sends the barrier.
        for person, nodes in [
            (alice, [n0, n1]),
            (bob, [n1]),
            (carol, [n2]),
            (dave, [n2, n0]),
            (eve, [n0, n1, n2]),
        ]:
            for node in nodes:
                tab = await person.open_tab(node)
                assert (await tab.wait_connected())["last_event_id"] == "0"

        # Friend request and accept.
        request = await alice.call(n2, "POST", "/api/friends/request", {"username": "bob"}, 201)
        got = await step({bob: ["friend_request", "notification"]})
        assert got[bob][0].json["request"]["id"] == request["request"]["id"]
        assert got[bob][1].json["unread_count"] == 1
        await bob.call(n0, "POST", f"/api/friends/requests/{request['request']['id']}/accept")
        got = await step({alice: ["friend_update", "notification"], bob: ["friend_update"]})
        assert got[alice][0].json["friend"]["id"] == bob.id
        assert got[bob][0].json["friend"]["id"] == alice.id
        for friend in (carol, dave):
            asked = await friend.call(
                n1, "POST", "/api/friends/request", {"username": "alice"}, 201
            )
            await step({alice: ["friend_request", "notification"]})
            await alice.call(n2, "POST", f"/api/friends/requests/{asked['request']['id']}/accept")
            await step({friend: ["friend_update", "notification"], alice: ["friend_update"]})

        # A direct conversation.
        dm = await alice.call(
            n2, "POST", "/api/conversations", {"type": "direct", "user_id": bob.id}, 201
        )
        await step({alice: ["conversation_update"], bob: ["conversation_update"]})
        sent = await alice.call(
            n2, "POST", f"/api/conversations/{dm['id']}/messages", {"content": "hi bob"}, 201
        )
        got = await step({bob: ["message"], alice: ["message"]})
        assert got[bob][0].json["message"] == sent["message"]
        assert got[alice][0].json["message"] == sent["message"]

        # Notifications read: one, then all; every tab of the reader hears of it.
        listed = await alice.call(n2, "GET", "/api/notifications")
        first = listed["notifications"][0]["id"]
        await alice.call(n2, "POST", f"/api/notifications/{first}")
        got = await step({alice: ["notification_read"]})
        assert got[alice][0].json["notification_ids"] == [first]
        await bob.call(n0, "POST", "/api/notifications/read-all")
        got = await step({bob: ["notification_read"]})
        assert got[bob][0].json["notification_ids"] is None
        assert got[bob][0].json["unread_count"] == 0

        # A group: created, a message, a member added, a member removed, another message.
        group = await alice.call(
            n1,
            "POST",
            "/api/conversations",
            {"type": "group", "name": "plans", "member_ids": [bob.id, carol.id]},
            201,
        )
        await step(
            {
                alice: ["conversation_update"],
                bob: ["conversation_update", "notification"],
                carol: ["conversation_update", "notification"],
            }
        )
        path = f"/api/conversations/{group['id']}"
        await carol.call(n0, "POST", f"{path}/messages", {"content": "from carol"}, 201)
        got = await step({alice: ["message"], bob: ["message"], carol: ["message"]})
        assert got[bob][0].json["message"]["sender"]["id"] == carol.id
        # A reply that mentions carol, its edit, a reaction to it, its deletion.
        first = got[bob][0].json["message"]
        reply = await bob.call(
            n2,
            "POST",
            f"{path}/messages",
            {"content": "@carol yes", "reply_to_id": first["id"]},
            201,
        )
        got = await step({alice: ["message"], bob: ["message"], carol: ["message", "notification"]})
        assert got[alice][0].json["message"]["reply_to"]["id"] == first["id"]
        assert got[carol][1].json["notification"]["type"] == "mention"
        reply_path = f"{path}/messages/{reply['message']['id']}"
        await bob.call(n0, "PATCH", reply_path, {"content": "@carol yes!"})
        got = await step({p: ["message_updated"] for p in (alice, bob, carol)})
        assert got[carol][0].json["message"]["content"] == "@carol yes!"
        await carol.call(n1, "PUT", f"{reply_path}/reactions/👍")
        got = await step({p: ["message_reactions"] for p in (alice, bob, carol)})
        assert got[bob][0].json["reactions"] == [
            {"emoji": "👍", "count": 1, "user_ids": [carol.id]}
        ]
        await bob.call(n2, "DELETE", reply_path)
        # (carol's mention in it is read now: her tabs are told first.)
        got = await step(
            {
                alice: ["message_deleted"],
                bob: ["message_deleted"],
                carol: ["notification_read", "message_deleted"],
            }
        )
        assert got[alice][0].json["message"]["deleted"] is True
        assert len(got[carol][0].json["notification_ids"]) == 1  # the mention
        await alice.call(n2, "POST", f"{path}/members", {"user_id": dave.id}, 201)
        # (The announcement, then the system line "alice added dave".)
        got = await step(
            {
                alice: ["conversation_update", "message"],
                bob: ["conversation_update", "message"],
                carol: ["conversation_update", "message"],
                dave: ["conversation_update", "message", "notification"],
            }
        )
        assert got[dave][1].json["message"]["system"]["action"] == "added"
        assert got[bob][0].json["reason"] == "member_added"
        await alice.call(n0, "DELETE", f"{path}/members/{bob.id}", status=204)
        got = await step(
            {
                bob: ["conversation_update"],
                alice: ["message", "conversation_update"],
                carol: ["message", "conversation_update"],
                dave: ["message", "conversation_update"],
            }
        )
        assert got[bob][0].json["reason"] == "removed"
        assert got[bob][0].json["conversation"] is None
        assert got[carol][0].json["message"]["system"]["action"] == "removed"
        assert got[carol][1].json["reason"] == "member_removed"
        await dave.call(n1, "POST", f"{path}/messages", {"content": "from dave"}, 201)
        await step({alice: ["message"], carol: ["message"], dave: ["message"]})

        # The barrier: a last event for everyone. Had anyone received anything not listed
        # above (eve anything at all, bob the last group message), it would come first.
        await barrier(sentinel, n1, (alice, bob, carol, dave, eve))

        # Each person's tabs, on whichever processes, saw the same sequence in log order, and it
        # is what the log replays on yet another process (except that the deleted reply shows
        # as its placeholder wherever it was: a deletion takes its text out of the log).
        for person in (alice, bob, carol, dave, eve):
            reference, replayed = await tabs_agree_then_replay(person, [n2, n1])
            for shown, again in zip(reference, replayed, strict=True):
                assert again.data == shown.data or (
                    "@carol yes" in shown.data and "@carol yes" not in again.data
                ), (shown.data, again.data)
        assert [f.event for f in eve.tabs[0].frames] == ["friend_request", "notification"]
    finally:
        await close_all(people)


async def test_reconnecting_to_another_process_replays_what_was_missed(
    start_cluster: StartCluster,
):
    """bob leaves process 0 and comes back on process 2 while alice keeps writing (on 1)."""
    cluster = await start_cluster(3)
    n0, n1, n2 = cluster.nodes
    people: list[Person] = []
    try:
        alice, bob = people = [await Person.register(n0, "alice"), await Person.register(n1, "bob")]
        await alice.api.befriend(bob.api)
        dm = await alice.api.dm(bob.api)
        tab = await bob.open_tab(n0)
        start = int((await tab.wait_connected())["last_event_id"])
        path = f"/api/conversations/{dm['id']}/messages"

        async def send(texts: list[str]) -> None:
            for text in texts:
                await alice.call(n1, "POST", path, {"content": text}, 201)

        await send(["one", "two"])
        before = await tab.expect(["message"] * 2)
        await tab.close()
        await send(["three", "four", "five"])  # while bob is away

        # Back, on another process, while alice goes on writing during the replay.
        back = await bob.open_tab(n2, last_event_id=before[-1].id)
        writing = asyncio.create_task(send([f"live {n}" for n in range(5)]))
        await back.wait_connected()
        after = await back.expect(["message"] * 8)
        await writing

        frames = before + after
        assert_in_order(frames, after=start)
        texts = [f.json["message"]["content"] for f in frames if f.event == "message"]
        assert texts == ["one", "two", "three", "four", "five"] + [f"live {n}" for n in range(5)]
    finally:
        await close_all(people)


async def test_one_client_id_sent_to_two_processes_at_once_is_one_message(
    start_cluster: StartCluster,
):
    """A retry that reaches another process while the first send is still in flight (two
    processes, one database): one message, one event, and both answers are that message."""
    cluster = await start_cluster(2)
    n0, n1 = cluster.nodes
    alice, bob = people = [await Person.register(n0, "alice"), await Person.register(n1, "bob")]
    try:
        request = await alice.call(n0, "POST", "/api/friends/request", {"username": "bob"}, 201)
        await bob.call(n1, "POST", f"/api/friends/requests/{request['request']['id']}/accept")
        dm = await alice.call(
            n0, "POST", "/api/conversations", {"type": "direct", "user_id": bob.id}, 201
        )
        tab = await bob.open_tab(n1)
        await tab.wait_connected()
        path = f"/api/conversations/{dm['id']}/messages"
        for round_ in range(5):
            body = {"content": f"once {round_}", "client_id": f"retry-{round_}"}
            answers = await asyncio.gather(
                *(alice.on(node).post(path, json=body) for node in (n0, n1, n0, n1))
            )
            assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
            assert len({a.json()["message"]["id"] for a in answers}) == 1
            [frame] = await tab.expect(["message"])
            assert frame.json["message"] == answers[0].json()["message"]
        history = await bob.call(n0, "GET", path)
        assert [m["content"] for m in history["messages"]] == [f"once {n}" for n in range(5)]
    finally:
        await close_all(people)
