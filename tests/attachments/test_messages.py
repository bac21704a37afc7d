"""Attachments through the conversation routes: sent with a message, shown in its views,
gone with it when it is deleted."""

from __future__ import annotations

from tests.api_helpers import assert_error, friends
from tests.attachments import files
from tests.attachments.helpers import upload


async def test_a_message_sent_with_uploads_shows_them_and_its_deletion_ends_them(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    dm = await alice.dm(bob)
    picture = await upload(alice, files.jpeg_with_exif(), "image/jpeg", "me.jpg")
    notes = await upload(alice, b"notes", "text/plain", "notes.txt")
    path = f"/api/conversations/{dm['id']}/messages"
    body = {"content": "", "attachment_ids": [notes["id"], picture["id"]]}
    sent = (await alice.ok("POST", path, body, 201))["message"]
    assert sent["attachments"] == [notes, picture]
    page = await bob.ok("GET", path)
    [shown] = [m for m in page["messages"] if m["id"] == sent["id"]]
    assert shown["attachments"] == [notes, picture]
    assert (await bob.get(picture["url"])).status_code == 200
    assert_error(await carol.get(picture["url"]), 404, "not_found")

    # Sending the same upload again is refused, naming it.
    again = await alice.post(path, {"content": "again", "attachment_ids": [picture["id"]]})
    refused = assert_error(again, 422)
    assert str(picture["id"]) in refused["detail"]

    deleted = await alice.delete(f"{path}/{sent['id']}")
    assert deleted.status_code in (200, 204), deleted.text
    for user in (alice, bob):
        assert_error(await user.get(picture["url"]), 404, "not_found")
        assert_error(await user.get(notes["url"]), 404, "not_found")
