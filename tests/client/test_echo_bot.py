"""examples/echo_bot.py run as a script with a bot's token against a real server: it accepts a
friend request and answers what is addressed to it, in a DM and in a group (only mentions there)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.client.conftest import ClientFor
from tests.client.test_events import Collector, collecting
from tests.conftest import MakeUser
from tests.support.server import LiveServer
from tidings_client import FriendUpdate, Message, MessageEvent

BOT = Path(__file__).resolve().parents[2] / "examples" / "echo_bot.py"


async def test_the_echo_bot_befriends_and_answers(
    server: LiveServer, make_user: MakeUser, client_for: ClientFor
) -> None:
    alice, carol = await make_user("alice"), await make_user("carol")
    bot = (await alice.ok("POST", "/api/bots", {"username": "echo"}, 201))["bot"]["user"]
    token = {"name": "echo bot", "scopes": ["write"]}
    secret = (await alice.ok("POST", f"/api/bots/{bot['id']}/tokens", token, 201))["secret"]
    env = {**os.environ, "TIDINGS_URL": server.url, "TIDINGS_TOKEN": secret}
    process = await asyncio.create_subprocess_exec(sys.executable, str(BOT), env=env)
    try:
        carols = await client_for(carol)
        async with collecting(carols) as events:
            await carols.request_friend("echo")
            friendship = await events.next(FriendUpdate)
            assert isinstance(friendship, FriendUpdate) and friendship.status == "added"
            assert friendship.friend.id == bot["id"] and friendship.friend.bot

            dm = await carols.open_dm(bot["id"])
            hello = await carols.send(dm.id, "hello")
            answer = await _answer(events, bot["id"])
            assert answer.conversation_id == dm.id and answer.content == "echo: hello"
            assert answer.reply_to is not None and answer.reply_to.id == hello.id

        alices = await client_for(alice)
        async with collecting(alices) as events:
            group = await alices.create_group("Book club", [bot["id"]])  # its owner's friend
            await alices.send(group.id, "not for the bot")
            asked = await alices.send(group.id, "@echo what's up")
            answer = await _answer(events, bot["id"])  # the first answer there: the mention's
            assert answer.conversation_id == group.id and answer.content == "echo: what's up"
            assert answer.reply_to is not None and answer.reply_to.id == asked.id
    finally:
        process.terminate()
        await process.wait()


async def _answer(events: Collector, bot_id: int) -> Message:
    """The next message the bot sends."""
    while True:
        event = await events.next(MessageEvent)
        if isinstance(event, MessageEvent) and event.message.sender.id == bot_id:
            return event.message
