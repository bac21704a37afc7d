"""claim / for_messages / release: what sending, message views and deleting call."""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_error, friends
from tests.attachments import files
from tests.attachments.helpers import claim, send_with, upload
from tidings.attachments import links
from tidings.errors import Unprocessable
from tidings.realtime.transaction import Transaction


async def test_claim_attaches_your_unsent_uploads_in_the_order_listed(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    first = await upload(alice, files.image("PNG"), "image/png", "one.png")
    second = await upload(alice, b"notes", "text/plain", "two.txt")
    third = await upload(alice, files.mp4(), "video/mp4", "three.mp4")
    message = await alice.send(dm["id"], "files")
    ids = [third["id"], first["id"], second["id"]]
    claimed = await claim(server, alice, dm["id"], message["id"], ids)
    assert [view.model_dump(mode="json") for view in claimed] == [third, first, second]

    other = await alice.send(dm["id"], "no files")
    found = await server.ctx.db.run_query(links.for_messages, [message["id"], other["id"]])
    assert found == {message["id"]: claimed, other["id"]: []}
    assert await server.ctx.db.run_query(links.for_messages, []) == {}
    # Bob (a member) may fetch them now.
    for view in claimed:
        assert (await bob.get(view.url)).status_code == 200


async def test_claim_refuses_what_is_not_an_unsent_upload_of_yours(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    mine = await upload(alice, b"mine")
    fresh = await upload(alice, b"fresh")
    bobs = await upload(bob, b"bob's")
    message = await alice.send(dm["id"], "hi")
    await claim(server, alice, dm["id"], message["id"], [mine["id"]])
    later = await alice.send(dm["id"], "again")
    for bad, ids in [
        (bobs["id"], [fresh["id"], bobs["id"]]),  # someone else's
        (mine["id"], [mine["id"]]),  # already sent
        (987654, [fresh["id"], 987654]),  # unknown
        (fresh["id"], [fresh["id"], fresh["id"]]),  # twice
    ]:
        with pytest.raises(Unprocessable, match=f"Attachment {bad} ") as refused:
            await claim(server, alice, dm["id"], later["id"], ids)
        assert refused.value.code == "attachment_unavailable"
    # Nothing was changed by the refused claims: fresh is still unsent, and Alice's alone.
    assert (await bob.get(fresh["url"])).status_code == 404
    found = await server.ctx.db.run_query(links.for_messages, [later["id"]])
    assert found == {later["id"]: []}
    assert await claim(server, alice, dm["id"], later["id"], []) == []


async def test_release_stops_serving_a_deleted_messages_attachments(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    view = await upload(alice, files.image("PNG"), "image/png")
    message_id = await send_with(server, alice, dm["id"], [view["id"]])
    assert (await bob.get(view["url"])).status_code == 200

    def release(tx: Transaction) -> None:
        links.release(tx.session, message_id)

    await server.ctx.writer.run(release)
    for user in (alice, bob):
        assert_error(await user.get(view["url"]), 404, "not_found")
        assert_error(await user.get(view["thumbnail_url"]), 404, "not_found")
    found = await server.ctx.db.run_query(links.for_messages, [message_id])
    assert found == {message_id: []}
