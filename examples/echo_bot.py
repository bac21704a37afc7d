"""An echo bot for Tidings: accepts friend requests and answers each message addressed to it
(every message in a DM; in a group, those that mention it as @username). Make a bot and its
token in the web app's settings ("Bots") or with POST /api/bots, then run:

    TIDINGS_URL=http://127.0.0.1:8000 TIDINGS_TOKEN=tdg_... python examples/echo_bot.py
"""

import asyncio
import contextlib
import os

from tidings_client import AsyncTidings, Connected, FriendRequestEvent, MessageEvent, Resync
from tidings_client.errors import TidingsError


async def accept(client: AsyncTidings, request_id: int) -> None:
    with contextlib.suppress(TidingsError):  # cancelled meanwhile, or accepted already
        await client.accept_friend_request(request_id)


async def main() -> None:
    url = os.environ.get("TIDINGS_URL", "http://127.0.0.1:8000")
    async with AsyncTidings(url, os.environ["TIDINGS_TOKEN"]) as client:
        me = await client.me()
        mention = f"@{me.username}"
        kinds: dict[int, str] = {}  # conversation id -> "direct" / "group"
        async for event in client.events():
            if isinstance(event, Connected | Resync):  # requests that came while away
                for request in (await client.friend_requests()).incoming:
                    await accept(client, request.id)
            elif isinstance(event, FriendRequestEvent):
                if event.request.addressee.id == me.id and event.request.status == "pending":
                    await accept(client, event.request.id)
            elif isinstance(event, MessageEvent):
                message = event.message
                if message.sender.id == me.id or message.system or message.deleted:
                    continue
                if message.conversation_id not in kinds:
                    conversation = await client.conversation(message.conversation_id)
                    kinds[conversation.id] = conversation.type
                if kinds[message.conversation_id] == "group" and mention not in message.content:
                    continue
                text = message.content.replace(mention, "").strip() or "(nothing)"
                # One answer per message, even if this send is retried: its client_id.
                await client.send(
                    message.conversation_id,
                    f"echo: {text}",
                    reply_to_id=message.id,
                    client_id=f"echo-{message.id}",
                )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
