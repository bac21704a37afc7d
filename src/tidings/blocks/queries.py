"""Reads for blocks: used by every rule that a block puts on two people."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tidings.blocks.models import Block


def blocked_either_way(session: Session, user_id: int) -> set[int]:
    """The users ``user_id`` blocked or was blocked by: they exchange no presence or typing."""
    rows = session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(Block.blocker_id == user_id, Block.blocked_id == user_id)
        )
    )
    return {blocked if blocker == user_id else blocker for blocker, blocked in rows}


def blockers_among(session: Session, user_id: int, others: Iterable[int]) -> set[int]:
    """Those of ``others`` in a block with ``user_id`` (either way)."""
    others = list(others)
    if not others:
        return set()
    return blocked_either_way(session, user_id) & set(others)
