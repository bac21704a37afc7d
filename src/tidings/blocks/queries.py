"""Reads for blocks: used by every rule that a block puts on two people."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
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


def blocks_between(
    session: Session, user_id: int, others: Iterable[int]
) -> tuple[set[int], set[int]]:
    """Of ``others``: those ``user_id`` blocked, and those who blocked ``user_id`` (one read)."""
    others = set(others)
    if not others:
        return set(), set()
    rows = session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(
                (Block.blocker_id == user_id) & Block.blocked_id.in_(others),
                (Block.blocked_id == user_id) & Block.blocker_id.in_(others),
            )
        )
    )
    mine: set[int] = set()
    theirs: set[int] = set()
    for blocker, blocked in rows:
        if blocker == user_id:
            mine.add(blocked)
        else:
            theirs.add(blocker)
    return mine, theirs


def has_blocked(session: Session, blocker_id: int, blocked_id: int) -> bool:
    """Whether ``blocker_id`` blocked ``blocked_id``."""
    return session.get(Block, (blocker_id, blocked_id)) is not None


def blockers_of(session: Session, user_id: int) -> set[int]:
    """The users who blocked ``user_id`` (they do not show in ``user_id``'s searches)."""
    return set(session.scalars(select(Block.blocker_id).where(Block.blocked_id == user_id)))


def not_blocked_by(user_id: Any, sender_id: int) -> ColumnElement[bool]:
    """True where ``user_id`` (a column or a value) has not blocked ``sender_id``."""
    return ~exists().where(Block.blocker_id == user_id, Block.blocked_id == sender_id)
