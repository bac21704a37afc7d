"""Reads for bots: an owner's bots, and the one a request names."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.errors import NotFound


def owned_bot(session: Session, owner_id: int, bot_id: int) -> User:
    """The bot ``bot_id`` of ``owner_id``, or 404 ``unknown_bot`` (someone else's, a person,
    deleted, or none)."""
    bot = session.get(User, bot_id)
    if bot is None or bot.bot_owner_id != owner_id or bot.deleted_at is not None:
        raise NotFound(f"No bot {bot_id} of yours.", code="unknown_bot")
    return bot


def bots_of(session: Session, owner_id: int) -> list[User]:
    """``owner_id``'s live bots, oldest first."""
    return list(
        session.scalars(
            select(User)
            .where(User.bot_owner_id == owner_id, User.deleted_at.is_(None))
            .order_by(User.id)
        )
    )


def count_bots(session: Session, owner_id: int) -> int:
    """How many live bots ``owner_id`` has."""
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.bot_owner_id == owner_id, User.deleted_at.is_(None))
        )
        or 0
    )
