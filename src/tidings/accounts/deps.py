"""Who is asking: the signed-in user, from the session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tidings.accounts import queries
from tidings.accounts.models import User
from tidings.context import AppContext
from tidings.deps import ContextDep
from tidings.errors import Unauthorized


def _session_token(ctx: AppContext, request_cookies: dict[str, str]) -> str | None:
    token = request_cookies.get(ctx.settings.session_cookie_name)
    return token if token and len(token) <= 200 else None


async def authenticate(ctx: AppContext, request_cookies: dict[str, str]) -> User | None:
    """The user whose session cookie this is, or None (from the session cache when it can)."""
    token = _session_token(ctx, request_cookies)
    if token is None:
        return None
    key = queries.hash_token(token)
    user = ctx.sessions.get(key)
    if user is not None:
        return user
    generation = ctx.sessions.generation
    found = await ctx.db.run_query(queries.user_for_session, key)
    if found is None:
        return None
    user, expires_at = found
    ctx.sessions.put(key, user, expires_at, generation)
    return user


def session_token_hash(ctx: AppContext, request_cookies: dict[str, str]) -> str | None:
    """The hash by which the session of this cookie is stored (and its streams are known)."""
    token = _session_token(ctx, request_cookies)
    return None if token is None else queries.hash_token(token)


async def require_user(ctx: AppContext, request_cookies: dict[str, str]) -> User:
    """The signed-in user, or 401."""
    user = await authenticate(ctx, request_cookies)
    if user is None:
        raise Unauthorized("Sign in first.")
    return user


async def current_user(request: Request, ctx: ContextDep) -> User:
    return await require_user(ctx, request.cookies)


CurrentUser = Annotated[User, Depends(current_user)]
