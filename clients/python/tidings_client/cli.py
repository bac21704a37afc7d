"""``tidings-client tail`` and ``tidings-client send`` (also ``tidings tail`` / ``tidings send``
when the server is installed beside the client).

Configured by ``TIDINGS_URL`` and ``TIDINGS_TOKEN`` or ``--url`` and ``--token``. ``tail``
prints your live events, one line each (``--json``: one JSON object per line, the event's data
with its ``id`` and ``type``), and carries on after a dropped connection from where it left
off; ``send`` posts a message and prints its id.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from datetime import datetime
from typing import Any

import httpx

from tidings_client.client import Tidings
from tidings_client.errors import TidingsError
from tidings_client.events import (
    BlockUpdate,
    Connected,
    ConversationUpdate,
    Event,
    FriendRequestEvent,
    FriendUpdate,
    MessageDeleted,
    MessageEvent,
    MessageReactions,
    MessageUpdated,
    NotificationEvent,
    Presence,
    ReadReceipt,
    Resync,
    Typing,
    UserUpdated,
)
from tidings_client.models import Conversation, Message

DEFAULT_URL = "http://127.0.0.1:8000"


def add_commands(commands: Any) -> None:
    """Add ``tail`` and ``send`` to a parser's subcommands (``add_subparsers()``'s result)."""
    tail = commands.add_parser("tail", help="print your live events (resumes after a drop)")
    _connection_flags(tail)
    tail.add_argument("--json", action="store_true", help="one JSON object per line")
    tail.add_argument("--since", metavar="ID", help="start after this event id (replayed)")
    tail.set_defaults(func=tail_command)

    send = commands.add_parser("send", help="post a message and print its id")
    _connection_flags(send)
    send.add_argument(
        "conversation", help="a conversation id, a group's name or a friend's username"
    )
    send.add_argument("text", help="the message ('-': read it from standard input)")
    send.set_defaults(func=send_command)


def _connection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help=f"the server (default: $TIDINGS_URL or {DEFAULT_URL})")
    parser.add_argument("--token", help="an API token, tdg_... (default: $TIDINGS_TOKEN)")


def _client(args: argparse.Namespace) -> Tidings | None:
    url = args.url or os.environ.get("TIDINGS_URL") or DEFAULT_URL
    token = args.token or os.environ.get("TIDINGS_TOKEN")
    if not token:
        print("tidings: no token: set TIDINGS_TOKEN or pass --token", file=sys.stderr)
        return None
    return Tidings(url, token)


def _fail(error: TidingsError | httpx.TransportError) -> int:
    """Say what went wrong (an error answer, or no server at the URL); exit status 1."""
    if isinstance(error, httpx.TransportError):
        print(f"tidings: cannot reach the server: {error!r}", file=sys.stderr)
    else:
        print(f"tidings: {error}", file=sys.stderr)
    return 1


def send_command(args: argparse.Namespace) -> int:
    """Post ``args.text`` to ``args.conversation``; print the message's id."""
    client = _client(args)
    if client is None:
        return 2
    text = sys.stdin.read() if args.text == "-" else args.text
    with client:
        try:
            conversation_id = _find_conversation(client, args.conversation)
            if conversation_id is None:
                print(f"tidings: no conversation {args.conversation!r}", file=sys.stderr)
                return 1
            message = client.send(conversation_id, text)
        except (TidingsError, httpx.TransportError) as error:
            return _fail(error)
    print(message.id, flush=True)
    return 0


def _find_conversation(client: Tidings, name: str) -> int | None:
    """An id as given, else the one group so named or the DM with this username."""
    if name.isdigit():
        return int(name)
    me = client.me()
    wanted = name.lower()
    found = [
        c.id
        for c in client.conversations().conversations
        if (c.name or "").lower() == wanted
        or (
            c.type == "direct"
            and any(m.username.lower() == wanted for m in c.members if m.id != me.id)
        )
    ]
    return found[0] if len(found) == 1 else None


def tail_command(args: argparse.Namespace) -> int:
    """Print events as they come, until interrupted."""
    client = _client(args)
    if client is None:
        return 2
    with client:
        try:
            printer = _Printer(client, as_json=args.json)
            for event in client.events(last_event_id=args.since):
                printer.show(event)
        except (TidingsError, httpx.TransportError) as error:
            return _fail(error)
        except KeyboardInterrupt:
            return 130
    return 0


def event_json(event: Event) -> str:
    """An event as one line of JSON: its data, with ``id`` (durable events) and ``type``."""
    return json.dumps(dataclasses.asdict(event), default=_json_default, ensure_ascii=False)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class _Printer:
    """Writes events, keeping the names of conversations and people to show them by."""

    def __init__(self, client: Tidings, *, as_json: bool) -> None:
        self.client = client
        self.as_json = as_json
        self.me = 0 if as_json else client.me().id
        self.titles: dict[int, str] = {}
        self.names: dict[int, str] = {}
        if not as_json:
            self._refresh()

    def _refresh(self) -> None:
        for conversation in self.client.conversations().conversations:
            self._learn(conversation)

    def _learn(self, conversation: Conversation) -> None:
        self.titles[conversation.id] = conversation.title(self.me)
        for member in conversation.members:
            self.names[member.id] = member.username

    def show(self, event: Event) -> None:
        if self.as_json:
            if not isinstance(event, Connected):
                print(event_json(event), flush=True)
            return
        if isinstance(event, Connected | Resync):
            if isinstance(event, Resync):
                self._refresh()
            print(f"-- {event.type} (at event {event.last_event_id})", file=sys.stderr)
            return
        line = self.describe(event)
        if line is not None:
            print(f"{datetime.now().astimezone().strftime('%H:%M')} {line}", flush=True)

    def _where(self, conversation_id: int) -> str:
        if conversation_id not in self.titles:
            try:
                self._learn(self.client.conversation(conversation_id))
            except TidingsError:
                return f"#{conversation_id}"
        return self.titles.get(conversation_id, f"#{conversation_id}")

    def _text(self, message: Message) -> str:
        files = f" [{len(message.attachments)} file(s)]" if message.attachments else ""
        return f"{message.sender.username}: {message.content}{files}"

    def describe(self, event: Event) -> str | None:
        """One human-readable line for an event."""
        match event:
            case MessageEvent(message=m) | MessageUpdated(message=m) | MessageDeleted(message=m):
                kind = {"message": "message", "message_updated": "edited"}.get(event.type)
                text = self._text(m) if kind else f"{m.sender.username} deleted #{m.id}"
                return f"{kind or 'deleted':<8} {self._where(m.conversation_id)}  {text}"
            case MessageReactions():
                summary = " ".join(f"{r.emoji}{r.count}" for r in event.reactions) or "none"
                where = self._where(event.conversation_id)
                return f"reaction {where}  #{event.message_id}: {summary}"
            case ConversationUpdate():
                if event.conversation is not None:
                    self.titles.pop(event.conversation_id, None)
                return f"conversation {self._where(event.conversation_id)}: {event.reason}"
            case FriendRequestEvent(request=r):
                return (
                    f"friend request {r.requester.username} -> {r.addressee.username}: {r.status}"
                )
            case FriendUpdate():
                return f"friend   {event.friend.username} {event.status}"
            case NotificationEvent(notification=n):
                return f"notice   {n.type} from {n.actor.username} ({event.unread_count} unread)"
            case Typing():
                state = "typing" if event.active else "stopped typing"
                return (
                    f"typing   {self._where(event.conversation_id)}  {event.user.username} {state}"
                )
            case ReadReceipt():
                who = self.names.get(event.user_id, f"user {event.user_id}")
                where = self._where(event.conversation_id)
                return f"read     {where}  {who} up to #{event.last_read_message_id}"
            case Presence():
                who = self.names.get(event.user_id, f"user {event.user_id}")
                return f"presence {who} {event.status}"
            case UserUpdated(user=u):
                self.names[u.id] = u.username
                return f"user     {u.username} is now {u.display_name!r}"
            case BlockUpdate():
                return (
                    f"block    {event.user.username} {'blocked' if event.blocked else 'unblocked'}"
                )
        return event.type


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tidings-client", description=__doc__)
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
