"""Ephemeral events between real processes: sent by one hub, delivered by the processes that
hold the addressee's streams, through Redis, with no id and no place in the log.

No route sends one yet (typing and presence will, issue 14), so the sender is a hub in this
test process on the cluster's Redis prefix: to the ``tidings serve`` processes it is one more
process of the deployment.
"""

from __future__ import annotations

from tests.cluster.conftest import StartCluster
from tests.cluster.support import Person, close_all
from tests.support.ephemeral import Nudge
from tidings.realtime.hub import Hub, broker_from_url
from tidings.realtime.metrics import Metrics


async def test_ephemeral_event_reaches_the_addressees_streams_on_every_process(
    start_cluster: StartCluster,
):
    cluster = await start_cluster(2)
    n0, n1 = cluster.nodes
    alice = await Person.register(n0, "alice")
    bob = await Person.register(n0, "bob")
    sender = Hub(broker_from_url(cluster.redis_url, prefix=cluster.prefix), metrics=Metrics())
    await sender.start()
    try:
        await alice.api.befriend(bob.api)
        dm = (await alice.api.dm(bob.api))["id"]
        bobs_tabs = [await bob.open_tab(node) for node in (n0, n1)]
        alices_tab = await alice.open_tab(n1)
        for tab in [*bobs_tabs, alices_tab]:
            await tab.wait_connected()
        before = int(bobs_tabs[0].last_id)

        await sender.send_ephemeral([bob.id], Nudge(text="alice is typing"))
        await alice.api.send(dm, "hello")
        for tab in bobs_tabs:
            nudge, message = await tab.expect(["test_nudge", "message"])
            assert nudge.id is None
            assert nudge.json == {"type": "test_nudge", "text": "alice is typing"}
            assert int(message.id or 0) > before
        # Alice, on a process that also holds a stream of Bob's, gets only her own events.
        await alices_tab.expect(["message"])

        # Bob reconnects from before it, to the other process: only durable events replay.
        resumed = await bob.open_tab(n1, last_event_id=str(before))
        await resumed.wait_connected()
        await resumed.expect(["message"])
        await alice.api.send(dm, "again")
        await resumed.expect(["message"])
    finally:
        await sender.stop()
        await close_all([alice, bob])
