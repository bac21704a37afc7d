"""What counts as activity: an away person who sends a message or marks a conversation read is
online again, with no activity report from a tab."""

from __future__ import annotations

import pytest

from tests.api_helpers import friends
from tests.conftest import MakeUser
from tests.presence.test_presence import barrier, next_attention
from tests.support.sse import EventStreamReader, open_stream


async def next_status(stream: EventStreamReader) -> str:
    while True:
        frame = await next_attention(stream)
        if frame.event == "presence":
            return str(frame.json["status"])


@pytest.mark.settings(presence_away_seconds=0.3)
async def test_sending_and_reading_are_activity(make_user: MakeUser) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    bobs = await open_stream(bob.client)
    alices = await open_stream(alice.client)
    assert await next_status(bobs) == "online"
    assert await next_status(bobs) == "away"
    await alice.send(dm, "still here")
    assert await next_status(bobs) == "online"
    assert await next_status(bobs) == "away"
    await bob.send(dm, "hello?")
    await alice.ok("POST", f"/api/conversations/{dm}/read", None)
    assert await next_status(bobs) == "online"
    await alices.close()
    await bobs.close()


@pytest.mark.settings(presence_grace_seconds=30, presence_away_seconds=0.5)
async def test_an_away_user_who_reconnects_stays_away(make_user: MakeUser) -> None:
    """A reload, a network flap or a restart is not the person coming back: no event, and
    they are still away (their tabs report real input as activity)."""
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    bobs = await open_stream(bob.client)
    alices = await open_stream(alice.client)
    assert await next_status(bobs) == "online"
    assert await next_status(bobs) == "away"
    await alices.close()
    alices = await open_stream(alice.client)
    assert await barrier(bob, bobs, dm) == []
    presence = await bob.ok("GET", f"/api/presence?user_id={alice.id}")
    assert presence["presence"][0]["status"] == "away"
    await alices.close()
    await bobs.close()
