"""The static files of recent releases, kept in the database, so rolling deploys break no page.

During a rolling deploy, processes of two releases serve behind one proxy. A page from one
names content-hashed URLs (``assets.py``) that a process of the other does not have, so a page
whose scripts load from both would not start, and the service worker of a page opened before
the deploy would find its files gone. So every process, as it starts, stores its release's
files in ``static_file`` (the first process of a release inserts them, the next ones only note
the start), and answers a hashed URL it does not have from there (``StoredReleases``): read
once, then kept in memory (a hashed URL's bytes never change). Which URLs are stored is read at
most once a second, so a flood of made-up hashed names costs no query each. That works both
ways (an old page on a new process, a new page on an old process of a release that has this),
and across hosts with no shared disk.

The newest ``STATIC_RELEASES_KEPT`` releases (by their last start) are kept; the next release
to start deletes older ones, as Rails' ``assets:clean`` keeps the last few versions. A release
is ~210 kB gzipped (67 files). Keeping fewer than 2 defeats rolling deploys: the new release
would delete the files of the one still serving.
"""

from __future__ import annotations

import asyncio
import gzip
import math
import time
from typing import cast

from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tidings.db import Database, utcnow
from tidings.web.assets import HASHED_URL, Asset, AssetManifest, stored_asset
from tidings.web.models import StaticFile

_files = cast(Table, StaticFile.__table__)
_PUBLISH_LOCK = 72_011_147  # any constant: one process publishing at a time on PostgreSQL


async def publish_release(db: Database, assets: AssetManifest, keep: int) -> None:
    """Store ``assets`` as a release (or note that one more process of it started), and delete
    the files of releases older than the newest ``keep`` (0: keep none, store nothing)."""
    async with db.write() as session:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            # Processes of several releases starting at once would lock each other's rows in
            # opposite orders (insert one's, delete another's): one at a time. (SQLite's writes
            # are one at a time anyway.)
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUBLISH_LOCK}
            )
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


class StoredReleases:
    """The files of the other kept releases, as one app serves them (``find``)."""

    REFRESH_SECONDS = 1.0
    """How stale the set of stored URLs may be when a URL is not in it."""

    def __init__(self) -> None:
        self._found: dict[str, Asset] = {}  # read so far, by URL
        self._urls: frozenset[str] = frozenset()  # stored, as last read
        self._read_at = -math.inf
        self._reading = asyncio.Lock()

    async def find(self, db: Database, url: str) -> Asset | None:
        """The file at content-hashed ``url`` of a kept release, or None. (One read once may
        still be served after its release is deleted, until a miss reads the URLs again.)"""
        asset = self._found.get(url)
        if asset is not None or not HASHED_URL.match(url):
            return asset
        if url not in self._urls:
            await self._read_urls(db)
            if url not in self._urls:
                return None
        row = await db.run_query(_stored_at, url)
        if row is None:  # deleted since
            return None
        asset = self._found[url] = stored_asset(url, *row)
        return asset

    async def _read_urls(self, db: Database) -> None:
        async with self._reading:
            if time.monotonic() - self._read_at < self.REFRESH_SECONDS:
                return
            self._urls = frozenset(await db.run_query(_stored_urls))
            self._read_at = time.monotonic()
            self._found = {url: a for url, a in self._found.items() if url in self._urls}


def _stored_urls(session: Session) -> list[str]:
    return list(session.execute(select(_files.c.url).distinct()).scalars())


def _stored_at(session: Session, url: str) -> tuple[str, bytes] | None:
    row = session.execute(
        select(_files.c.media_type, _files.c.gzipped).where(_files.c.url == url).limit(1)
    ).first()
    return None if row is None else (row.media_type, row.gzipped)
