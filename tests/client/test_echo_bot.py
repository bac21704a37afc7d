"""examples/echo_bot.py run as a script against a real server: it accepts a friend request and
answers what is addressed to it, in a DM and in a group (only mentions there)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.client.conftest import ClientFor, token_for
from tests.client.test_events import Collector, collecting
from tests.conftest import MakeUser
from tests.support.server import LiveServer
from tidings_client import FriendUpdate, Message, MessageEvent

BOT = Path(__file__).resolve().parents[2] / "examples" / "echo_bot.py"


async def test_the_echo_bot_befriends_and_answers(
    server: LiveServer, make_user: MakeUser, client_for: ClientFor
) -> None:
    alice = await make_user("alice")
    echo = await make_user("echo")  # the bot's account (any account's token will do)
    env = {**os.environ, "TIDINGS_URL": server.url, "TIDINGS_TOKEN": await token_for(echo)}
    bot = await asyncio.create_subprocess_exec(sys.executable, str(BOT), env=env)
    try:
        client = await client_for(alice)
        async with collecting(client) as events:
            await client.request_friend("echo")
            friendship = await events.next(FriendUpdate)
            assert isinstance(friendship, FriendUpdate) and friendship.status == "added"

            dm = await client.open_dm(echo.id)
            hello = await client.send(dm.id, "hello")
            answer = await _answer(events, echo.id)
            assert answer.conversation_id == dm.id and answer.content == "echo: hello"
            assert answer.reply_to is not None and answer.reply_to.id == hello.id

            group = await client.create_group("Book club", [echo.id])
            await client.send(group.id, "not for the bot")
            asked = await client.send(group.id, "@echo what's up")
            answer = await _answer(events, echo.id)  # the first answer there is to the mention
            assert answer.conversation_id == group.id and answer.content == "echo: what's up"
            assert answer.reply_to is not None and answer.reply_to.id == asked.id
    finally:
        bot.terminate()
        await bot.wait()


async def _answer(events: Collector, bot_id: int) -> Message:
    """The next message the bot sends."""
    while True:
        event = await events.next(MessageEvent)
        if isinstance(event, MessageEvent) and event.message.sender.id == bot_id:
            return event.message
