"""Blobs as files: ``<root>/ab/cd/abcd...`` (two levels of fan-out), uploads staged in
``<root>/staging`` so that storing one is a rename on the same file system (atomic: a blob's
file is complete or absent)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio

from tidings.attachments.storage import BlobMissing

READ_BYTES = 64 * 1024


class DirectoryStore:
    """A ``BlobStore`` in a local directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging_dir = root / "staging"
        self.staging_dir.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def contains(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    async def store_file(self, sha256: str, path: Path) -> None:
        await asyncio.to_thread(self._store, sha256, path)

    def _store(self, sha256: str, path: Path) -> None:
        target = self.path_of(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as file:
            os.fsync(file.fileno())  # the bytes are on disk before the name says they are
        os.replace(path, target)

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            file = await anyio.open_file(self.path_of(sha256), "rb")
        except FileNotFoundError:
            raise BlobMissing(sha256) from None
        async with file:
            await file.seek(start)
            left = end - start
            while left > 0:
                chunk = await file.read(min(READ_BYTES, left))
                if not chunk:
                    raise BlobMissing(f"{sha256} is shorter than expected")
                left -= len(chunk)
                yield chunk

    async def discard(self, sha256s: Sequence[str]) -> None:
        await asyncio.to_thread(self._discard, sha256s)

    def _discard(self, sha256s: Sequence[str]) -> None:
        for sha256 in sha256s:
            self.path_of(sha256).unlink(missing_ok=True)

    async def close(self) -> None:
        return None
