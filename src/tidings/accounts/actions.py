"""Writes for accounts: register, sign in and out, change password."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from tidings.accounts import directory, queries
from tidings.accounts.models import AuthSession, User
from tidings.accounts.passwords import hash_password, verify_password, verify_unknown_user
from tidings.accounts.schemas import PasswordChange, UserCreate
from tidings.context import AppContext
from tidings.db import utcnow
from tidings.errors import Conflict, Unauthorized
from tidings.ratelimit import address_key
from tidings.realtime.transaction import Transaction


def _new_session(tx: Transaction, user_id: int, ttl_seconds: float) -> str:
    """Insert a session for the user; return its token (the cookie's value)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    tx.session.add(
        AuthSession(
            token_hash=queries.hash_token(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    return token


async def register(ctx: AppContext, data: UserCreate, client: str) -> tuple[User, str]:
    """Create an account and sign it in; returns the user and the session token.

    Attempts are limited per client address (an IPv6 address's /64: ``address_key``; taken
    usernames count too: no cheap probing).
    """
    limiter = ctx.limiter
    await limiter.hit(
        limiter.limits.register,
        address_key(client),
        detail="Too many sign-ups from your address. Try later.",
    )
    password_hash = await hash_password(ctx.password_hasher, data.password)
    try:
        outcome = await ctx.writer.run(
            _register, data, password_hash, ctx.settings.session_ttl_seconds
        )
    except IntegrityError:
        raise Conflict(f"The username {data.username!r} is taken.", code="username_taken") from None
    return outcome


def _register(
    tx: Transaction, data: UserCreate, password_hash: str, ttl_seconds: float
) -> tuple[User, str]:
    if queries.user_by_username(tx.session, data.username) is not None:
        raise Conflict(f"The username {data.username!r} is taken.", code="username_taken")
    user = User(
        username=data.username,
        display_name=data.display_name or data.username,
        password_hash=password_hash,
        created_at=utcnow(),
    )
    tx.session.add(user)
    tx.session.flush()
    directory.index_user(tx.session, user.id, user.username, user.display_name)
    return user, _new_session(tx, user.id, ttl_seconds)


async def login(ctx: AppContext, username: str, password: str, client: str) -> tuple[User, str]:
    """Check credentials. Failures are limited per username *and* address, and per address.

    Someone else's failures, from another address, never lock out the owner signing in from
    theirs. The address is ``address_key(client)`` (an IPv6 address's /64). The
    per-(username, address) count is taken before the password is checked (so parallel guesses
    cannot overshoot it) and forgotten on success; the per-address count only counts failures
    (many people may sign in from one office address), but an attempt holds its place in that
    allowance while it is verified (``RateLimiter.attempt``), so parallel failures cannot
    overshoot it either.
    """
    limiter, limits = ctx.limiter, ctx.limiter.limits
    name = username.strip().lower()
    address = address_key(client)
    detail = "Too many failed sign-in attempts. Try again later."
    async with limiter.attempt(limits.login_per_address, address, detail=detail) as attempt:
        await limiter.hit(limits.login_per_name_and_address, name, address, detail=detail)
        user = await ctx.db.run_query(queries.user_by_username, username)
        if user is None:
            await verify_unknown_user(ctx.password_hasher, password)
            ok = False
        else:
            ok = await verify_password(ctx.password_hasher, user.password_hash, password)
        if user is None or not ok:
            await attempt.failed()
            raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    await limiter.clear(limits.login_per_name_and_address, name, address)
    token = await ctx.writer.run(_new_session, user.id, ctx.settings.session_ttl_seconds)
    return user, token


async def logout(ctx: AppContext, user_id: int, token: str) -> None:
    """End this session; its open streams end with it, on every process."""
    token_hash = queries.hash_token(token)
    await ctx.writer.run(_delete_session, token_hash)
    await ctx.hub.end_sessions(user_id, [token_hash])


def _delete_session(tx: Transaction, token_hash: str) -> None:
    tx.session.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash))


def end_every_session(tx: Transaction, user_id: int) -> list[str]:
    """Delete every session of the user in this transaction; return their keys."""
    # RETURNING, not a SELECT first: a session committed in between is deleted *and* named.
    deleted = tx.session.scalars(
        delete(AuthSession).where(AuthSession.user_id == user_id).returning(AuthSession.token_hash)
    )
    return list(deleted)


async def logout_everywhere(ctx: AppContext, user_id: int) -> None:
    """End every session of the user, this one included, and all their open streams."""
    ended = await ctx.writer.run(end_every_session, user_id)
    await ctx.hub.end_sessions(user_id, ended)


async def change_password(ctx: AppContext, user: User, data: PasswordChange) -> str:
    """Set a new password, end every session of the user (and their streams), start a new one."""
    if not await verify_password(ctx.password_hasher, user.password_hash, data.current_password):
        raise Unauthorized("The current password is wrong.", code="invalid_credentials")
    new_hash = await hash_password(ctx.password_hasher, data.new_password)
    outcome = await ctx.writer.run(
        _change_password, user.id, new_hash, ctx.settings.session_ttl_seconds
    )
    ended, token = outcome
    # The sessions that ended, by name: a stream of the new session must survive this.
    await ctx.hub.end_sessions(user.id, ended)
    return token


def _change_password(
    tx: Transaction, user_id: int, new_hash: str, ttl_seconds: float
) -> tuple[list[str], str]:
    db_user = tx.session.get(User, user_id)
    assert db_user is not None
    db_user.password_hash = new_hash
    ended = end_every_session(tx, user_id)
    return ended, _new_session(tx, user_id, ttl_seconds)
