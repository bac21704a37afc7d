"""API tokens across real processes (PostgreSQL + Redis): revoking a token through one process
ends its streams on the others at once, and every process refuses it from then on (their
caches of sign-ins drop it: the hub's end-of-sessions control). A bot's deletion does the
same for its tokens."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx

from tests.api_helpers import assert_error
from tests.cluster.conftest import StartCluster
from tests.cluster.support import Person, close_all
from tests.support.server import ServerProcess
from tests.support.sse import EventStreamReader, open_stream


async def bearer_clients(
    stack: AsyncExitStack, nodes: list[ServerProcess], secret: str
) -> list[httpx.AsyncClient]:
    """A client with this token for each process."""
    return [
        await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=node.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
            )
        )
        for node in nodes
    ]


async def opened(client: httpx.AsyncClient) -> EventStreamReader:
    stream = await open_stream(client)
    assert stream.status_code == 200
    frame = await stream.next(20)
    assert frame.event == "connected", frame
    return stream


async def test_a_token_revoked_through_one_process_ends_its_streams_on_the_others(
    start_cluster: StartCluster,
) -> None:
    cluster = await start_cluster(3)
    n0, n1, _ = cluster.nodes
    alice = await Person.register(n0, "alice")
    streams: list[EventStreamReader] = []
    try:
        revoked = await alice.call(
            n0, "POST", "/api/tokens", {"name": "a", "scopes": ["read"]}, 201
        )
        kept = await alice.call(n1, "POST", "/api/tokens", {"name": "b", "scopes": ["read"]}, 201)
        async with AsyncExitStack() as stack:
            on0, on1, on2 = await bearer_clients(stack, cluster.nodes, revoked["secret"])
            keep0, keep1, keep2 = await bearer_clients(stack, cluster.nodes, kept["secret"])
            # Every process has signed the token in (and cached it) before it is revoked.
            for client in (on0, on1, on2, keep0, keep1, keep2):
                assert (await client.get("/api/auth/me")).json()["user"]["id"] == alice.id
            ending = [await opened(on1), await opened(on2)]
            staying = await opened(keep2)
            streams += [*ending, staying]

            await alice.call(n0, "DELETE", f"/api/tokens/{revoked['token']['id']}", status=204)
            for stream in ending:
                await stream.wait_ended(20)
            for client in (on0, on1, on2):
                assert_error(await client.get("/api/auth/me"), 401, "invalid_token")
                refused = await open_stream(client)
                assert refused.status_code == 401
                streams.append(refused)
            # The other token, and its stream, are untouched: an event still reaches it.
            for client in (keep0, keep1, keep2):
                assert (await client.get("/api/auth/me")).status_code == 200
            await alice.call(n1, "POST", "/api/bots", {"username": "barrier_bot"}, 201)
            frame = await staying.next(20)
            assert frame.event == "friend_update", frame
            assert not staying.ended.is_set()
    finally:
        for stream in streams:
            await stream.close()
        await close_all([alice])


async def test_deleting_a_bot_through_one_process_ends_its_streams_on_the_others(
    start_cluster: StartCluster,
) -> None:
    cluster = await start_cluster(3)
    n0, n1, n2 = cluster.nodes
    alice = await Person.register(n0, "alice")
    streams: list[EventStreamReader] = []
    try:
        bot: dict[str, Any] = (
            await alice.call(n0, "POST", "/api/bots", {"username": "pager"}, 201)
        )["bot"]
        bot_id = bot["user"]["id"]
        token = await alice.call(
            n1, "POST", f"/api/bots/{bot_id}/tokens", {"name": "t", "scopes": ["write"]}, 201
        )
        async with AsyncExitStack() as stack:
            clients = await bearer_clients(stack, cluster.nodes, token["secret"])
            for client in clients:
                me = (await client.get("/api/auth/me")).json()["user"]
                assert me["id"] == bot_id and me["bot"] is True
            ending = [await opened(clients[0]), await opened(clients[1])]
            streams += ending
            await alice.call(n2, "DELETE", f"/api/bots/{bot_id}", status=204)
            for stream in ending:
                await stream.wait_ended(20)
            for client in clients:
                assert_error(await client.get("/api/auth/me"), 401, "invalid_token")
    finally:
        for stream in streams:
            await stream.close()
        await close_all([alice])
