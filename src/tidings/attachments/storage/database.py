"""Blobs in the database: ``attachment_blob_chunk`` rows of ``CHUNK_BYTES`` each.

For several server processes with no shared disk. Chunks rather than one value per blob, so
that neither side ever holds a 25 MB value (a process holds one chunk of an upload or a
download at a time), and a range (video seeking) reads only the chunks it covers, each sliced
in the database. Each chunk read is its own short query (no connection is held while a slow
client takes its bytes). A blob's chunks are written in one transaction (complete or absent),
and deleted with its registry row (ON DELETE CASCADE), so ``discard`` has nothing to do. On
PostgreSQL the column is stored uncompressed (``STORAGE EXTERNAL``, migration 0005): media
files do not compress, and an uncompressed TOAST value can be sliced without reading it all.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tidings.attachments.models import AttachmentBlobChunk
from tidings.attachments.storage import BlobMissing
from tidings.db import Database

CHUNK_BYTES = 1024 * 1024
_chunks = cast(Table, AttachmentBlobChunk.__table__)


class DatabaseStore:
    """A ``BlobStore`` in the application's database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Uploads are staged on this process's own disk: nothing else needs to see them.
        self.staging_dir = Path(tempfile.mkdtemp(prefix="tidings-uploads-"))

    async def contains(self, sha256: str) -> bool:
        return await self.db.run_query(_has_first_chunk, sha256)

    async def store_file(self, sha256: str, path: Path) -> None:
        async with self.db.write() as session:
            dialect = session.get_bind().dialect.name
            insert = (postgresql if dialect == "postgresql" else sqlite).insert(_chunks)
            # Another process storing the same blob at the same time: the same bytes.
            statement = insert.on_conflict_do_nothing()
            with path.open("rb") as file:
                seq = 0
                while True:
                    data = await asyncio.to_thread(file.read, CHUNK_BYTES)
                    if not data and seq > 0:
                        break
                    await session.execute(statement, {"sha256": sha256, "seq": seq, "data": data})
                    seq += 1
                    if len(data) < CHUNK_BYTES:
                        break

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        position = start
        while position < end:
            seq, offset = divmod(position, CHUNK_BYTES)
            length = min(CHUNK_BYTES - offset, end - position)
            data = await self.db.run_query(_chunk_slice, sha256, seq, offset, length)
            if not data:
                raise BlobMissing(f"{sha256}: no bytes at {position}")
            position += len(data)
            yield data

    async def discard(self, sha256s: Sequence[str]) -> None:
        return None  # the chunks go with their registry rows (ON DELETE CASCADE)

    async def close(self) -> None:
        await asyncio.to_thread(shutil.rmtree, self.staging_dir, True)


def _has_first_chunk(session: Session, sha256: str) -> bool:
    found = session.execute(
        select(_chunks.c.seq).where(_chunks.c.sha256 == sha256, _chunks.c.seq == 0)
    ).first()
    return found is not None


def _chunk_slice(session: Session, sha256: str, seq: int, offset: int, length: int) -> Any:
    data = session.scalar(
        select(func.substr(_chunks.c.data, offset + 1, length)).where(
            _chunks.c.sha256 == sha256, _chunks.c.seq == seq
        )
    )
    return bytes(data) if data is not None else None
