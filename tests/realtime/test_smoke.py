from tests.support.sse import open_stream


async def test_message_reaches_the_other_member(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await alice.befriend(bob)
    dm = await alice.dm(bob)
    stream = await open_stream(bob.client)
    try:
        connected = await stream.next()
        assert connected.event == "connected"
        message = await alice.send(dm["id"], "hello")
        frames = await stream.next_events(3)
        assert [f.event for f in frames] == ["message", "notification", "conversation_update"]
        assert frames[0].json["message"] == message
    finally:
        await stream.close()
