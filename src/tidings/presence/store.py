"""Where presence is kept: who has streams on which process, their last activity, and the
status last announced for them. In memory (one process) or in Redis (every process).

A user's state is a set of *holds* (one per process with a stream of theirs, each with an
expiry), the time of their last activity, the status last announced and when they were last
seen. Their status follows from it:

* ``offline``: no hold that has not expired;
* ``away``: a hold, but no activity for ``away_after`` seconds;
* ``online``: a hold and recent activity.

A process holds each user with a stream there until ``now + ttl`` and renews its holds well
before they expire; when a user's last stream there closes, it shortens the hold to
``now + grace`` instead of dropping it. So a reconnect within the grace period (a flapping
network, a reconnect storm after a restart, a page reload) changes nothing and announces
nothing, and the holds of a process that died expire by themselves after ``ttl``.

Every operation recomputes the status and compares it with the one last announced: only a
change is returned (once, to one caller: in Redis the whole step is one script), and the caller
announces it. Users whose status may change with time alone (a hold expiring, activity growing
old) are kept in a schedule by the time it may happen; ``due`` recomputes them.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from redis.asyncio import Redis

from tidings.presence.events import PresenceStatus

Operation = Literal["connect", "hold", "release", "active", "unseen", "check"]
"""``connect``: a user's first stream here opened (a hold; and activity if they held nothing
anywhere: a reconnect leaves an away user away); ``unseen``: forget when they were last seen
(they showed their presence again: what the store saw while they hid it is theirs); ``hold``:
renew the
hold; ``release``: their last stream here closed (the hold shortened to the grace period);
``active``: the person used the app; ``check``: only recompute."""


@dataclass(frozen=True, slots=True)
class Presence:
    """A user's status, and when they were last seen (epoch seconds, if ever)."""

    user_id: int
    status: PresenceStatus
    last_seen: float | None

    @property
    def last_seen_at(self) -> datetime | None:
        """When they were last online; None while they are (or if never seen)."""
        if self.status != "offline" or self.last_seen is None:
            return None
        return datetime.fromtimestamp(self.last_seen, UTC)


class PresenceStore(Protocol):
    """Presence state shared by every process of a deployment (see the module docstring)."""

    async def update(
        self, op: Operation, user_ids: list[int], now: float, until: float = 0.0
    ) -> list[Presence]:
        """Apply ``op`` to these users (``until``: the hold's new expiry) and return the
        changes of status that this call alone observed."""
        ...

    async def due(self, now: float, limit: int) -> list[Presence]:
        """Recompute users whose status may have changed with time; return the changes."""
        ...

    async def lookup(self, user_ids: list[int], now: float) -> dict[int, Presence]:
        """The current status of these users (changing nothing)."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _UserState:
    holds: dict[str, float] = field(default_factory=dict)
    active: float = 0.0
    announced: PresenceStatus = "offline"
    seen: float | None = None


def _status(
    holds: dict[str, float], active: float, now: float, away_after: float
) -> tuple[PresenceStatus, float | None]:
    """The status, and when it may next change by time alone (None: not by time)."""
    live = [expiry for expiry in holds.values() if expiry > now]
    if not live:
        return "offline", None
    first_expiry = min(live)
    if now - active >= away_after:
        return "away", first_expiry
    return "online", min(first_expiry, active + away_after)


class MemoryPresenceStore:
    """Presence for one process: the same rules, in dictionaries."""

    def __init__(self, *, process: str, away_after: float) -> None:
        self.process = process
        self.away_after = away_after
        self._users: dict[int, _UserState] = {}
        self._schedule: list[tuple[float, int]] = []
        self._due_at: dict[int, float] = {}

    async def update(
        self, op: Operation, user_ids: list[int], now: float, until: float = 0.0
    ) -> list[Presence]:
        changes = []
        for user_id in user_ids:
            state = self._users.get(user_id)
            if state is None:
                if op in ("active", "check", "release", "unseen"):
                    continue  # nothing held: nothing to change
                state = self._users[user_id] = _UserState()
            # Opening the app is activity, unless the user was here already (a reload, a
            # flapping network, a restart): an away user reconnecting stays away.
            arriving = op in ("connect", "hold") and not any(e > now for e in state.holds.values())
            if op in ("connect", "hold", "release"):
                state.holds[self.process] = until
                state.seen = now
            if op == "active" or arriving:
                state.active = now
            if op == "unseen":
                state.seen = None
            change = self._recompute(user_id, state, now)
            if change is not None:
                changes.append(change)
        return changes

    def _recompute(self, user_id: int, state: _UserState, now: float) -> Presence | None:
        for process, expiry in list(state.holds.items()):
            if expiry <= now:
                del state.holds[process]
        status, next_change = _status(state.holds, state.active, now, self.away_after)
        if next_change is None:
            self._due_at.pop(user_id, None)
        elif self._due_at.get(user_id) != next_change:
            self._due_at[user_id] = next_change
            heapq.heappush(self._schedule, (next_change, user_id))
        if status == state.announced:
            return None
        state.announced = status
        return Presence(user_id, status, state.seen)

    async def due(self, now: float, limit: int) -> list[Presence]:
        changes = []
        checked = 0
        while self._schedule and self._schedule[0][0] <= now and checked < limit:
            at, user_id = heapq.heappop(self._schedule)
            if self._due_at.get(user_id) != at:
                continue  # rescheduled since
            del self._due_at[user_id]
            checked += 1
            state = self._users.get(user_id)
            if state is None:
                continue
            change = self._recompute(user_id, state, now)
            if change is not None:
                changes.append(change)
        return changes

    async def lookup(self, user_ids: list[int], now: float) -> dict[int, Presence]:
        found = {}
        for user_id in user_ids:
            state = self._users.get(user_id)
            if state is None:
                continue
            status, _ = _status(state.holds, state.active, now, self.away_after)
            found[user_id] = Presence(user_id, status, state.seen)
        return found

    async def close(self) -> None:
        pass


# One user's step, atomic: apply the operation, drop expired holds, recompute, reschedule,
# compare with the status last announced. KEYS: the user's hash, the schedule. ARGV: user id,
# now, op, process, until, away_after, key ttl. Returns {changed, status, seen}.
_UPDATE = """
local key, schedule = KEYS[1], KEYS[2]
local user, now, op, process = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local untl, away_after, key_ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if op ~= 'connect' and op ~= 'hold' and redis.call('EXISTS', key) == 0 then
  return {0, 'offline', ''}
end
local arriving = false
if op == 'connect' or op == 'hold' then
  arriving = true
  local held = redis.call('HGETALL', key)
  for i = 1, #held, 2 do
    if string.sub(held[i], 1, 2) == 'h:' and tonumber(held[i + 1]) > now then
      arriving = false
    end
  end
end
if op == 'connect' or op == 'hold' or op == 'release' then
  redis.call('HSET', key, 'h:' .. process, untl, 'seen', now)
end
if op == 'active' or arriving then
  redis.call('HSET', key, 'active', now)
end
if op == 'unseen' then
  redis.call('HDEL', key, 'seen')
end
local fields = redis.call('HGETALL', key)
local first_expiry, active, announced, seen = nil, 0, 'offline', ''
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if string.sub(name, 1, 2) == 'h:' then
    local expiry = tonumber(value)
    if expiry <= now then
      redis.call('HDEL', key, name)
    elseif first_expiry == nil or expiry < first_expiry then
      first_expiry = expiry
    end
  elseif name == 'active' then active = tonumber(value)
  elseif name == 'status' then announced = value
  elseif name == 'seen' then seen = value
  end
end
local status, next_change = 'offline', nil
if first_expiry ~= nil then
  if now - active >= away_after then
    status, next_change = 'away', first_expiry
  else
    status, next_change = 'online', math.min(first_expiry, active + away_after)
  end
end
if next_change == nil then
  redis.call('ZREM', schedule, user)
else
  redis.call('ZADD', schedule, next_change, user)
end
redis.call('EXPIRE', key, key_ttl)
if status == announced then
  return {0, status, seen}
end
redis.call('HSET', key, 'status', status)
return {1, status, seen}
"""


class RedisPresenceStore:
    """Presence shared by every process through Redis: one hash per user, one schedule."""

    KEY_TTL_SECONDS = 30 * 86400
    """A user's hash outlives their last stream this long (for "last seen")."""

    def __init__(self, url: str, *, prefix: str, process: str, away_after: float) -> None:
        self.process = process
        self.away_after = away_after
        self.prefix = prefix
        self.schedule_key = f"{prefix}:presence:due"
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, decode_responses=True
        )
        self._script = self._redis.register_script(_UPDATE)

    def _key(self, user_id: int) -> str:
        return f"{self.prefix}:presence:u:{user_id}"

    async def _run(
        self, op: Operation, user_ids: list[int], now: float, until: float
    ) -> list[tuple[int, list[object]]]:
        if not user_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                await self._script(
                    keys=[self._key(user_id), self.schedule_key],
                    args=[
                        user_id,
                        repr(now),
                        op,
                        self.process,
                        repr(until),
                        repr(self.away_after),
                        self.KEY_TTL_SECONDS,
                    ],
                    client=pipe,
                )
            replies = await pipe.execute()
        return list(zip(user_ids, replies, strict=True))

    @staticmethod
    def _presence(user_id: int, reply: list[object]) -> Presence:
        _, status, seen = reply
        assert status in ("online", "away", "offline")
        return Presence(user_id, status, float(str(seen)) if seen else None)

    async def update(
        self, op: Operation, user_ids: list[int], now: float, until: float = 0.0
    ) -> list[Presence]:
        return [
            self._presence(user_id, reply)
            for user_id, reply in await self._run(op, user_ids, now, until)
            if reply[0] == 1
        ]

    async def due(self, now: float, limit: int) -> list[Presence]:
        members = await self._redis.zrangebyscore(
            self.schedule_key, "-inf", repr(now), start=0, num=limit
        )
        return await self.update("check", [int(str(m)) for m in members], now)

    async def lookup(self, user_ids: list[int], now: float) -> dict[int, Presence]:
        if not user_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hgetall(self._key(user_id))
            replies = await pipe.execute()
        found = {}
        for user_id, fields in zip(user_ids, replies, strict=True):
            if not fields:
                continue
            holds = {k: float(v) for k, v in fields.items() if k.startswith("h:")}
            status, _ = _status(holds, float(fields.get("active", 0)), now, self.away_after)
            seen = fields.get("seen")
            found[user_id] = Presence(user_id, status, float(seen) if seen else None)
        return found

    async def close(self) -> None:
        await self._redis.aclose()
