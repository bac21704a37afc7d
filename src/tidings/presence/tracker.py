"""The presence tracker: one per process. It turns this process's streams and the activity it
sees into holds in the presence store, and announces the changes of status the store reports.

Where a ``presence`` event is born: ``PresenceTracker._announce``, after the store said a
user's status changed. Costs: no database write per connect (the store is memory or Redis;
"last seen" goes to the database in one statement per minute for the users who went offline);
one database read per batch of changes (who sees them); nothing for a reconnect within the
grace period. Streams that open or close at once (a restart, a flapping network) are taken
together: one pass of the tracker's loop handles whatever came since the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from tidings.accounts.models import User
from tidings.blocks.models import Block
from tidings.conversations.models import ConversationMember
from tidings.db import Database
from tidings.friends.models import Friendship
from tidings.presence.events import PresenceEvent, PresenceStatus
from tidings.presence.store import (
    MemoryPresenceStore,
    Presence,
    PresenceStore,
    RedisPresenceStore,
)
from tidings.realtime.hub import Hub
from tidings.realtime.metrics import Metrics

logger = logging.getLogger(__name__)

ACTIVITY_REPORT_SECONDS = 30.0
"""A user's activity is passed on to the store at most this often per process."""
LAST_SEEN_FLUSH_SECONDS = 60.0
SWEEP_LIMIT = 1000
"""Users recomputed per pass for time-based changes (more wait for the next pass)."""


@dataclass(frozen=True, slots=True)
class PresenceConfig:
    """How presence behaves (``Settings.presence_*``)."""

    grace_seconds: float = 15.0
    """A user whose last stream closed stays online this long: a reconnect within it is not
    seen by anyone."""
    away_seconds: float = 300.0
    """A user with streams but no activity for this long is away."""
    hold_seconds: float = 60.0
    """How long a process's hold lasts unless renewed (renewed every third of it): the holds of
    a process that died expire after this."""
    tick_seconds: float = 1.0
    """How often time-based changes are looked for."""
    group_limit: int = 100
    """Members of shared conversations up to this size see each other's presence live (in
    larger groups, on demand)."""


@dataclass(frozen=True, slots=True)
class PresenceView:
    user_id: int
    status: PresenceStatus
    last_seen_at: datetime | None


class PresenceTracker:
    """This process's part of presence (see the module docstring)."""

    def __init__(
        self,
        store: PresenceStore,
        hub: Hub,
        db: Database,
        config: PresenceConfig,
        metrics: Metrics,
        *,
        quiet_start: bool = False,
    ) -> None:
        self.store = store
        self.hub = hub
        self.db = db
        self.config = config
        self.metrics = metrics
        self._started = time.time()
        self._quiet_until = self._started + config.grace_seconds if quiet_start else 0.0
        """A memory store starts empty after a restart. Users who were online when the last
        process stopped (it wrote their "last seen" then) and reconnect within the grace
        period are not announced online again: their audience saw them online all along."""
        self._pending: dict[int, bool] = {}
        self._active: set[int] = set()
        self._reported_active: dict[int, float] = {}
        self._held: set[int] = set()
        self._last_seen: dict[int, float] = {}
        self._unannounced: dict[int, Presence] = {}
        """Changes the store reported, not yet announced (kept if announcing fails)."""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_renewal = 0.0
        self._next_flush = time.time() + LAST_SEEN_FLUSH_SECONDS

    @classmethod
    def for_deployment(
        cls,
        redis_url: str | None,
        prefix: str,
        hub: Hub,
        db: Database,
        config: PresenceConfig,
        metrics: Metrics,
    ) -> PresenceTracker:
        """Redis when the deployment has it (every process shares presence), else memory."""
        process = uuid.uuid4().hex[:12]
        if redis_url and redis_url.startswith(("redis://", "rediss://", "unix://")):
            store: PresenceStore = RedisPresenceStore(
                redis_url, prefix=prefix, process=process, away_after=config.away_seconds
            )
            return cls(store, hub, db, config, metrics)
        memory = MemoryPresenceStore(process=process, away_after=config.away_seconds)
        return cls(memory, hub, db, config, metrics, quiet_start=True)

    async def start(self) -> None:
        self.hub.local_users_listeners.append(self._local_users_changed)
        self._task = asyncio.create_task(self._run(), name="tidings-presence")

    async def stop(self) -> None:
        """Stop; this process's holds expire by themselves (streams reconnect elsewhere)."""
        with contextlib.suppress(ValueError):
            self.hub.local_users_listeners.remove(self._local_users_changed)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        now = time.time()
        self._last_seen.update(dict.fromkeys(self._held, now))
        with contextlib.suppress(Exception):
            await self._flush_last_seen()
        await self.store.close()

    # What this process sees

    def _local_users_changed(self, user_id: int, present: bool) -> None:
        self._pending[user_id] = present
        self._wake.set()

    def note_activity(self, user_id: int) -> None:
        """The person used the app (sent, typed, interacted with a visible tab)."""
        now = time.time()
        every = min(ACTIVITY_REPORT_SECONDS, self.config.away_seconds / 10)
        if now - self._reported_active.get(user_id, 0.0) < every:
            return
        self._reported_active[user_id] = now
        self._active.add(user_id)
        self._wake.set()

    # The loop

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.tick_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._pass(time.time())
            except Exception:
                self.metrics.broker_errors.inc()
                logger.warning("presence: a pass failed (retried)", exc_info=True)
                # Start over from what the hub holds: the next pass renews every hold (a
                # user who was here already stays as they were) and announces what this one
                # had learnt but not yet announced.
                self._held = set()
                self._next_renewal = 0.0
                await asyncio.sleep(self.config.tick_seconds)

    async def _pass(self, now: float) -> None:
        changes = _Changes(self._unannounced)
        pending, self._pending = self._pending, {}
        local = set(self.hub.local_users())
        # Whatever the order of what came, what counts is whether the user has a stream now.
        opened = [u for u in pending if u in local and u not in self._held]
        closed = [u for u in pending if u not in local and u in self._held]
        hold_until = now + self.config.hold_seconds
        if opened:
            self._held.update(opened)
            changes.add(await self.store.update("connect", opened, now, hold_until))
        if closed:
            self._held.difference_update(closed)
            changes.add(
                await self.store.update("release", closed, now, now + self.config.grace_seconds)
            )
        if now >= self._next_renewal:
            # Renew every hold; and heal: a user the listeners missed is held or released here.
            missed = local - self._held
            gone = self._held - local
            self._held = local
            changes.add(await self.store.update("connect", sorted(missed), now, hold_until))
            changes.add(
                await self.store.update(
                    "release", sorted(gone), now, now + self.config.grace_seconds
                )
            )
            changes.add(await self.store.update("hold", sorted(local - missed), now, hold_until))
            self._next_renewal = now + self.config.hold_seconds / 3
            every = min(ACTIVITY_REPORT_SECONDS, self.config.away_seconds / 10)
            self._reported_active = {
                u: at for u, at in self._reported_active.items() if now - at < every
            }
        if self._active:
            active, self._active = sorted(self._active), set()
            changes.add(await self.store.update("active", active, now))
        changes.add(await self.store.due(now, SWEEP_LIMIT))
        if self._unannounced:
            await self._announce(list(self._unannounced.values()), now)
            self._unannounced.clear()
        if now >= self._next_flush:
            self._next_flush = now + LAST_SEEN_FLUSH_SECONDS
            await self._flush_last_seen()

    async def _announce(self, changes: Sequence[Presence], now: float) -> None:
        latest = {change.user_id: change for change in changes}  # the last change counts
        seen_since = None
        if now < self._quiet_until:
            seen_since = datetime.fromtimestamp(self._started - self.config.grace_seconds, UTC)
        found = await self.db.run_query(
            _audiences, list(latest), self.config.group_limit, seen_since
        )
        for change in latest.values():
            # Someone hiding their presence leaves no "last seen" behind: showing it again
            # must not tell when they came and went meanwhile.
            if (
                change.status == "offline"
                and change.last_seen is not None
                and change.user_id not in found.hidden
            ):
                self._last_seen[change.user_id] = change.last_seen
        for user_id, change in latest.items():
            if user_id in found.hidden or user_id in found.recent:
                continue  # others see them offline whatever they do, or saw them online
            last_seen_at = None if user_id in found.deleted else change.last_seen_at
            event = PresenceEvent(user_id=user_id, status=change.status, last_seen_at=last_seen_at)
            audience = found.audiences.get(user_id, [])
            self.metrics.presence_events.inc(len(audience))
            await self.hub.send_ephemeral(audience, event)

    async def visibility_changed(self, user_id: int, *, hidden: bool) -> None:
        """The user hid their presence (everyone sees them go offline) or showed it again
        (everyone sees their status)."""
        now = time.time()
        current = (await self.store.lookup([user_id], now)).get(user_id)
        if not hidden:
            # What the store saw while they hid is theirs: "last seen" goes back to what it
            # was when they hid it (the database's, which nothing wrote meanwhile).
            await self.store.update("unseen", [user_id], now)
        if current is None or current.status == "offline":
            return
        found = await self.db.run_query(_audiences, [user_id], self.config.group_limit, None)
        status: PresenceStatus = "offline" if hidden else current.status
        event = PresenceEvent(user_id=user_id, status=status, last_seen_at=None)
        await self.hub.send_ephemeral(found.audiences.get(user_id, []), event)

    async def pair_changed(self, user_id: int, other_id: int, *, blocked: bool) -> None:
        """A block between these two began (``blocked``) or ended: each is told the other's
        presence as they may now see it (offline with no "last seen" while a block stands),
        else each would keep showing the status they last heard of until their next
        (re)connect. At an unblock, nothing for a view that stays as the block left it."""
        for viewer, subject in ((user_id, other_id), (other_id, user_id)):
            [view] = await self.presence_of(viewer, [subject])
            if not blocked and view.status == "offline" and view.last_seen_at is None:
                continue
            event = PresenceEvent(
                user_id=subject, status=view.status, last_seen_at=view.last_seen_at
            )
            await self.hub.send_ephemeral([viewer], event)

    async def _flush_last_seen(self) -> None:
        if not self._last_seen:
            return
        seen, self._last_seen = self._last_seen, {}
        rows = [
            {"user": user_id, "seen": datetime.fromtimestamp(at, UTC)}
            for user_id, at in sorted(seen.items())
        ]
        async with self.db.write() as session:
            await session.execute(_STORE_LAST_SEEN, rows)

    # What a client asks

    async def presence_of(self, viewer_id: int, user_ids: Sequence[int]) -> list[PresenceView]:
        """The status of these users as ``viewer_id`` may see it: people they share a friendship
        or a conversation with, not in a block either way, not hiding their presence; anyone
        else is offline with no "last seen"."""
        wanted = list(dict.fromkeys(user_ids))
        visible = await self.db.run_query(_visible_to, viewer_id, wanted)
        found = await self.store.lookup([u for u in wanted if u in visible], time.time())
        views = []
        for user_id in wanted:
            if user_id not in visible:
                views.append(PresenceView(user_id, "offline", None))
                continue
            presence = found.get(user_id)
            if presence is None:  # not in the store (never seen, or it was restarted)
                stored = visible[user_id]
                views.append(PresenceView(user_id, "offline", stored))
            else:
                views.append(
                    PresenceView(
                        user_id,
                        presence.status,
                        presence.last_seen_at
                        or (visible[user_id] if presence.status == "offline" else None),
                    )
                )
        return views


class _Changes:
    """Collects the store's changes of status into ``into`` (the latest per user) as they come,
    so that a pass that fails halfway keeps them for the next."""

    def __init__(self, into: dict[int, Presence]) -> None:
        self.into = into

    def add(self, changes: Sequence[Presence]) -> None:
        for change in changes:
            self.into[change.user_id] = change


@dataclass(frozen=True, slots=True)
class _Audiences:
    audiences: dict[int, list[int]]
    """Who sees each user's presence live."""
    hidden: set[int]
    """Those who hide their presence: never announced, and no "last seen" kept."""
    recent: set[int]
    """Those last seen since the quiet start's threshold: their audience saw them online."""
    deleted: set[int]
    """Deleted accounts: announced offline with no "last seen"."""


def _audiences(
    session: Session, user_ids: list[int], group_limit: int, seen_since: datetime | None
) -> _Audiences:
    """Who sees each of these users' presence live (friends, members of shared conversations
    of at most ``group_limit`` members, minus blocks either way), and which of them are not to
    be announced (hidden; last seen since ``seen_since``) or are gone."""
    audiences: dict[int, set[int]] = {u: set() for u in user_ids}
    for user_id, friend_id in session.execute(
        select(Friendship.user_id, Friendship.friend_id).where(Friendship.user_id.in_(user_ids))
    ):
        audiences[user_id].add(friend_id)
    mine, others, sizes = (aliased(ConversationMember) for _ in range(3))
    small = (
        select(sizes.conversation_id)
        .where(
            sizes.conversation_id.in_(
                select(ConversationMember.conversation_id).where(
                    ConversationMember.user_id.in_(user_ids)
                )
            )
        )
        .group_by(sizes.conversation_id)
        .having(func.count() <= group_limit)
    )
    for user_id, other_id in session.execute(
        select(mine.user_id, others.user_id)
        .join(others, others.conversation_id == mine.conversation_id)
        .where(
            mine.user_id.in_(user_ids),
            others.user_id != mine.user_id,
            mine.conversation_id.in_(small),
        )
    ):
        audiences[user_id].add(other_id)
    for blocker, blocked in session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(Block.blocker_id.in_(user_ids), Block.blocked_id.in_(user_ids))
        )
    ):
        if blocker in audiences:
            audiences[blocker].discard(blocked)
        if blocked in audiences:
            audiences[blocked].discard(blocker)
    hidden, recent, deleted = set(), set(), set()
    for user_id, hides, last_seen_at, deleted_at in session.execute(
        select(User.id, User.hide_presence, User.last_seen_at, User.deleted_at).where(
            User.id.in_(user_ids)
        )
    ):
        if hides:
            hidden.add(user_id)
        if seen_since is not None and last_seen_at is not None and last_seen_at >= seen_since:
            recent.add(user_id)
        if deleted_at is not None:
            deleted.add(user_id)
    return _Audiences({u: sorted(a) for u, a in audiences.items()}, hidden, recent, deleted)


def _visible_to(
    session: Session, viewer_id: int, user_ids: list[int]
) -> dict[int, datetime | None]:
    """Of ``user_ids``, those whose presence ``viewer_id`` may see, with their stored "last
    seen" (the viewer themselves included)."""
    mine = aliased(ConversationMember)
    shares = (
        select(ConversationMember.user_id)
        .join(
            mine,
            and_(
                mine.conversation_id == ConversationMember.conversation_id,
                mine.user_id == viewer_id,
            ),
        )
        .where(ConversationMember.user_id.in_(user_ids))
    )
    friends = select(Friendship.friend_id).where(
        Friendship.user_id == viewer_id, Friendship.friend_id.in_(user_ids)
    )
    blocked = (
        select(Block.blocked_id)
        .where(Block.blocker_id == viewer_id)
        .union(select(Block.blocker_id).where(Block.blocked_id == viewer_id))
    )
    rows = session.execute(
        select(User.id, User.last_seen_at).where(
            User.id.in_(user_ids),
            User.deleted_at.is_(None),
            or_(User.id == viewer_id, ~User.hide_presence),
            or_(User.id == viewer_id, User.id.in_(shares), User.id.in_(friends)),
            User.id.not_in(blocked),
        )
    )
    return {user_id: seen for user_id, seen in rows}


_STORE_LAST_SEEN = (
    update(User.__table__)  # type: ignore[arg-type]
    .where(User.__table__.c.id == bindparam("user"))
    .values(last_seen_at=bindparam("seen"))
)
"""Each user who went offline: when (one statement per batch, not per connect)."""
