"""Finding people: the index of usernames and display names that ``GET /api/users`` searches.

Writes that change a user's names keep it in step, in their own transaction:
``index_user`` after a user is created or renamed, ``unindex_user`` when an account is deleted.
"""

from __future__ import annotations

from sqlalchemy.orm import Session


def index_user(session: Session, user_id: int, username: str, display_name: str) -> None:
    """(Re)index a user's names (call after creating the user or changing their display name)."""


def unindex_user(session: Session, user_id: int) -> None:
    """Take a user out of the index (their account is deleted)."""
