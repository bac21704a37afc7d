"""Response bodies for blocks."""

from __future__ import annotations

from datetime import datetime

from tidings.accounts.schemas import UserView
from tidings.schemas import ViewSchema


class BlockView(ViewSchema):
    """Someone you blocked, and since when."""

    user: UserView
    created_at: datetime


class BlockEnvelope(ViewSchema):
    block: BlockView


class BlockList(ViewSchema):
    blocks: list[BlockView]
    """Most recent first."""
