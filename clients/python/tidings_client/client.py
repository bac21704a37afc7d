"""``AsyncTidings`` and ``Tidings``: the same calls, async and sync, over one httpx client.

Each call is described once (``_calls``: method, path, body and how to read the answer) and run
by either class, so the two cannot drift apart. Every request sends ``Authorization: Bearer``;
an error answer raises ``TidingsError``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from tidings_client._stream import RETRYABLE, FrameParser, Reconnect
from tidings_client.errors import TidingsError
from tidings_client.events import Event
from tidings_client.models import (
    Conversation,
    ConversationList,
    FriendRequest,
    FriendRequests,
    MarkReadResult,
    Message,
    MessagePage,
    Notification,
    NotificationList,
    User,
    UserMatch,
    from_json,
)

__version__ = "0.1.0"

T = TypeVar("T")

HEARTBEAT_SECONDS = 30.0
"""The server's default heartbeat interval: a stream silent for three of them is dead."""


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One API call: the request, and how its JSON answer becomes the result."""

    method: str
    path: str
    read: Callable[[Any], T]
    json: Any = None
    params: dict[str, Any] | None = None


def _none(_: Any) -> None:
    return None


class _calls:
    """The calls both clients make, by name."""

    @staticmethod
    def me() -> _Call[User]:
        return _Call("GET", "/api/auth/me", lambda b: from_json(User, b["user"]))

    @staticmethod
    def conversations() -> _Call[ConversationList]:
        return _Call("GET", "/api/conversations", lambda b: from_json(ConversationList, b))

    @staticmethod
    def conversation(conversation_id: int) -> _Call[Conversation]:
        path = f"/api/conversations/{conversation_id}"
        return _Call("GET", path, lambda b: from_json(Conversation, b))

    @staticmethod
    def open_dm(user_id: int) -> _Call[Conversation]:
        body = {"type": "direct", "user_id": user_id}
        return _Call("POST", "/api/conversations", lambda b: from_json(Conversation, b), body)

    @staticmethod
    def create_group(name: str, member_ids: list[int]) -> _Call[Conversation]:
        body = {"type": "group", "name": name, "member_ids": member_ids}
        return _Call("POST", "/api/conversations", lambda b: from_json(Conversation, b), body)

    @staticmethod
    def messages(
        conversation_id: int,
        before: int | None,
        after: int | None,
        around: int | None,
        limit: int | None,
    ) -> _Call[MessagePage]:
        params = {"before": before, "after": after, "around": around, "limit": limit}
        return _Call(
            "GET",
            f"/api/conversations/{conversation_id}/messages",
            lambda b: from_json(MessagePage, b),
            params={k: v for k, v in params.items() if v is not None},
        )

    @staticmethod
    def send(
        conversation_id: int, content: str, client_id: str | None, reply_to_id: int | None
    ) -> _Call[Message]:
        # A client_id makes a retried send (a lost answer) store the message once.
        body: dict[str, Any] = {"content": content, "client_id": client_id or uuid.uuid4().hex}
        if reply_to_id is not None:
            body["reply_to_id"] = reply_to_id
        path = f"/api/conversations/{conversation_id}/messages"
        return _Call("POST", path, lambda b: from_json(Message, b["message"]), body)

    @staticmethod
    def mark_read(conversation_id: int, message_id: int | None) -> _Call[MarkReadResult]:
        path = f"/api/conversations/{conversation_id}/read"
        body = {"message_id": message_id}
        return _Call("POST", path, lambda b: from_json(MarkReadResult, b), body)

    @staticmethod
    def typing(conversation_id: int, active: bool) -> _Call[None]:
        path = f"/api/conversations/{conversation_id}/typing"
        return _Call("POST", path, _none, {"active": active})

    @staticmethod
    def friends() -> _Call[tuple[User, ...]]:
        return _Call("GET", "/api/friends", lambda b: tuple(from_json(User, u) for u in b))

    @staticmethod
    def friend_requests() -> _Call[FriendRequests]:
        return _Call("GET", "/api/friends/requests", lambda b: from_json(FriendRequests, b))

    @staticmethod
    def request_friend(username: str) -> _Call[FriendRequest]:
        body = {"username": username}
        read = lambda b: from_json(FriendRequest, b["request"])  # noqa: E731
        return _Call("POST", "/api/friends/request", read, body)

    @staticmethod
    def accept_friend_request(request_id: int) -> _Call[FriendRequest]:
        path = f"/api/friends/requests/{request_id}/accept"
        return _Call("POST", path, lambda b: from_json(FriendRequest, b["request"]))

    @staticmethod
    def notifications(unread_only: bool, limit: int | None) -> _Call[NotificationList]:
        params: dict[str, Any] = {"unread_only": unread_only}
        if limit is not None:
            params["limit"] = limit
        read = lambda b: from_json(NotificationList, b)  # noqa: E731
        return _Call("GET", "/api/notifications", read, params=params)

    @staticmethod
    def mark_notification_read(notification_id: int) -> _Call[Notification]:
        path = f"/api/notifications/{notification_id}"
        return _Call("POST", path, lambda b: from_json(Notification, b["notification"]))

    @staticmethod
    def mark_notifications_read() -> _Call[int]:
        return _Call("POST", "/api/notifications/read-all", lambda b: int(b["unread_count"]))

    @staticmethod
    def search_users(query: str, limit: int | None) -> _Call[tuple[UserMatch, ...]]:
        params: dict[str, Any] = {"q": query}
        if limit is not None:
            params["limit"] = limit
        read = lambda b: tuple(from_json(UserMatch, u) for u in b)  # noqa: E731
        return _Call("GET", "/api/users", read, params=params)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "User-Agent": f"tidings-client/{__version__}"}


def _result(call: _Call[T], response: httpx.Response) -> T:
    if response.is_error:
        raise TidingsError.from_response(response)
    return call.read(response.json() if response.content else None)


def _stream_timeout(timeout: float, read_timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout, read=read_timeout)


class AsyncTidings:
    """An async client: ``async with AsyncTidings(url, token) as client: await client.me()``.

    ``read_timeout``: a stream silent this long (no event, no heartbeat) is reconnected.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        read_timeout: float = 3 * HEARTBEAT_SECONDS,
    ) -> None:
        self.read_timeout = read_timeout
        self.timeout = timeout
        self.http = httpx.AsyncClient(base_url=base_url, headers=_headers(token), timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def _run(self, call: _Call[T]) -> T:
        response = await self.http.request(
            call.method, call.path, json=call.json, params=call.params
        )
        return _result(call, response)

    async def me(self) -> User:
        """Who the token belongs to."""
        return await self._run(_calls.me())

    async def conversations(self) -> ConversationList:
        """Your conversations, most recent first, and the stream position they reflect."""
        return await self._run(_calls.conversations())

    async def conversation(self, conversation_id: int) -> Conversation:
        """One conversation of yours."""
        return await self._run(_calls.conversation(conversation_id))

    async def open_dm(self, user_id: int) -> Conversation:
        """Your DM with a friend (opened if new)."""
        return await self._run(_calls.open_dm(user_id))

    async def create_group(self, name: str, member_ids: list[int]) -> Conversation:
        """A new group with these friends."""
        return await self._run(_calls.create_group(name, member_ids))

    async def messages(
        self,
        conversation_id: int,
        *,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
        limit: int | None = None,
    ) -> MessagePage:
        """A page of history: the newest, or before / after / around a message id."""
        return await self._run(_calls.messages(conversation_id, before, after, around, limit))

    async def send(
        self,
        conversation_id: int,
        content: str,
        *,
        client_id: str | None = None,
        reply_to_id: int | None = None,
    ) -> Message:
        """Send a message. Sending again with the same ``client_id`` stores it once (one is
        made up when not given)."""
        return await self._run(_calls.send(conversation_id, content, client_id, reply_to_id))

    async def mark_read(
        self, conversation_id: int, message_id: int | None = None
    ) -> MarkReadResult:
        """Mark a conversation read up to a message (default: all of it)."""
        return await self._run(_calls.mark_read(conversation_id, message_id))

    async def typing(self, conversation_id: int, active: bool = True) -> None:
        """Tell the other members you are typing (or stopped: ``active=False``)."""
        await self._run(_calls.typing(conversation_id, active))

    async def friends(self) -> tuple[User, ...]:
        """Your friends."""
        return await self._run(_calls.friends())

    async def friend_requests(self) -> FriendRequests:
        """Your pending requests, incoming and outgoing."""
        return await self._run(_calls.friend_requests())

    async def request_friend(self, username: str) -> FriendRequest:
        """Ask someone to be friends."""
        return await self._run(_calls.request_friend(username))

    async def accept_friend_request(self, request_id: int) -> FriendRequest:
        """Accept a request to you."""
        return await self._run(_calls.accept_friend_request(request_id))

    async def notifications(
        self, *, unread_only: bool = False, limit: int | None = None
    ) -> NotificationList:
        """Your notifications and unread count."""
        return await self._run(_calls.notifications(unread_only, limit))

    async def mark_notification_read(self, notification_id: int) -> Notification:
        """Mark one notification read."""
        return await self._run(_calls.mark_notification_read(notification_id))

    async def mark_notifications_read(self) -> int:
        """Mark all notifications read; the unread count after it."""
        return await self._run(_calls.mark_notifications_read())

    async def search_users(self, query: str, *, limit: int | None = None) -> tuple[UserMatch, ...]:
        """Find people by username or display name."""
        return await self._run(_calls.search_users(query, limit))

    async def events(self, last_event_id: str | int | None = None) -> AsyncIterator[Event]:
        """Your events, for good: reconnects after any drop and resumes after the last durable
        event yielded (or ``last_event_id``); ``Resync`` when the server cannot resume.

        Raises ``TidingsError`` when opening the stream is refused for good (401: the token
        was revoked, 403...). To stop early and close the stream at once rather than when the
        generator is collected: ``async with contextlib.aclosing(client.events()) as events``.
        """
        state = Reconnect(None if last_event_id is None else str(last_event_id))
        timeout = _stream_timeout(self.timeout, self.read_timeout)
        while True:
            parser = FrameParser()
            try:
                async with self.http.stream(
                    "GET", "/api/events", headers=state.headers(), timeout=timeout
                ) as response:
                    if response.status_code != 200:
                        await response.aread()
                    state.check(response)
                    async for line in response.aiter_lines():
                        frame = parser.feed(line)
                        if frame is not None and (event := state.handle(frame, parser)):
                            yield event
            except RETRYABLE:
                pass
            state.note_retry(parser.retry_ms)
            await asyncio.sleep(state.delay())


class Tidings:
    """A sync client: ``with Tidings(url, token) as client: client.me()``; the same calls as
    ``AsyncTidings``, and ``for event in client.events(): ...``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        read_timeout: float = 3 * HEARTBEAT_SECONDS,
    ) -> None:
        self.read_timeout = read_timeout
        self.timeout = timeout
        self.http = httpx.Client(base_url=base_url, headers=_headers(token), timeout=timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def _run(self, call: _Call[T]) -> T:
        response = self.http.request(call.method, call.path, json=call.json, params=call.params)
        return _result(call, response)

    def me(self) -> User:
        """Who the token belongs to."""
        return self._run(_calls.me())

    def conversations(self) -> ConversationList:
        """Your conversations, most recent first, and the stream position they reflect."""
        return self._run(_calls.conversations())

    def conversation(self, conversation_id: int) -> Conversation:
        """One conversation of yours."""
        return self._run(_calls.conversation(conversation_id))

    def open_dm(self, user_id: int) -> Conversation:
        """Your DM with a friend (opened if new)."""
        return self._run(_calls.open_dm(user_id))

    def create_group(self, name: str, member_ids: list[int]) -> Conversation:
        """A new group with these friends."""
        return self._run(_calls.create_group(name, member_ids))

    def messages(
        self,
        conversation_id: int,
        *,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
        limit: int | None = None,
    ) -> MessagePage:
        """A page of history: the newest, or before / after / around a message id."""
        return self._run(_calls.messages(conversation_id, before, after, around, limit))

    def send(
        self,
        conversation_id: int,
        content: str,
        *,
        client_id: str | None = None,
        reply_to_id: int | None = None,
    ) -> Message:
        """Send a message (see ``AsyncTidings.send``)."""
        return self._run(_calls.send(conversation_id, content, client_id, reply_to_id))

    def mark_read(self, conversation_id: int, message_id: int | None = None) -> MarkReadResult:
        """Mark a conversation read up to a message (default: all of it)."""
        return self._run(_calls.mark_read(conversation_id, message_id))

    def typing(self, conversation_id: int, active: bool = True) -> None:
        """Tell the other members you are typing (or stopped: ``active=False``)."""
        self._run(_calls.typing(conversation_id, active))

    def friends(self) -> tuple[User, ...]:
        """Your friends."""
        return self._run(_calls.friends())

    def friend_requests(self) -> FriendRequests:
        """Your pending requests, incoming and outgoing."""
        return self._run(_calls.friend_requests())

    def request_friend(self, username: str) -> FriendRequest:
        """Ask someone to be friends."""
        return self._run(_calls.request_friend(username))

    def accept_friend_request(self, request_id: int) -> FriendRequest:
        """Accept a request to you."""
        return self._run(_calls.accept_friend_request(request_id))

    def notifications(
        self, *, unread_only: bool = False, limit: int | None = None
    ) -> NotificationList:
        """Your notifications and unread count."""
        return self._run(_calls.notifications(unread_only, limit))

    def mark_notification_read(self, notification_id: int) -> Notification:
        """Mark one notification read."""
        return self._run(_calls.mark_notification_read(notification_id))

    def mark_notifications_read(self) -> int:
        """Mark all notifications read; the unread count after it."""
        return self._run(_calls.mark_notifications_read())

    def search_users(self, query: str, *, limit: int | None = None) -> tuple[UserMatch, ...]:
        """Find people by username or display name."""
        return self._run(_calls.search_users(query, limit))

    def events(self, last_event_id: str | int | None = None) -> Iterator[Event]:
        """Your events, for good (see ``AsyncTidings.events``)."""
        state = Reconnect(None if last_event_id is None else str(last_event_id))
        timeout = _stream_timeout(self.timeout, self.read_timeout)
        while True:
            parser = FrameParser()
            try:
                with self.http.stream(
                    "GET", "/api/events", headers=state.headers(), timeout=timeout
                ) as response:
                    if response.status_code != 200:
                        response.read()
                    state.check(response)
                    for line in response.iter_lines():
                        frame = parser.feed(line)
                        if frame is not None and (event := state.handle(frame, parser)):
                            yield event
            except RETRYABLE:
                pass
            state.note_retry(parser.retry_ms)
            time.sleep(state.delay())
