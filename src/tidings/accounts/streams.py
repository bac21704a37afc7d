"""The accounts side of the event stream: which sign-in session a stream belongs to.

realtime's stream knows no accounts; the app hands it this (``EventStream(sessions)``), so a
stream is opened only with a live session and ends with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tidings.accounts import queries
from tidings.accounts.deps import session_token_hash
from tidings.context import AppContext


class AccountStreamSessions:
    """Sessions are keyed by their token's hash, as stored."""

    def session_key(self, ctx: AppContext, cookies: dict[str, str]) -> str | None:
        return session_token_hash(ctx, cookies)

    def live_session(self, session: Session, session_key: str) -> tuple[int, datetime] | None:
        return queries.live_session(session, session_key)

    def is_signed_in(self, session: Session, user_id: int, session_key: str) -> bool:
        return queries.is_signed_in(session, user_id, session_key)
