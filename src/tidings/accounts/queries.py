"""Reads for accounts."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from tidings.accounts.models import AuthSession, User
from tidings.db import utcnow, writes_are_serialized

_USERNAME = re.compile(r"[a-z0-9_]{3,32}")
# Input that cannot be a username is answered without a query: no row could match, and such
# text (e.g. with NUL characters) may not even be a valid PostgreSQL parameter.


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_users = cast(Table, User.__table__)
_sessions = cast(Table, AuthSession.__table__)
_USER_FOR_SESSION = (
    select(_users, _sessions.c.expires_at)
    .join(_sessions, _sessions.c.user_id == _users.c.id)
    .where(_sessions.c.token_hash == bindparam("key"), _sessions.c.expires_at > bindparam("now"))
)


def user_for_session(session: Session, token_hash: str) -> tuple[User, datetime] | None:
    """The signed-in user of a session key and the session's expiry, if it has not expired.

    The first request of every session a process has not seen lately reads this (then the
    session cache serves it): in Core, the user built from the row, ~30 µs against ~190 µs
    for the same select through the ORM (measured on SQLite)."""
    row = (
        session.connection()
        .execute(_USER_FOR_SESSION, {"key": token_hash, "now": utcnow()})
        .first()
    )
    if row is None:
        return None
    values = row._mapping
    user = User(**{column.key: values[column] for column in _users.columns})
    return user, values[_sessions.c.expires_at]


def live_session(session: Session, token_hash: str) -> tuple[int, datetime] | None:
    """The user id and expiry of an unexpired session, by its token's hash: one indexed row."""
    row = (
        session.execute(
            select(AuthSession.user_id, AuthSession.expires_at).where(
                AuthSession.token_hash == token_hash, AuthSession.expires_at > utcnow()
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


def is_signed_in(session: Session, user_id: int, token_hash: str) -> bool:
    """Whether this session of the user's is still live."""
    found = session.scalar(
        select(AuthSession.user_id).where(
            AuthSession.user_id == user_id,
            AuthSession.token_hash == token_hash,
            AuthSession.expires_at > utcnow(),
        )
    )
    return found is not None


def user_by_username(session: Session, username: str) -> User | None:
    """The user with this username (case-insensitive), or None."""
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        return None
    return session.scalar(select(User).where(User.username == name))


def lock_users(session: Session, user_ids: Iterable[int]) -> None:
    """Lock these users' rows until the transaction ends (PostgreSQL; no-op on SQLite).

    Writes that concern the same users then run one after the other, so each sees the state
    the previous one committed (two accepts of one request cannot both add the friendship).
    Rows are locked in id order, and in ``FOR NO KEY UPDATE`` mode, which does not conflict with
    the key-share locks that inserts referencing a user hold.
    """
    if writes_are_serialized(session):
        return
    ids = sorted(set(user_ids))
    if ids:
        session.execute(
            select(User.id)
            .where(User.id.in_(ids))
            .order_by(User.id)
            .with_for_update(key_share=True)
        )


def users_by_ids(session: Session, ids: Sequence[int]) -> dict[int, User]:
    if not ids:
        return {}
    rows = session.scalars(select(User).where(User.id.in_(set(ids))))
    return {user.id: user for user in rows}
