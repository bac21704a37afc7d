"""Bench users written straight into the server's SQLite database.

Registering 20,000 users through the API would spend minutes in password hashing, which is not
what is being measured. So users, sessions, friendships and conversations are inserted with plain
SQL into the schema the server just migrated, exactly as the app would have written them: the
session cookie's value is random and ``auth_session.token_hash`` is its SHA-256 hex, the password
hash is a valid (cheap) argon2 string, timestamps are UTC in SQLAlchemy's SQLite format, and every
member of a conversation gets its channel's events from the log's current head on
(``channel_span``), as if they had joined at the last event.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

PASSWORD_HASH = (
    "$argon2id$v=19$m=8,t=1,p=1$Pw/Tx54IaL+Xh17svYGS2w$oafWSCgFMdHtz6g+56V6fABXmhuFU/rqaCRVB+Sfu3k"
)
COOKIE = "tidings_session"


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class Seeded:
    tokens: dict[int, str] = field(default_factory=dict)
    """user id -> session cookie value"""
    dm: dict[tuple[int, int], int] = field(default_factory=dict)
    """(sender, recipient) -> direct conversation id, both orders"""
    groups: list[int] = field(default_factory=list)

    def cookie(self, user_id: int) -> str:
        return f"{COOKIE}={self.tokens[user_id]}"


def seed(
    db_path: Path,
    n_users: int,
    dm_pairs: list[tuple[int, int]],
    groups: list[tuple[int, list[int]]],
    first_user: int = 1,
) -> Seeded:
    """Insert users ``first_user..first_user+n_users-1`` with sessions, DMs and groups."""
    out = Seeded()
    now = datetime.now(UTC)
    created, expires = _ts(now), _ts(now + timedelta(days=7))
    db = sqlite3.connect(db_path, timeout=30)
    try:
        db.execute("PRAGMA busy_timeout=30000")
        with db:
            ids = range(first_user, first_user + n_users)
            db.executemany(
                "INSERT INTO user (id, username, display_name, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(i, f"bench{i}", f"Bench user {i}", PASSWORD_HASH, created) for i in ids],
            )
            sessions = []
            for i in ids:
                token = secrets.token_urlsafe(24)
                out.tokens[i] = token
                sessions.append((hashlib.sha256(token.encode()).hexdigest(), i, created, expires))
            db.executemany(
                "INSERT INTO auth_session (token_hash, user_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                sessions,
            )
            friendships = []
            members = []
            for a, b in dm_pairs:
                lo, hi = min(a, b), max(a, b)
                cur = db.execute(
                    "INSERT INTO conversation (type, name, created_by_id, direct_key,"
                    " last_message_id, created_at, updated_at) VALUES ('direct', NULL, ?, ?,"
                    " NULL, ?, ?)",
                    (lo, f"{lo}:{hi}", created, created),
                )
                cid = int(cur.lastrowid or 0)
                out.dm[(a, b)] = out.dm[(b, a)] = cid
                friendships += [(a, b, created), (b, a, created)]
                members += [(cid, a, created), (cid, b, created)]
            for creator, member_ids in groups:
                cur = db.execute(
                    "INSERT INTO conversation (type, name, created_by_id, direct_key,"
                    " last_message_id, created_at, updated_at) VALUES ('group', ?, ?, NULL,"
                    " NULL, ?, ?)",
                    (f"bench group of {len(member_ids)}", creator, created, created),
                )
                cid = int(cur.lastrowid or 0)
                out.groups.append(cid)
                members += [(cid, u, created) for u in {creator, *member_ids}]
            db.executemany(
                "INSERT OR IGNORE INTO friendship (user_id, friend_id, created_at)"
                " VALUES (?, ?, ?)",
                friendships,
            )
            db.executemany(
                "INSERT INTO conversation_member (conversation_id, user_id, joined_at,"
                " last_read_message_id) VALUES (?, ?, ?, 0)",
                members,
            )
            (head,) = db.execute("SELECT head FROM event_log WHERE id = 1").fetchone()
            db.executemany(
                "INSERT INTO channel_span (channel_id, user_id, joined_pos) VALUES (?, ?, ?)",
                [(cid, uid, head) for cid, uid, _ in members],
            )
    finally:
        db.close()
    return out
