"""Where the bytes of blobs live: a ``BlobStore``, chosen by ``ATTACHMENT_STORAGE``.

* ``directory`` (``directory.py``): files under ``ATTACHMENTS_DIR``, one per blob, named by
  their SHA-256. Served with ranges from the file. The default on SQLite.
* ``database`` (``database.py``): chunks in the ``attachment_blob_chunk`` table, for several
  server processes that share the database but no disk. The default on PostgreSQL.

A store knows bytes only: which blobs exist and who uses them is the ``attachment_blob``
registry's business (``attachments/actions.py``), and the one rule between them is that bytes
are discarded only inside the transaction that deletes their registry rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Protocol

from tidings.config import Settings
from tidings.db import Database


class BlobMissing(Exception):
    """A blob the registry lists has no bytes in the store (deleted under a reader)."""


class BlobStore(Protocol):
    """The bytes of blobs, by SHA-256 (lower-case hex, checked by the caller)."""

    staging_dir: Path
    """Where uploads are written while they arrive and are checked (``store_file`` of a file
    there may move it rather than copy it)."""

    async def contains(self, sha256: str) -> bool:
        """Whether the blob's bytes are stored (completely: a store writes atomically)."""
        ...

    async def store_file(self, sha256: str, path: Path) -> None:
        """Store the bytes of the file at ``path`` as the blob ``sha256`` (their hash). The file
        may be moved away; a blob stored twice at once ends up stored once."""
        ...

    def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes ``start`` to ``end`` (exclusive) of a stored blob, in chunks; raises
        ``BlobMissing`` if it is not there."""
        ...

    async def discard(self, sha256s: Sequence[str]) -> None:
        """Remove the bytes of these blobs (any that are missing are skipped). Called inside
        the transaction deleting their registry rows, before it commits."""
        ...

    async def close(self) -> None:
        """Release what the store holds (a staging directory of its own)."""
        ...


def attachments_directory(settings: Settings) -> Path:
    """``ATTACHMENTS_DIR``, or ``attachments/`` beside the SQLite database file (the data
    directory), or in the working directory for another database."""
    if settings.attachments_dir:
        return Path(settings.attachments_dir)
    prefix = "sqlite+aiosqlite:///"
    if settings.database_url.startswith(prefix):
        database = settings.database_url.removeprefix(prefix).split("?", 1)[0]
        if database and database != ":memory:":
            return Path(database).parent / "attachments"
    return Path.cwd() / "attachments"


def uses_database_storage(settings: Settings) -> bool:
    """``ATTACHMENT_STORAGE``: ``directory``, ``database``, or ``auto`` (the database on
    PostgreSQL, where several processes may share no disk; a directory on SQLite)."""
    if settings.attachment_storage == "auto":
        return not settings.is_sqlite
    return settings.attachment_storage == "database"


def open_store(settings: Settings, db: Database) -> BlobStore:
    """The configured store, ready to use."""
    if uses_database_storage(settings):
        from tidings.attachments.storage.database import DatabaseStore

        return DatabaseStore(db)
    from tidings.attachments.storage.directory import DirectoryStore

    return DirectoryStore(attachments_directory(settings))
