"""Attachments across processes that share no disk: the bytes live in PostgreSQL (the ``auto``
storage on PostgreSQL), so any process serves what another stored."""

from __future__ import annotations

import io

from PIL import Image

from tests.cluster.conftest import StartCluster
from tests.cluster.support import Person, close_all


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_a_file_uploaded_to_one_process_is_served_by_the_others(
    start_cluster: StartCluster,
):
    cluster = await start_cluster(3)
    n0, n1, n2 = cluster.nodes
    alice, bob, carol = people = [
        await Person.register(node, name)
        for node, name in zip(cluster.nodes, ("alice", "bob", "carol"), strict=True)
    ]
    try:
        request = await alice.call(n0, "POST", "/api/friends/request", {"username": "bob"}, 201)
        await bob.call(n1, "POST", f"/api/friends/requests/{request['request']['id']}/accept")
        dm = await alice.call(
            n0, "POST", "/api/conversations", {"type": "direct", "user_id": bob.id}, 201
        )
        tab = await bob.open_tab(n2)
        await tab.wait_connected()

        uploaded = await alice.on(n0).post(
            "/api/attachments?filename=red.png",
            content=_png(),
            headers={"content-type": "image/png"},
        )
        assert uploaded.status_code == 201, uploaded.text
        attachment = uploaded.json()
        sent = await alice.call(
            n1,
            "POST",
            f"/api/conversations/{dm['id']}/messages",
            {"attachment_ids": [attachment["id"]]},
            201,
        )
        [frame] = await tab.expect(["message"])
        assert frame.json["message"]["attachments"] == sent["message"]["attachments"]

        for node in (n0, n1, n2):
            image = await bob.on(node).get(attachment["url"])
            assert image.status_code == 200, (node.url, image.text)
            assert Image.open(io.BytesIO(image.content)).size == (64, 48)
            thumbnail = await bob.on(node).get(attachment["thumbnail_url"])
            assert thumbnail.status_code == 200
            stranger = await carol.on(node).get(attachment["url"])
            assert stranger.status_code == 404
    finally:
        await close_all(people)
