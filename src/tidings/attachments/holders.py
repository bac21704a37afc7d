"""Blobs held by other tables than ``attachment``: the sweep keeps them, and only they are
served by their hash alone.

Avatars (``tidings.avatars``) are blobs in the attachments' store, named by the SHA-256 of
their WebP, and pointed at by a column of the table they belong to (``user.avatar_key``, a
group's ``conversation.avatar_key``). Each such column is registered here once, at import, by
the module that stores into it (``hold_blobs_in``); the sweep deletes a blob only when no
attachment and no registered column names it.
"""

from __future__ import annotations

from sqlalchemy.orm import InstrumentedAttribute

_holders: list[InstrumentedAttribute[str | None]] = []


def hold_blobs_in(column: InstrumentedAttribute[str | None]) -> None:
    """Register a column whose values are blob hashes that must be kept (idempotent)."""
    if not any(column is held for held in _holders):
        _holders.append(column)


def blob_holders() -> tuple[InstrumentedAttribute[str | None], ...]:
    """The registered columns, in registration order."""
    return tuple(_holders)
