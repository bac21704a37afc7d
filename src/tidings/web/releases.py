"""The static files of recent releases, kept in the database, so rolling deploys break no page.

During a rolling deploy, processes of two releases serve behind one proxy. A page from one
names content-hashed URLs (``assets.py``) that a process of the other does not have, so a page
whose scripts load from both would not start, and the service worker of a page opened before
the deploy would find its files gone. So every process, as it starts, stores its release's
files in ``static_file`` (the first process of a release inserts them, the next ones only note
the start), and answers a hashed URL it does not have from there: read once, then kept in
memory (a hashed URL's bytes never change). That works both ways (an old page on a new process,
a new page on an old process of a release that has this), and across hosts with no shared disk.

The newest ``STATIC_RELEASES_KEPT`` releases (by their last start) are kept; the next release
to start deletes older ones, as Rails' ``assets:clean`` keeps the last few versions. A release
is ~160 kB gzipped.
"""

from __future__ import annotations

import gzip
from typing import cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tidings.db import Database, utcnow
from tidings.web.assets import HASHED_URL, Asset, AssetManifest, stored_asset
from tidings.web.models import StaticFile

_files = cast(Table, StaticFile.__table__)
_found: dict[str, Asset] = {}
"""Other releases' files read so far, by URL (at most the kept releases' files)."""


async def publish_release(db: Database, assets: AssetManifest, keep: int) -> None:
    """Store ``assets`` as a release (or note that one more process of it started), and delete
    the files of releases older than the newest ``keep`` (0: keep none, store nothing)."""
    async with db.write() as session:
        if keep <= 0:
            await session.execute(delete(_files))
            return
        now = utcnow()
        noted = await session.execute(
            update(_files).where(_files.c.release == assets.version).values(started_at=now)
        )
        if noted.rowcount == 0:  # type: ignore[attr-defined]
            rows = [
                {
                    "release": assets.version,
                    "path": asset.path,
                    "url": asset.url,
                    "media_type": asset.media_type,
                    "gzipped": asset.gzipped or gzip.compress(asset.body, 9, mtime=0),
                    "started_at": now,
                }
                for asset in assets.assets.values()
            ]
            dialect = session.get_bind().dialect.name
            insert = (postgresql if dialect == "postgresql" else sqlite).insert(_files)
            # Another process of this release starting at the same time inserts the same rows.
            await session.execute(insert.on_conflict_do_nothing(), rows)
        newest_first = await session.execute(
            select(_files.c.release)
            .group_by(_files.c.release)
            .order_by(func.max(_files.c.started_at).desc(), _files.c.release)
        )
        older = [release for release in newest_first.scalars().all()[keep:]]
        older = [release for release in older if release != assets.version]
        if older:
            await session.execute(delete(_files).where(_files.c.release.in_(older)))


async def find_stored(db: Database, url: str) -> Asset | None:
    """The file at content-hashed ``url`` of a kept release, or None."""
    asset = _found.get(url)
    if asset is None and HASHED_URL.match(url):
        row = await db.run_query(_stored_at, url)
        if row is not None:
            asset = _found[url] = stored_asset(url, *row)
    return asset


def _stored_at(session: Session, url: str) -> tuple[str, bytes] | None:
    row = session.execute(
        select(_files.c.media_type, _files.c.gzipped).where(_files.c.url == url).limit(1)
    ).first()
    return None if row is None else (row.media_type, row.gzipped)
