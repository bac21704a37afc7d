"""Issue 13 across three real processes (PostgreSQL, Redis): managing a group and changing a
profile reach exactly the right tabs on every process, live and on a replay; a removed member
gets nothing more at once; a profile change is seen by every process's session cache."""

from __future__ import annotations

from tests.cluster.conftest import StartCluster
from tests.cluster.support import Person, barrier, close_all, step, tabs_agree_then_replay


async def test_group_changes_and_profile_changes_reach_exactly_their_addressees(
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
        # alice is everyone's friend; bob, carol and dave know each other only from the group.
        for friend in (bob, carol, dave):
            await alice.api.befriend(friend.api)
        group = await alice.api.group("plans", bob.api, carol.api, dave.api)
        for person in (alice, bob, carol, dave):
            await person.call(n0, "POST", "/api/notifications/read-all")
            for node in (n0, n1, n2):  # each process caches their session
                await person.call(node, "GET", "/api/auth/me")
        for person, nodes in [
            (alice, [n0, n1]),
            (bob, [n1]),
            (carol, [n2, n0]),
            (dave, [n2]),
            (eve, [n0, n1, n2]),
        ]:
            for node in nodes:
                await (await person.open_tab(node)).wait_connected()

        members = [alice, bob, carol, dave]
        path = f"/api/conversations/{group['id']}"
        # Renamed (on another process than any of alice's tabs' first).
        await alice.call(n2, "PATCH", path, {"name": "trip"})
        got = await step({p: ["message", "conversation_update"] for p in members})
        assert got[dave][1].json["conversation"]["name"] == "trip"
        assert got[dave][1].json["reason"] == "updated"
        assert got[dave][1].json["conversation"]["members"] is None  # unchanged: not resent
        # bob made an admin.
        await alice.call(n1, "PUT", f"{path}/members/{bob.id}/role", {"role": "admin"})
        got = await step({p: ["message", "conversation_update"] for p in members})
        roles = {m["username"]: m["role"] for m in got[carol][1].json["conversation"]["members"]}
        assert roles == {"alice": "owner", "bob": "admin", "carol": "member", "dave": "member"}
        # bob's new name reaches his friend and the members he shares the group with, and
        # every process serves his session with it at once.
        await bob.call(n0, "PATCH", "/api/users/me", {"display_name": "Robert"})
        got = await step({p: ["user_updated"] for p in members})
        assert got[dave][0].json["user"]["display_name"] == "Robert"
        for node in (n0, n1, n2):
            me = await bob.call(node, "GET", "/api/auth/me")
            assert me["user"]["display_name"] == "Robert", node
        # bob removes carol: she is told, and hears nothing of the group after.
        await bob.call(n2, "DELETE", f"{path}/members/{carol.id}", status=204)
        await step(
            {
                carol: ["conversation_update"],
                alice: ["message", "conversation_update"],
                bob: ["message", "conversation_update"],
                dave: ["message", "conversation_update"],
            }
        )
        await dave.call(n1, "POST", f"{path}/messages", {"content": "without carol"}, 201)
        await step({p: ["message"] for p in (alice, bob, dave)})
        # bob leaves; alice deletes the group.
        await bob.call(n0, "DELETE", f"{path}/members/{bob.id}", status=204)
        await step(
            {
                bob: ["conversation_update"],
                alice: ["message", "conversation_update"],
                dave: ["message", "conversation_update"],
            }
        )
        await alice.call(n1, "DELETE", path, status=204)
        got = await step({alice: ["conversation_update"], dave: ["conversation_update"]})
        assert (got[dave][0].json["reason"], got[dave][0].json["conversation"]) == ("deleted", None)

        # The barrier: had anyone received anything not listed (eve anything, carol the group's
        # later events, bob its deletion), it would come before this.
        await barrier(sentinel, n1, (alice, bob, carol, dave, eve))

        for person in (alice, bob, carol, dave, eve):
            reference, replayed = await tabs_agree_then_replay(person, [n2, n1])
            assert [(f.id, f.event, f.data) for f in replayed] == [
                (f.id, f.event, f.data) for f in reference
            ], person.username
        assert [f.event for f in eve.tabs[0].frames] == ["friend_request", "notification"]
    finally:
        await close_all(people)
