"""The accounts side of the event stream: which sign-in session a stream belongs to.

realtime's stream knows no accounts; the app hands it this (``EventStream(sessions)``), so a
stream is opened only with a live session and ends with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tidings.accounts import queries
from tidings.accounts.deps import session_token_hash
from tidings.context import AppContext


class AccountStreamSessions:
    """Sessions are keyed by their token's hash, as stored."""

    def session_key(self, ctx: AppContext, cookies: dict[str, str]) -> str | None:
        return session_token_hash(ctx, cookies)

    async def live_session(
        self, session: AsyncSession, session_key: str
    ) -> tuple[int, datetime] | None:
        return await session.run_sync(queries.live_session, session_key)

    async def is_signed_in(self, session: AsyncSession, user_id: int, session_key: str) -> bool:
        return await session.run_sync(queries.is_signed_in, user_id, session_key)
