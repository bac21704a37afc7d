"""The accounts side of the event stream: which sign-in a stream belongs to (a browser
session, or an API token: any token may read the stream).

realtime's stream knows no accounts; the app hands it this (``EventStream(sessions)``), so a
stream is opened only with a live session or token and ends with it (logout, revocation).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from tidings.accounts import queries
from tidings.accounts.deps import NEVER, credential_key, refuse_another_page
from tidings.context import AppContext
from tidings.tokens import queries as token_queries


class AccountStreamSessions:
    """Sessions are keyed by their cookie's hash, as stored; tokens by ``t:`` and theirs."""

    def session_key(self, ctx: AppContext, request: HTTPConnection) -> str | None:
        return credential_key(ctx, request)

    def check_page(self, request: HTTPConnection, user_id: int) -> None:
        # An EventSource sends no headers: the web page names its user in the query.
        refuse_another_page(request.query_params.get("user"), user_id)

    def live_session(self, session: Session, session_key: str) -> tuple[int, datetime] | None:
        if session_key.startswith(token_queries.TOKEN_KEY_PREFIX):
            token = token_queries.live_token(session, session_key)
            return None if token is None else (token[0], token[1] or NEVER)
        return queries.live_session(session, session_key)

    def is_signed_in(self, session: Session, user_id: int, session_key: str) -> bool:
        if session_key.startswith(token_queries.TOKEN_KEY_PREFIX):
            token = token_queries.live_token(session, session_key)
            return token is not None and token[0] == user_id
        return queries.is_signed_in(session, user_id, session_key)
