"""Request and response bodies for bots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from tidings.accounts.schemas import DisplayName, Username, UserView
from tidings.schemas import Schema, ViewSchema


class BotCreate(Schema):
    """A new bot: its username follows the rules of a sign-up's (and shares their names)."""

    username: Annotated[
        Username, Field(description="3-32 characters: a-z, 0-9, _ (case-insensitive)")
    ]
    display_name: DisplayName | None = None
    """Null: the username."""


class BotView(ViewSchema):
    """A bot as its owner's list shows it."""

    user: UserView
    """The bot's account, as everyone sees it (``bot: true``)."""
    owner_id: int
    created_at: datetime


class BotEnvelope(ViewSchema):
    bot: BotView


class BotList(ViewSchema):
    bots: list[BotView]
