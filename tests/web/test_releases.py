"""Rolling deploys: every process serves the content-hashed static files of the other kept
releases from the database (``tidings/web/releases.py``)."""

from __future__ import annotations

import asyncio
import gzip
import secrets
import shutil
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from tests.support.server import LiveServer
from tidings.config import Settings
from tidings.web.assets import STATIC, AssetManifest, manifest
from tidings.web.models import StaticFile
from tidings.web.releases import publish_release


def another_release(tmp_path: Path) -> AssetManifest:
    """The package's static files with one leaf module changed (so it, and every module that
    imports it, up to app.js, get new hashed names): a release this process is not."""
    root = tmp_path / f"static-{secrets.token_hex(4)}"
    shutil.copytree(STATIC, root)
    leaf = root / "js" / "format.js"
    leaf.write_text(leaf.read_text() + f"\n// release {root.name}\n")
    return AssetManifest(root)


async def stored_releases(server: LiveServer) -> dict[str, int]:
    async with server.ctx.db.query_session() as session:
        rows = await session.execute(
            select(StaticFile.release, func.count()).group_by(StaticFile.release)
        )
        return {release: count for release, count in rows.all()}


async def test_a_process_stores_its_release_when_it_starts(server: LiveServer) -> None:
    current = manifest()
    assert await stored_releases(server) == {current.version: len(current.assets)}
    await publish_release(server.ctx.db, current, keep=3)  # one more process of it starts
    assert await stored_releases(server) == {current.version: len(current.assets)}


async def test_another_releases_hashed_urls_are_served_as_that_release_has_them(
    server: LiveServer, tmp_path: Path
) -> None:
    """A page of the other release (a rolling deploy) loads all of its files from this process:
    the same bytes, cached forever, gzipped for those who accept it."""
    old = another_release(tmp_path)
    await publish_release(server.ctx.db, old, keep=3)
    changed = [p for p, asset in old.assets.items() if asset.url != manifest().url(p)]
    assert {"js/format.js", "js/app.js"} <= set(changed)
    async with httpx.AsyncClient(base_url=server.url) as client:
        for path in changed:
            asset = old.assets[path]
            response = await client.get(asset.url)
            assert response.status_code == 200, path
            assert response.content == asset.body
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["content-type"] == asset.media_type
            assert response.headers["etag"] == asset.etag
            async with client.stream(
                "GET", asset.url, headers={"Accept-Encoding": "gzip"}
            ) as packed:
                raw = b"".join([chunk async for chunk in packed.aiter_raw()])
            if asset.gzipped is not None:
                assert packed.headers["content-encoding"] == "gzip"
                assert gzip.decompress(raw) == asset.body
            again = await client.get(asset.url, headers={"If-None-Match": asset.etag})
            assert again.status_code == 304
        # The plain names are this release's.
        plain = await client.get("/static/js/format.js")
        assert plain.content == manifest().assets["js/format.js"].body


async def test_a_hashed_url_no_release_has_is_404(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        for url in ("/static/js/app.0badc0de.js", "/static/js/nothing.12345678.js"):
            response = await client.get(url)
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"
            assert response.headers["cache-control"] == "no-store"


async def test_only_the_newest_releases_are_kept(server: LiveServer, tmp_path: Path) -> None:
    releases = [another_release(tmp_path) for _ in range(4)]
    for release in releases:
        await publish_release(server.ctx.db, release, keep=3)
    kept = await stored_releases(server)
    assert set(kept) == {r.version for r in releases[1:]}
    async with httpx.AsyncClient(base_url=server.url) as client:
        oldest = await client.get(releases[0].url("js/format.js"))
        assert oldest.status_code == 404
        for release in releases[1:]:
            response = await client.get(release.url("js/format.js"))
            assert response.status_code == 200
            assert response.content == release.assets["js/format.js"].body
        # A file no release changed is served whichever releases are kept.
        same = await client.get(releases[0].url("css/tidings.css"))
        assert same.status_code == 200

    # The release that starts again is the newest: the oldest kept one goes.
    await publish_release(server.ctx.db, releases[1], keep=3)
    assert set(await stored_releases(server)) == {r.version for r in releases[1:]}
    await publish_release(server.ctx.db, releases[0], keep=2)
    assert set(await stored_releases(server)) == {releases[0].version, releases[1].version}


@pytest.mark.settings(static_releases_kept=0)
async def test_keeping_no_release_stores_none(server: LiveServer, tmp_path: Path) -> None:
    assert await stored_releases(server) == {}
    await publish_release(server.ctx.db, another_release(tmp_path), keep=0)
    assert await stored_releases(server) == {}


async def test_odd_hashed_looking_paths_are_404(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        for path in ("js/a%00b.12345678.js", "js/%C3%A9t%C3%A9.12345678.js", "x%20y.12345678.css"):
            response = await client.get(f"/static/{path}")
            assert response.status_code == 404, path
            assert response.json()["code"] == "not_found"


async def test_made_up_hashed_names_do_not_cost_a_query_each(server: LiveServer) -> None:
    """Which URLs are stored is read at most once a second: a flood of unknown names is
    answered from memory."""
    db = server.ctx.db
    async with httpx.AsyncClient(base_url=server.url) as client:
        before = db.query_count
        for n in range(30):
            response = await client.get(f"/static/js/app.{n:08x}.js")
            assert response.status_code == 404
        assert db.query_count - before < 10


async def test_processes_of_several_releases_starting_at_once_keep_the_newest(
    server: LiveServer, tmp_path: Path
) -> None:
    releases = [another_release(tmp_path) for _ in range(5)]
    await asyncio.gather(*(publish_release(server.ctx.db, r, keep=2) for r in releases))
    kept = await stored_releases(server)
    assert len(kept) == 2
    assert set(kept) <= {r.version for r in releases}
    assert all(count == len(releases[0].assets) for count in kept.values())


def test_the_number_of_releases_kept_is_not_negative() -> None:
    with pytest.raises(ValidationError):
        Settings(static_releases_kept=-1)
