"""A rolling deploy across processes: each serves the other releases' static files, which
whichever process of that release started first stored in the shared database."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select

from tests.cluster.conftest import StartCluster
from tests.web.test_releases import another_release
from tidings.db import Database
from tidings.web.assets import manifest
from tidings.web.models import StaticFile
from tidings.web.releases import publish_release


async def test_every_process_serves_a_release_another_one_stored(
    start_cluster: StartCluster, tmp_path: Path
) -> None:
    cluster = await start_cluster(3)
    db = Database(cluster.database_url)
    try:
        # Three processes of this release started: its files are stored once.
        async with db.query_session() as session:
            stored = await session.execute(
                select(StaticFile.release, func.count()).group_by(StaticFile.release)
            )
            assert dict(stored.all()) == {manifest().version: len(manifest().assets)}

        # A process of another release starts (on another host, say) and stores its files.
        previous = another_release(tmp_path)
        await publish_release(db, previous, keep=3)
    finally:
        await db.dispose()

    asset = previous.assets["js/app.js"]
    assert asset.url != manifest().url("js/app.js")
    async with httpx.AsyncClient() as client:
        for node in cluster.nodes:
            response = await client.get(node.url + asset.url)
            assert response.status_code == 200, (node.url, response.text)
            assert response.content == asset.body
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
