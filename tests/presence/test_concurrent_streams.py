"""Several streams of one user opening at once (tabs restored, every tab reconnecting after a
network flap): the user is announced online, and a reconnect of all of them within the grace
period announces nothing (found by `python -m bench presence`)."""

from __future__ import annotations

import asyncio

import pytest

from tests.api_helpers import friends
from tests.conftest import MakeUser
from tests.presence.test_presence import barrier, next_attention
from tests.support.sse import open_stream

LONG_HOLD = 600.0
"""The tracker renews its holds every third of this, and heals a stream it missed then: not
within these tests."""


@pytest.mark.settings(presence_grace_seconds=1.0, presence_hold_seconds=LONG_HOLD)
async def test_two_tabs_opening_together_are_announced(make_user: MakeUser) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    bobs = await open_stream(bob.client)
    tabs = await asyncio.gather(open_stream(alice.client), open_stream(alice.client))
    assert (await next_attention(bobs, timeout=5)).json["status"] == "online"
    for tab in tabs:
        await tab.close()
    await bobs.close()


@pytest.mark.settings(presence_grace_seconds=1.0, presence_hold_seconds=LONG_HOLD)
async def test_two_tabs_reconnecting_together_within_grace_announce_nothing(
    make_user: MakeUser,
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    bobs = await open_stream(bob.client)
    first = await open_stream(alice.client)
    assert (await next_attention(bobs)).json["status"] == "online"
    second = await open_stream(alice.client)
    await first.close()
    await second.close()
    tabs = await asyncio.gather(open_stream(alice.client), open_stream(alice.client))
    # Nothing can be awaited for "nothing happened": wait out the grace period and a pass of
    # the tracker, after which a wrongly released hold would have been announced offline.
    await asyncio.sleep(2.5)
    assert await barrier(alice, bobs, dm) == []
    for tab in tabs:
        await tab.close()
    await bobs.close()
