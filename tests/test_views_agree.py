"""The state a client rebuilds from events equals a fresh fetch, for every event type.

Each person takes the page's snapshot (``/api/bootstrap``) and opens a stream from its
position; then a scenario sends every durable event type. Each person's stream must carry
exactly what the log replays to a reconnecting client (same ids, types and data, in order), and
applying those events to the snapshot, the way the web client's reducers do, must give what a
fresh ``/api/bootstrap`` and fresh history pages show. An event that forgets a field, or a view
built differently for the event than for the answer, fails here.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api_helpers import friends
from tests.support.api import ApiUser
from tests.support.server import LiveServer
from tests.support.sse import EventStreamReader, open_stream
from tidings.events import EVENT_TYPES
from tidings.realtime.log import events_page, read_head


class Rebuilt:
    """One person's state, from a snapshot and the events after it (the client's reducers,
    written out in Python: ``src/tidings/web/static/js/store``)."""

    def __init__(
        self, me: int, snapshot: dict[str, Any], attention: tuple[dict[str, Any], set[int]]
    ) -> None:
        self.me = me
        self.settings = dict(attention[0])
        self.blocked = set(attention[1])
        self.conversations = {c["id"]: c for c in snapshot["conversations"]}
        self.histories: dict[int, dict[int, dict[str, Any]]] = {
            c["id"]: {} for c in snapshot["conversations"]
        }
        self.notifications = {n["id"]: n for n in snapshot["notifications"]}
        self.unread_notifications = snapshot["notifications_unread_count"]
        self.friends = {f["id"]: f for f in snapshot["friends"]}
        requests = snapshot["friend_requests"]
        self.requests = {r["id"]: r for r in requests["incoming"] + requests["outgoing"]}
        self.seen: set[str] = set()

    def apply(self, event_type: str, data: dict[str, Any]) -> None:
        self.seen.add(event_type)
        getattr(self, f"_on_{event_type}")(data)

    def _on_message(self, data: dict[str, Any]) -> None:
        message = data["message"]
        self.histories[message["conversation_id"]][message["id"]] = message
        conversation = self.conversations[message["conversation_id"]]
        if message["id"] <= (conversation["last_message"] or {}).get("id", 0):
            return
        conversation["last_message"] = message
        conversation["updated_at"] = _later(conversation["updated_at"], message["created_at"])
        if message["sender"]["id"] == self.me:  # your own message reads everything before it
            conversation["unread_count"] = 0
            conversation["last_read_message_id"] = message["id"]
        elif (
            message["id"] > conversation["last_read_message_id"]
            and not message["deleted"]  # (replayed after its deletion: a placeholder)
            and message["system"] is None  # a system line is nobody's unread
        ):
            conversation["unread_count"] += 1

    def _replace_message(self, message: dict[str, Any]) -> None:
        """An edited or deleted message, wherever it shows: its thread, the sidebar's last
        message, the quotes of its replies."""
        history = self.histories[message["conversation_id"]]
        history[message["id"]] = message
        conversation = self.conversations[message["conversation_id"]]
        if (conversation["last_message"] or {}).get("id") == message["id"]:
            conversation["last_message"] = message
        for reply in history.values():
            if reply["reply_to"] is not None and reply["reply_to"]["id"] == message["id"]:
                reply["reply_to"] = {
                    "id": message["id"],
                    "sender": message["sender"],
                    "excerpt": message["content"][:200],
                    "deleted": message["deleted"],
                    "attachment_count": len(message["attachments"]),
                }

    def _on_message_updated(self, data: dict[str, Any]) -> None:
        self._replace_message(data["message"])

    def _on_message_deleted(self, data: dict[str, Any]) -> None:
        message = data["message"]
        conversation = self.conversations[message["conversation_id"]]
        was = self.histories[message["conversation_id"]].get(message["id"])
        if (
            message["sender"]["id"] != self.me
            and message["id"] > conversation["last_read_message_id"]
            and not (was or {}).get("deleted")
        ):
            conversation["unread_count"] -= 1
        self._replace_message(message)

    def _on_message_reactions(self, data: dict[str, Any]) -> None:
        message = self.histories[data["conversation_id"]][data["message_id"]]
        message["reactions"] = data["reactions"]
        conversation = self.conversations[data["conversation_id"]]
        if (conversation["last_message"] or {}).get("id") == data["message_id"]:
            conversation["last_message"] = {**message}

    def _on_conversation_update(self, data: dict[str, Any]) -> None:
        changed = data["conversation"]
        if changed is None:  # removed, or the group deleted
            del self.conversations[data["conversation_id"]]
            del self.histories[data["conversation_id"]]
            return
        known = self.conversations.get(changed["id"])
        new = known is None
        last = changed["last_message"]
        # Your mute comes with your own events (`muted`, `read`); others say nothing of it.
        own = data["reason"] in ("muted", "read")
        self.conversations[changed["id"]] = {
            **changed,
            "muted_until": changed["muted_until"] if own or new else known["muted_until"],
            "members": changed["members"] if changed["members"] is not None else known["members"],
            "unread_count": _first(
                changed["unread_count"], known and known["unread_count"], default=0
            ),
            "last_read_message_id": _first(
                changed["last_read_message_id"],
                known and known["last_read_message_id"],
                default=last["id"] if last else 0,
            ),
        }
        if new:
            self.histories[changed["id"]] = {}
        if last is not None:
            self.histories[changed["id"]][last["id"]] = last

    def _on_notification(self, data: dict[str, Any]) -> None:
        self.notifications[data["notification"]["id"]] = data["notification"]
        self.unread_notifications = data["unread_count"]

    def _on_notification_read(self, data: dict[str, Any]) -> None:
        for notification in self.notifications.values():
            if data["notification_ids"] is None or notification["id"] in data["notification_ids"]:
                notification["read"] = True
        self.unread_notifications = data["unread_count"]

    def _on_friend_request(self, data: dict[str, Any]) -> None:
        request = data["request"]
        self.requests.pop(request["id"], None)
        if request["status"] == "pending":
            self.requests[request["id"]] = request

    def _on_friend_update(self, data: dict[str, Any]) -> None:
        friend = data["friend"]
        if data["status"] == "added":
            self.friends[friend["id"]] = friend
            for request_id, r in list(self.requests.items()):
                if friend["id"] in (r["requester"]["id"], r["addressee"]["id"]):
                    del self.requests[request_id]
        else:
            del self.friends[friend["id"]]

    def _on_settings_updated(self, data: dict[str, Any]) -> None:
        self.settings = data["settings"]

    def _on_block_update(self, data: dict[str, Any]) -> None:
        if data["blocked"]:
            self.blocked.add(data["user"]["id"])
        else:
            self.blocked.discard(data["user"]["id"])

    def _on_user_updated(self, data: dict[str, Any]) -> None:
        """Someone shown changed: every place that shows them (the client keeps one map of
        users; here, each copy of them in the state)."""
        user = data["user"]
        _put_user(self.__dict__, user)


def _put_user(value: Any, user: dict[str, Any]) -> None:
    """Update every view of ``user`` (a dict with its id, username and display name; a member
    view keeps its role) within ``value``."""
    if isinstance(value, dict):
        if value.get("id") == user["id"] and {"username", "display_name"} <= value.keys():
            value.update(user)
        for item in value.values():
            _put_user(item, user)
    elif isinstance(value, list):
        for item in value:
            _put_user(item, user)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def _first(*values: Any, default: Any) -> Any:
    return next((v for v in values if v is not None), default)


def _later(a: str, b: str) -> str:
    return b if datetime.fromisoformat(b) > datetime.fromisoformat(a) else a


async def _fresh(user: ApiUser) -> tuple[dict[str, Any], dict[int, dict[int, dict[str, Any]]]]:
    snapshot = await user.ok("GET", "/api/bootstrap")
    histories = {}
    for conversation in snapshot["conversations"]:
        path = f"/api/conversations/{conversation['id']}/messages?limit=100"
        page = await user.ok("GET", path)
        assert not page["has_more"]
        histories[conversation["id"]] = {m["id"]: m for m in page["messages"]}
    return snapshot, histories


async def _attention(user: ApiUser) -> tuple[dict[str, Any], set[int]]:
    """Your settings and whom you block: fetched apart from the snapshot (on every stream open
    in the web client), kept current by ``settings_updated`` and ``block_update``."""
    settings = await user.ok("GET", "/api/users/me/settings")
    blocks = await user.ok("GET", "/api/blocks")
    return settings, {b["user"]["id"] for b in blocks["blocks"]}


def _by_id(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {item["id"]: item for item in items}


async def _scenario(alice: ApiUser, bob: ApiUser, carol: ApiUser, dave: ApiUser) -> None:
    """Every durable event type, several reasons of each."""
    # Friends (alice-bob, alice-carol, bob-carol from ``friends``): a request cancelled, one
    # declined, one accepted; later a friend removed.
    asked = await dave.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
    await dave.ok("POST", f"/api/friends/requests/{asked['request']['id']}/cancel")
    asked = await dave.ok("POST", "/api/friends/request", {"username": "bob"}, 201)
    await bob.ok("POST", f"/api/friends/requests/{asked['request']['id']}/decline")
    asked = await carol.ok("POST", "/api/friends/request", {"username": "dave"}, 201)
    await dave.ok("POST", f"/api/friends/requests/{asked['request']['id']}/accept")
    # A DM with messages both ways, and the reader's read mark.
    dm = await alice.dm(bob)
    await alice.send(dm["id"], "hi bob")
    await bob.send(dm["id"], "hi alice")
    await alice.send(dm["id"], "how are you?")
    await bob.ok("POST", f"/api/conversations/{dm['id']}/read")
    # A group: created, a member added, messages, reads, notifications read, a member removed.
    group = await alice.ok(
        "POST", "/api/conversations", {"type": "group", "name": "g", "member_ids": [bob.id]}, 201
    )
    await bob.send(group["id"], "first in the group")
    await alice.ok("POST", f"/api/conversations/{group['id']}/members", {"user_id": carol.id}, 201)
    await carol.send(group["id"], "hello both")
    welcome = await alice.send(group["id"], "welcome carol")
    # A reply, edits of the original and of the reply, reactions, a mention, deletions (an
    # unread message, and the last one).
    path = f"/api/conversations/{group['id']}/messages"
    reply = await bob.ok(
        "POST", path, {"content": "thanks @carol, and @alice", "reply_to_id": welcome["id"]}, 201
    )
    await alice.ok("PATCH", f"{path}/{welcome['id']}", {"content": "welcome, carol!"})
    await alice.ok("PUT", f"{path}/{welcome['id']}/reactions/👍")
    await carol.ok("PUT", f"{path}/{welcome['id']}/reactions/👍")
    await carol.ok("PUT", f"{path}/{reply['message']['id']}/reactions/🎉")
    await alice.ok("DELETE", f"{path}/{welcome['id']}/reactions/👍")
    await carol.ok("PATCH", f"{path}/{reply['message']['id']}", {"content": "x"}, 403)
    await bob.ok("PATCH", f"{path}/{reply['message']['id']}", {"content": "thanks @carol!"})
    # A picture, and a reply to it (its quote counts the attachment).
    uploaded = await alice.client.post(
        "/api/attachments?filename=dot.png", content=_png(), headers={"content-type": "image/png"}
    )
    assert uploaded.status_code == 201, uploaded.text
    picture = await alice.ok("POST", path, {"attachment_ids": [uploaded.json()["id"]]}, 201)
    await bob.ok("POST", path, {"content": "nice", "reply_to_id": picture["message"]["id"]}, 201)
    # A bot (issue 15): bob's friend from the start, added by him, posting with its token;
    # everyone shows it marked as a bot.
    bot = (await bob.ok("POST", "/api/bots", {"username": "bobs_bot"}, 201))["bot"]["user"]
    await bob.ok("POST", f"/api/conversations/{group['id']}/members", {"user_id": bot["id"]}, 201)
    token = await bob.ok(
        "POST", f"/api/bots/{bot['id']}/tokens", {"name": "t", "scopes": ["write"]}, 201
    )
    posted = await bob.client.post(
        path,
        json={"content": "beep"},
        # A bearer request is judged by its token alone: bob's cookie beside it is not read.
        headers={"Authorization": f"Bearer {token['secret']}"},
    )
    assert posted.status_code == 201 and posted.json()["message"]["sender"]["bot"], posted.text
    oops = await carol.send(group["id"], "oops, wrong group")
    await carol.ok("DELETE", f"{path}/{oops['id']}")
    await alice.ok("DELETE", f"{path}/{welcome['id']}")
    await carol.ok("POST", f"/api/conversations/{group['id']}/read")
    [notification, *_] = (await bob.ok("GET", "/api/notifications"))["notifications"]
    await bob.ok("POST", f"/api/notifications/{notification['id']}")
    await carol.ok("POST", "/api/notifications/read-all")
    # The group managed: renamed, described, a member made admin, settings, handed over.
    base = f"/api/conversations/{group['id']}"
    await alice.ok("PATCH", base, {"name": "hikers", "description": "Sundays"})
    await alice.ok("PUT", f"{base}/members/{bob.id}/role", {"role": "admin"})
    await bob.ok("PATCH", base, {"members_can_add": False})
    await alice.ok("DELETE", f"/api/conversations/{group['id']}/members/{carol.id}", status=204)
    await bob.send(group["id"], "after carol left")
    await alice.ok("POST", f"{base}/transfer", {"user_id": bob.id})
    # A second group, deleted by its owner.
    doomed = await alice.group("doomed", bob, carol)
    await carol.send(doomed["id"], "unread for alice and bob")
    await alice.ok("DELETE", f"/api/conversations/{doomed['id']}", status=204)
    # alice renamed and pictured: everyone who shows her (friends, co-members) redraws her.
    # (Before carol stops being her friend: someone who shares nothing with her any more is not
    # told, and keeps her old name in old notifications until they reload.)
    await alice.ok("PATCH", "/api/users/me", {"display_name": "Alice A.", "bio": "hi"})
    pictured = await alice.client.put("/api/users/me/avatar", content=_png())
    assert pictured.status_code == 200, pictured.text
    await alice.ok("DELETE", f"/api/friends/{carol.id}", status=204)
    # Attention (issue 14): settings changed; conversations muted (until unmuted, for a week,
    # one unmuted again); a DM blocked and unblocked, someone blocked for good.
    await alice.ok("PATCH", "/api/users/me/settings", {"desktop_notifications": False})
    await alice.ok("PATCH", "/api/users/me/settings", {"hide_presence": True})
    await bob.ok("PUT", f"/api/conversations/{dm['id']}/mute", {"until": None})
    week = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    await bob.ok("PUT", f"/api/conversations/{group['id']}/mute", {"until": week})
    await alice.ok("PUT", f"/api/conversations/{dm['id']}/mute", {"until": None})
    await alice.ok("DELETE", f"/api/conversations/{dm['id']}/mute")
    await alice.send(dm["id"], "still there?")  # to bob, muted: counted all the same
    talk = await carol.dm(dave)
    await carol.send(talk["id"], "hi dave")
    await dave.ok("PUT", f"/api/blocks/{carol.id}")
    await dave.ok("PUT", f"/api/blocks/{alice.id}")
    await dave.ok("DELETE", f"/api/blocks/{carol.id}", status=204)
    await dave.ok("PUT", f"/api/blocks/{carol.id}")


async def _replayed(session: AsyncSession, user_id: int, after: int) -> list[tuple[str, str, str]]:
    head = await session.run_sync(read_head)
    events = await session.run_sync(events_page, user_id, after, head, limit=head + 1)
    assert events is not None
    return [(e.id, e.type, e.data) for e in events]


REPLAY = Path(__file__).resolve().parent / "js" / "replay.mjs"


async def _replay_in_the_client(
    path: Path,
    snapshot: dict[str, Any],
    events: list[tuple[str | None, str, str]],
    fresh: tuple[dict[str, Any], dict[int, dict[int, dict[str, Any]]]],
    attention: tuple[tuple[dict[str, Any], set[int]], tuple[dict[str, Any], set[int]]],
) -> None:
    """The web client's own reducers (``tests/js/replay.mjs``) replay these events on the first
    snapshot and must build the state the fresh snapshot and history pages give."""
    node = shutil.which("node")
    assert node, "Node runs the web client's reducers here (scripts/system-deps installs it)"
    fresh_snapshot, histories = fresh
    pages = {
        str(conversation_id): {
            "messages": sorted(history.values(), key=lambda m: m["id"]),
            "has_more": False,  # _fresh checked it
        }
        for conversation_id, history in histories.items()
    }
    (settings, blocked), (fresh_settings, fresh_blocked) = attention
    replay = {
        "snapshot": snapshot,
        "settings": settings,
        "blocked": sorted(blocked),
        "events": [{"type": event_type, "data": _json(data)} for _, event_type, data in events],
        "fresh": {
            "snapshot": fresh_snapshot,
            "histories": pages,
            "settings": fresh_settings,
            "blocked": sorted(fresh_blocked),
        },
    }
    await asyncio.to_thread(path.write_text, json.dumps(replay, indent=1))
    done = await asyncio.to_thread(
        subprocess.run,
        [node, str(REPLAY), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{path}\n{done.stdout}{done.stderr}"


async def test_the_state_rebuilt_from_events_equals_a_fresh_fetch(
    server: LiveServer, make_user: Any, tmp_path: Path
) -> None:
    people = await friends(make_user, "alice", "bob", "carol")
    people.append(await make_user("dave"))
    alice, bob, carol, dave = people
    starts: dict[str, str] = {}
    first_snapshots: dict[str, dict[str, Any]] = {}
    first_attention: dict[str, tuple[dict[str, Any], set[int]]] = {}
    streams: dict[str, EventStreamReader] = {}
    for person in people:
        snapshot = await person.ok("GET", "/api/bootstrap")
        first_snapshots[person.username] = snapshot
        first_attention[person.username] = await _attention(person)
        starts[person.username] = snapshot["last_event_id"]
        streams[person.username] = await open_stream(
            person.client, last_event_id=snapshot["last_event_id"]
        )
    try:
        await _scenario(alice, bob, carol, dave)
        seen: set[str] = set()
        redacted = 0
        for person in people:
            async with server.ctx.db.query_session() as session:
                replay = await _replayed(session, person.id, int(starts[person.username]))
            stream = streams[person.username]
            assert (await stream.next()).event == "connected"
            live = [(f.id, f.event, f.data) for f in await stream.next_events(len(replay))]
            # A reconnect replays the same events, except that what a deletion took back is
            # gone from the log: those events show the deleted message's placeholder.
            assert [e[:2] for e in live] == [e[:2] for e in replay], person.username
            for (_, _, shown), (_, _, replayed) in zip(live, replay, strict=True):
                if shown != replayed:
                    assert '"deleted":true' in replayed, replayed
                    redacted += 1
            assert not any(text in data for _, _, data in replay for text in TAKEN_BACK)
            fresh = await _fresh(person)
            attention = (first_attention[person.username], await _attention(person))
            for events in (live, replay):
                state = Rebuilt(
                    person.id, copy.deepcopy(first_snapshots[person.username]), attention[0]
                )
                for _, event_type, data in events:
                    state.apply(event_type, _json(data))
                _assert_agrees(person, state, fresh)
                assert (state.settings, state.blocked) == attention[1], person.username
                await _replay_in_the_client(
                    tmp_path / f"{person.username}.json",
                    first_snapshots[person.username],
                    events,
                    fresh,
                    attention,
                )
                seen |= state.seen
        assert seen == set(EVENT_TYPES)  # the scenario covered every type
        assert redacted > 0  # streams showed the deleted text live; no replay does
    finally:
        for stream in streams.values():
            await stream.close()


TAKEN_BACK = ("welcome carol", "welcome, carol!", "oops, wrong group")
"""The text of the messages the scenario deletes: no replay shows it."""


def _assert_agrees(
    person: ApiUser,
    state: Rebuilt,
    fresh: tuple[dict[str, Any], dict[int, dict[int, dict[str, Any]]]],
) -> None:
    snapshot, histories = fresh
    name = person.username
    fetched = _by_id(snapshot["conversations"])
    for conversation_id in state.conversations.keys() | fetched.keys():
        mine, theirs = state.conversations.get(conversation_id), fetched.get(conversation_id)
        if mine != theirs and mine and theirs:
            differing = {
                k: (mine.get(k), theirs.get(k))
                for k in mine | theirs
                if mine.get(k) != theirs.get(k)
            }
            raise AssertionError(f"{name}: conversation {conversation_id} differs: {differing}")
    assert state.conversations == fetched, name
    assert state.histories == histories, name
    assert state.notifications == _by_id(snapshot["notifications"]), name
    assert state.unread_notifications == snapshot["notifications_unread_count"]
    assert state.friends == _by_id(snapshot["friends"]), name
    requests = snapshot["friend_requests"]
    assert state.requests == _by_id(requests["incoming"] + requests["outgoing"])


def _json(data: str) -> dict[str, Any]:
    import json

    value = json.loads(data)
    assert isinstance(value, dict)
    return value
