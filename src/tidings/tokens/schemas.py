"""Request and response bodies for API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from tidings.schemas import Schema, Trimmed, ViewSchema

Scope = Literal["read", "write"]
"""``read``: GET routes and the event stream; ``write``: everything else (and reading)."""


class TokenCreate(Schema):
    """A new token: a name to recognise it by, its scopes, and how long it lasts."""

    name: Annotated[str, Trimmed(64)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=2)]
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None
    """Null: until revoked."""


class TokenView(ViewSchema):
    """A token as its list shows it: never its secret."""

    id: int
    user_id: int
    """Whose it is: yours, or one of your bots'."""
    name: str
    hint: str
    """The secret's first characters (``tdg_AbCd``), to tell tokens apart."""
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class TokenCreated(ViewSchema):
    """The new token, and its secret: shown this once (only its hash is kept)."""

    token: TokenView
    secret: str


class TokenList(ViewSchema):
    tokens: list[TokenView]
