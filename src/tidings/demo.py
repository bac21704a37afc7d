"""``tidings demo``: a few friends with a DM and a group that already have some history."""

from __future__ import annotations

from tidings.accounts import actions as account_actions
from tidings.accounts import queries as account_queries
from tidings.accounts.schemas import UserCreate
from tidings.config import Settings
from tidings.context import build_context, close_context
from tidings.conversations import actions as conversation_actions
from tidings.friends import actions as friend_actions

DEMO_PASSWORD = "tidings-demo"
PEOPLE = [("alice", "Alice Liddell"), ("bob", "Bob Marley"), ("carol", "Carol King")]


async def create_demo(settings: Settings) -> str:
    """Create the demo data (once) and say how to sign in."""
    ctx = await build_context(settings)
    try:
        exists = await ctx.db.run_query(account_queries.user_by_username, "alice") is not None
        if not exists:
            users = []
            for username, name in PEOPLE:
                data = UserCreate(username=username, password=DEMO_PASSWORD, display_name=name)
                user, _ = await account_actions.register(ctx, data, client="demo")
                users.append(user)
            alice, bob, carol = users
            for a, b in ((alice, bob), (alice, carol), (bob, carol)):
                await friend_actions.send_request(ctx, a, b.username)
                await friend_actions.send_request(ctx, b, a.username)
            dm = (await conversation_actions.open_direct(ctx, alice, bob.id))[0]
            for sender, text in [
                (alice, "Hi Bob! Tidings is live: no polling, one stream per tab."),
                (bob, "Nice. Messages arrive in a few milliseconds."),
                (alice, "Open a second window as Carol and try the group."),
            ]:
                await conversation_actions.send_message(ctx, sender, dm.id, text)
            group = await conversation_actions.create_group(
                ctx, alice, "Weekend plans", [bob.id, carol.id]
            )
            for sender, text in [
                (carol, "Hiking on Saturday?"),
                (bob, "I'm in."),
                (alice, "Same. 9am at the station."),
            ]:
                await conversation_actions.send_message(ctx, sender, group.id, text)
    finally:
        await close_context(ctx)
    names = ", ".join(p[0] for p in PEOPLE)
    return f"Demo users: {names} (password: {DEMO_PASSWORD!r}). Run `tidings serve` and sign in."
