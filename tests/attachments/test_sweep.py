"""The orphan sweep: unsent uploads past their age, then blobs nothing uses (no waiting: the
sweep is called with the time it should believe it is)."""

from __future__ import annotations

from datetime import timedelta

from tests.api_helpers import assert_error, friends
from tests.attachments import files
from tests.attachments.helpers import count, send_with, stored_blobs, upload
from tidings.attachments import actions, links
from tidings.attachments.models import Attachment
from tidings.db import utcnow
from tidings.realtime.transaction import Transaction

DAY = timedelta(hours=24)


async def sweep_at(server, delay: timedelta) -> actions.Swept:
    return await actions.sweep(
        server.ctx.db, server.ctx.attachment_store, now=utcnow() + delay, orphan_age=DAY
    )


async def test_unsent_uploads_are_swept_with_the_blobs_only_they_used(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    shared = files.image("PNG", size=(50, 50))
    orphan = await upload(alice, shared, "image/png", "orphan.png")
    lonely = await upload(alice, b"only mine", None, "lonely.txt")
    sent = await upload(alice, shared, "image/png", "sent.png")  # the same blobs as orphan
    await send_with(server, alice, dm["id"], [sent["id"]])
    blobs = await stored_blobs(server)
    assert len(blobs) == 3  # the PNG, its thumbnail, the text

    # Too young: nothing goes.
    assert await sweep_at(server, timedelta(hours=23)) == actions.Swept(0, 0)
    assert await count(server, Attachment.id) == 3

    swept = await sweep_at(server, DAY + timedelta(minutes=1))
    assert swept == actions.Swept(attachments=2, blobs=1)  # the text's blob; the PNG is in use
    assert_error(await alice.get(orphan["url"]), 404, "not_found")
    assert_error(await alice.get(lonely["url"]), 404, "not_found")
    assert len(await stored_blobs(server)) == 2
    for user in (alice, bob):
        assert (await user.get(sent["url"])).content == (await alice.get(sent["url"])).content
        assert (await user.get(sent["thumbnail_url"])).status_code == 200


async def test_a_released_messages_blobs_go_at_the_next_sweep(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    view = await upload(alice, files.jpeg_with_exif(), "image/jpeg")
    message_id = await send_with(server, alice, dm["id"], [view["id"]])

    def release(tx: Transaction) -> None:
        links.release(tx.session, message_id)

    await server.ctx.writer.run(release)
    # A blob just touched by an upload is kept for the grace period, whatever uses it.
    assert await sweep_at(server, timedelta(minutes=10)) == actions.Swept(0, 0)
    assert len(await stored_blobs(server)) == 2
    assert await sweep_at(server, timedelta(hours=2)) == actions.Swept(0, 2)
    assert await stored_blobs(server) == set()


async def test_a_blob_swept_is_stored_again_when_uploaded_again(server, make_user):
    alice = await make_user("alice")
    data = b"uploaded twice, a day apart"
    await upload(alice, data)
    assert await sweep_at(server, DAY * 2) == actions.Swept(1, 1)
    assert await stored_blobs(server) == set()
    again = await upload(alice, data)
    assert (await alice.get(again["url"])).content == data
    assert len(await stored_blobs(server)) == 1


async def test_leftover_staged_files_are_swept(server, make_user):
    staging = server.ctx.attachment_store.staging_dir
    leftover = staging / "dead.upload"
    leftover.write_bytes(b"an upload whose process died")
    await sweep_at(server, timedelta(minutes=5))
    assert leftover.exists()
    await sweep_at(server, timedelta(hours=2))
    assert not leftover.exists()
