"""Creating and deleting bots, and managing their tokens, for their owner.

A bot is a ``user`` row with ``bot_owner_id`` set: it is found by user search, befriended,
added to groups and sends messages like anyone, and everyone sees it marked ``bot: true``. It
has no password (it cannot sign in with one, so it never has a browser session): it acts only
with the tokens its owner makes for it. A new bot is its owner's friend at once (both get the
``friend_update`` an accepted request sends), so the owner can add it to groups straight away.
Deleting a bot deletes its account as a person's deletion does (``accounts/deletion.py``): its
messages stay, from "Deleted user"; its tokens are revoked (their streams end on every process)
and its webhook goes.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tidings.accounts import directory
from tidings.accounts import queries as account_queries
from tidings.accounts.deletion import UNUSABLE_PASSWORD, delete_user, end_deleted_sessions
from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.bots import queries
from tidings.bots.schemas import BotCreate, BotList, BotView
from tidings.context import AppContext
from tidings.db import utcnow
from tidings.errors import Conflict
from tidings.friends.events import FriendUpdateEvent
from tidings.friends.models import Friendship
from tidings.realtime.transaction import Transaction
from tidings.tokens import actions as token_actions
from tidings.tokens.schemas import TokenCreate, TokenCreated, TokenList

MAX_BOTS_PER_OWNER = 20


def bot_view(bot: User) -> BotView:
    assert bot.bot_owner_id is not None
    return BotView(
        user=UserView.model_validate(bot), owner_id=bot.bot_owner_id, created_at=bot.created_at
    )


async def create_bot(ctx: AppContext, owner: User, data: BotCreate) -> BotView:
    """A new bot of ``owner``'s, befriended with them. Counts against the sign-up limit (per
    owner): 409 ``username_taken``, ``too_many_bots`` (``MAX_BOTS_PER_OWNER`` live ones)."""
    limiter = ctx.limiter
    await limiter.hit(
        limiter.limits.register,
        "bots",
        str(owner.id),
        detail="You are creating too many bots. Try later.",
    )
    try:
        return await ctx.writer.run(_create_bot, owner.id, data)
    except IntegrityError:
        # The username was taken between the check and the insert.
        raise Conflict(f"The username {data.username!r} is taken.", code="username_taken") from None


def _create_bot(tx: Transaction, owner_id: int, data: BotCreate) -> BotView:
    session = tx.session
    # Two creations by one owner run one after the other: the count holds.
    account_queries.lock_users(session, [owner_id])
    owner = session.get(User, owner_id)
    if owner is None or owner.deleted_at is not None:
        raise Conflict("Your account no longer exists.", code="user_deleted")
    if queries.count_bots(session, owner_id) >= MAX_BOTS_PER_OWNER:
        raise Conflict(
            f"You have {MAX_BOTS_PER_OWNER} bots, the most one person may have: delete one first.",
            code="too_many_bots",
        )
    if account_queries.user_by_username(session, data.username) is not None:
        raise Conflict(f"The username {data.username!r} is taken.", code="username_taken")
    bot = User(
        username=data.username,
        display_name=data.display_name or data.username,
        password_hash=UNUSABLE_PASSWORD,
        created_at=utcnow(),
        bot_owner_id=owner_id,
    )
    session.add(bot)
    session.flush()
    directory.index_user(session, bot.id, bot.username, bot.display_name)
    session.add_all(
        [
            Friendship(user_id=owner_id, friend_id=bot.id),
            Friendship(user_id=bot.id, friend_id=owner_id),
        ]
    )
    session.flush()
    tx.emit(owner_id, FriendUpdateEvent(friend=UserView.model_validate(bot), status="added"))
    tx.emit(bot.id, FriendUpdateEvent(friend=UserView.model_validate(owner), status="added"))
    return bot_view(bot)


def list_bots(session: Session, owner_id: int) -> BotList:
    """``owner_id``'s bots, oldest first."""
    return BotList(bots=[bot_view(bot) for bot in queries.bots_of(session, owner_id)])


async def delete_bot(ctx: AppContext, owner: User, bot_id: int) -> None:
    """Delete a bot of ``owner``'s (404 ``unknown_bot``): as an account deletion, with its
    tokens revoked (its streams end on every process) and its webhook removed."""
    ended = await ctx.writer.run(_delete_bot, owner.id, bot_id)
    await end_deleted_sessions(ctx, ended)


def _delete_bot(tx: Transaction, owner_id: int, bot_id: int) -> dict[int, list[str]]:
    queries.owned_bot(tx.session, owner_id, bot_id)
    return {bot_id: delete_user(tx, bot_id)}


async def create_bot_token(
    ctx: AppContext, owner: User, bot_id: int, data: TokenCreate
) -> TokenCreated:
    """A token for ``owner``'s bot (404 ``unknown_bot``). Should the bot be deleted meanwhile,
    the token signs nothing in: a deleted account's tokens are never accepted."""
    await ctx.db.run_query(queries.owned_bot, owner.id, bot_id)
    return await token_actions.create_token(ctx, bot_id, data)


def list_bot_tokens(session: Session, owner_id: int, bot_id: int) -> TokenList:
    """The live tokens of ``owner_id``'s bot (404 ``unknown_bot``), newest first."""
    queries.owned_bot(session, owner_id, bot_id)
    return token_actions.list_tokens(session, [bot_id])


async def revoke_bot_token(ctx: AppContext, owner: User, bot_id: int, token_id: int) -> None:
    """Revoke a token of ``owner``'s bot (404 ``unknown_bot`` / ``unknown_token``): its
    streams end at once, on every process."""
    await ctx.db.run_query(queries.owned_bot, owner.id, bot_id)
    await token_actions.revoke_token(ctx, [bot_id], token_id)
