"""Reads for API tokens: the sign-in of a bearer request, and a user's list."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, or_, select
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.db import utcnow
from tidings.tokens.models import ApiToken

TOKEN_KEY_PREFIX = "t:"
"""A token's key among sign-ins (session cache, streams, ended-sessions controls): ``t:`` and
the SHA-256 of its secret (a session's key is the SHA-256 of its cookie, without prefix)."""

_users = cast(Table, User.__table__)
_tokens = cast(Table, ApiToken.__table__)
_USER_FOR_TOKEN = (
    select(_users, _tokens.c.id.label("token_id"), _tokens.c.scopes, _tokens.c.expires_at)
    .join(_tokens, _tokens.c.user_id == _users.c.id)
    .where(
        _tokens.c.token_hash == bindparam("key"),
        _tokens.c.revoked_at.is_(None),
        or_(_tokens.c.expires_at.is_(None), _tokens.c.expires_at > bindparam("now")),
        _users.c.deleted_at.is_(None),
    )
)


def token_hash(key: str) -> str:
    return key.removeprefix(TOKEN_KEY_PREFIX)


def user_for_token(
    session: Session, key: str
) -> tuple[User, int, frozenset[str], datetime | None] | None:
    """The user of a live token (by its key), the token's id, scopes and expiry."""
    row = (
        session.connection()
        .execute(_USER_FOR_TOKEN, {"key": token_hash(key), "now": utcnow()})
        .first()
    )
    if row is None:
        return None
    values = row._mapping
    user = User(**{column.key: values[column] for column in _users.columns})
    scopes = frozenset(str(values["scopes"]).split(","))
    return user, int(values["token_id"]), scopes, values["expires_at"]


def live_token(session: Session, key: str) -> tuple[int, datetime | None] | None:
    """The user id and expiry of a live token, by its key."""
    row = session.execute(
        select(ApiToken.user_id, ApiToken.expires_at)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash == token_hash(key),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
            User.deleted_at.is_(None),
        )
    ).first()
    return None if row is None else (row[0], row[1])
