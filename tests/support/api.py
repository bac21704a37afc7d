"""A signed-in API user for tests: an httpx client with its own cookie jar."""

from __future__ import annotations

from typing import Any

import httpx

PASSWORD = "correct horse battery"


class ApiUser:
    """One person: their client (cookies) and their user object."""

    def __init__(self, base_url: str, username: str) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.username = username
        self.user: dict[str, Any] = {}

    @property
    def id(self) -> int:
        return int(self.user["id"])

    async def register(self, display_name: str | None = None) -> ApiUser:
        body: dict[str, Any] = {"username": self.username, "password": PASSWORD}
        if display_name:
            body["display_name"] = display_name
        response = await self.client.post("/api/auth/register", json=body)
        assert response.status_code == 201, response.text
        self.user = response.json()["user"]
        return self

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, json=json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.delete(path, **kwargs)

    async def ok(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        """Make a request that must answer ``status``; return its JSON (None when empty)."""
        response = await self.client.request(method, path, json=json)
        assert response.status_code == status, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    async def befriend(self, other: ApiUser) -> None:
        request = await self.ok("POST", "/api/friends/request", {"username": other.username}, 201)
        await other.ok("POST", f"/api/friends/requests/{request['request']['id']}/accept")

    async def dm(self, other: ApiUser) -> dict[str, Any]:
        response = await self.post("/api/conversations", {"type": "direct", "user_id": other.id})
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    async def group(self, name: str, *members: ApiUser) -> dict[str, Any]:
        """A new group of this user (its creator) and ``members``, friends of theirs."""
        body = await self.ok(
            "POST",
            "/api/conversations",
            {"type": "group", "name": name, "member_ids": [m.id for m in members]},
            201,
        )
        return dict(body)

    async def send(self, conversation_id: int, content: str) -> dict[str, Any]:
        body = await self.ok(
            "POST", f"/api/conversations/{conversation_id}/messages", {"content": content}, 201
        )
        return dict(body["message"])

    async def aclose(self) -> None:
        await self.client.aclose()
