"""Signed-in sessions cached in the process, so that most requests need no database read.

A request's session cookie is looked up once and then served from here until the first of: the
session's expiry, ``SESSION_CACHE_SECONDS`` (5 minutes by default) after the lookup, or the session
ending anywhere. Ending a session (logout, password change, "sign out everywhere") sends the
hub's end-of-sessions control to every process, which drops those keys here; after the broker
may have lost a control (a Redis outage), the whole cache is dropped. The cached ``User`` is a
detached snapshot, read-only to its users: a change to the user (profile, avatar, deletion)
sends the hub's users-changed control, which drops every cached session of theirs, so the next
request reads the user afresh.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING

from tidings.db import utcnow

if TYPE_CHECKING:
    from tidings.accounts.deps import Principal


class SessionCache:
    """Sign-in key (a session cookie's hash, or a token's ``t:`` key) -> (who, until when it
    may be served), LRU-bounded."""

    def __init__(self, ttl_seconds: float, max_entries: int = 100_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Principal, float, datetime]] = OrderedDict()
        self._keys_by_user: dict[int, set[str]] = {}
        self.generation = 0
        """Bumped whenever sessions end: a lookup begun before cannot cache its answer."""

    def get(self, key: str) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, fresh_until, expires_at = entry
        if time.monotonic() >= fresh_until or utcnow() >= expires_at:
            self._drop(key)
            return None
        return principal

    def put(self, key: str, principal: Principal, expires_at: datetime, generation: int) -> None:
        """Cache a lookup begun at ``generation`` (read before the database was): if sessions
        ended since, this one may be among them, and it is not cached."""
        if self.ttl_seconds <= 0 or generation != self.generation:
            return
        self._drop(key)
        self._entries[key] = (principal, time.monotonic() + self.ttl_seconds, expires_at)
        self._keys_by_user.setdefault(principal.user.id, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def sessions_ended(self, keys: set[str] | None) -> None:
        """Forget these sessions (None: every session, since some may have ended unheard)."""
        self.generation += 1
        if keys is None:
            self._entries.clear()
            self._keys_by_user.clear()
            return
        for key in keys:
            self._drop(key)

    def users_changed(self, user_ids: set[int] | None) -> None:
        """Forget every session of these users (None: of everyone): their cached ``User`` is
        out of date."""
        self.generation += 1
        if user_ids is None:
            self._entries.clear()
            self._keys_by_user.clear()
            return
        for user_id in user_ids:
            for key in tuple(self._keys_by_user.get(user_id, ())):
                self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        user_id = entry[0].user.id
        keys = self._keys_by_user.get(user_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._keys_by_user[user_id]
