"""Helpers for the Python client's tests: tokens for test users, clients on a server, and a
check that a typed model carries exactly what the JSON said."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import ApiUser
from tests.support.server import LiveServer
from tests.support.settings import child_server_env
from tidings_client import AsyncTidings


async def token_for(user: ApiUser, *scopes: str) -> str:
    """A new API token of ``user`` (made from their browser session): its secret."""
    created = await user.ok(
        "POST", "/api/tokens", {"name": "client test", "scopes": list(scopes or ["write"])}, 201
    )
    secret: str = created["secret"]
    return secret


ClientFor = Callable[..., Awaitable[AsyncTidings]]


@pytest.fixture
async def client_for(server: LiveServer) -> AsyncIterator[ClientFor]:
    """``bob_client = await client_for(bob)``: an ``AsyncTidings`` with a new token of bob's."""
    clients: list[AsyncTidings] = []

    async def make(user: ApiUser, *scopes: str, **options: Any) -> AsyncTidings:
        client = AsyncTidings(server.url, await token_for(user, *scopes), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def assert_mirrors(value: Any, raw: Any, path: str = "$") -> None:
    """``value`` (a model, parsed) holds exactly ``raw`` (the JSON it came from): every key a
    field, every value equal (times as times, lists as tuples)."""
    if dataclasses.is_dataclass(value):
        assert isinstance(raw, dict), path
        names = {f.name for f in dataclasses.fields(value)}
        assert set(raw) <= names, f"{path}: fields the model lacks: {set(raw) - names}"
        for key, item in raw.items():
            assert_mirrors(getattr(value, key), item, f"{path}.{key}")
    elif isinstance(value, tuple):
        assert isinstance(raw, list) and len(raw) == len(value), path
        for n, (v, r) in enumerate(zip(value, raw, strict=True)):
            assert_mirrors(v, r, f"{path}[{n}]")
    elif isinstance(value, datetime):
        assert value == datetime.fromisoformat(raw), path
    else:
        assert value == raw, path


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``tidings serve`` child process for this test run's backend."""
    return child_server_env(tmp_path, **extra)
