"""Views of blocks: the list a person's settings show."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.blocks.models import Block
from tidings.blocks.schemas import BlockList, BlockView


def block_list(session: Session, user_id: int) -> BlockList:
    """Whom ``user_id`` blocked, most recent first."""
    rows = session.execute(
        select(Block.created_at, User)
        .join(User, User.id == Block.blocked_id)
        .where(Block.blocker_id == user_id)
        .order_by(Block.created_at.desc(), User.id)
    )
    return BlockList(
        blocks=[
            BlockView(user=UserView.model_validate(user), created_at=created_at)
            for created_at, user in rows
        ]
    )
