"""Ending a session ends its streams on every process (issue 9), through Redis."""

from __future__ import annotations

from tests.cluster.conftest import StartCluster
from tests.cluster.support import Person, close_all


async def test_logout_on_one_process_ends_that_sessions_streams_on_every_process(
    start_cluster: StartCluster,
):
    cluster = await start_cluster(3)
    n0, n1, n2 = cluster.nodes
    alice = await Person.register(n0, "alice")
    bob = await Person.register(n0, "bob")
    try:
        tabs = [await alice.open_tab(node) for node in (n0, n1)]
        bobs_tab = await bob.open_tab(n1)
        for tab in [*tabs, bobs_tab]:
            await tab.wait_connected()

        await alice.call(n2, "POST", "/api/auth/logout", status=204)
        for tab in tabs:
            await tab.reader.wait_ended()
        # Another user's stream on the same process carries on.
        request = await alice.api.client.post(
            "/api/auth/login", json={"username": "alice", "password": "correct horse battery"}
        )
        assert request.status_code == 200
        await alice.api.ok("POST", "/api/friends/request", {"username": "bob"}, 201)
        await bobs_tab.expect(["friend_request", "notification"])
        assert not bobs_tab.reader.ended.is_set()
    finally:
        await close_all([alice, bob])


async def test_a_session_ended_on_one_process_is_refused_at_once_by_the_others(
    start_cluster: StartCluster,
):
    """Each process caches signed-in sessions for 10 s (``accounts/sessions.py``); ending one on
    one process drops it from every process's cache as the control arrives there, with the
    same control that ends the session's streams on that process."""
    cluster = await start_cluster(3)
    n0, n1, n2 = cluster.nodes
    alice = await Person.register(n0, "alice")
    try:
        tabs = [await alice.open_tab(node) for node in (n0, n1)]
        for tab in tabs:
            await tab.wait_connected()
        for node in (n0, n1, n2):  # now cached on every process
            assert (await alice.call(node, "GET", "/api/auth/me"))["user"]["username"] == "alice"
        await alice.call(n2, "POST", "/api/auth/logout", status=204)
        for tab, node in zip(tabs, (n0, n1), strict=True):
            await tab.reader.wait_ended()  # the control reached that process
            await alice.call(node, "GET", "/api/auth/me", status=401)
    finally:
        await close_all([alice])
