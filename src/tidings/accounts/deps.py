"""Who is asking: the signed-in user, from the session cookie or an API token.

A request signs in one way: with ``Authorization: Bearer <token>`` (scripts, bots, the command
line: ``tokens/``), or with the session cookie (the browser). A request that carries a bearer
token is judged by it alone (a cookie beside it is not looked at), so an ambient credential
never rides along with one. A token's scopes: ``read`` (GET and the event stream), ``write``
(everything else, and reading); tokens never manage tokens, the password or the account
(``SessionUser``).

The web client's requests name the user their page is for (``Tidings-User: <id>``): a page
left open while someone else signed in on the browser (their cookie in place of its user's)
is refused (401 ``session_changed``) instead of acting, or sending its outbox, as them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import update
from starlette.requests import HTTPConnection

from tidings.accounts import queries
from tidings.accounts.models import User
from tidings.context import AppContext
from tidings.db import utcnow
from tidings.deps import ContextDep
from tidings.errors import Forbidden, Unauthorized
from tidings.tokens import queries as token_queries
from tidings.tokens.models import ApiToken

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

NEVER = datetime(9999, 12, 31, tzinfo=UTC)
MAX_CREDENTIAL_LENGTH = 200
PAGE_USER_HEADER = "tidings-user"


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in request's user and how it signed in."""

    user: User
    key: str
    """The sign-in's key: a session's, or a token's (``t:``...): what ends it everywhere."""
    scopes: frozenset[str] | None = None
    """A token's scopes; None for a browser session (which may do everything)."""
    token_id: int | None = None

    @property
    def by_token(self) -> bool:
        return self.token_id is not None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def credential_key(ctx: AppContext, request: HTTPConnection) -> str | None:
    """The key of the sign-in a request names (not yet checked), or None. A malformed
    ``Authorization`` header is 401 ``invalid_token``, not an anonymous request."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret or len(secret) > MAX_CREDENTIAL_LENGTH:
            raise Unauthorized(
                "Send a token as `Authorization: Bearer <token>`.", code="invalid_token"
            )
        return token_queries.TOKEN_KEY_PREFIX + _hash(secret)
    return _cookie_key(ctx, request)


def _cookie_key(ctx: AppContext, request: HTTPConnection) -> str | None:
    cookie = request.cookies.get(ctx.settings.session_cookie_name)
    if not cookie or len(cookie) > MAX_CREDENTIAL_LENGTH:
        return None
    return _hash(cookie)


async def authenticate(ctx: AppContext, request: HTTPConnection) -> Principal | None:
    """Who signed this request in, or None (from the session cache when it can)."""
    key = credential_key(ctx, request)
    return None if key is None else await _principal(ctx, key)


async def browser_user(ctx: AppContext, request: HTTPConnection) -> User | None:
    """The user of the page's session cookie, or None (pages are for browsers: an
    ``Authorization`` header is not looked at)."""
    key = _cookie_key(ctx, request)
    principal = None if key is None else await _principal(ctx, key)
    return None if principal is None else principal.user


async def _principal(ctx: AppContext, key: str) -> Principal | None:
    principal = ctx.sessions.get(key)
    if principal is not None:
        return principal
    generation = ctx.sessions.generation
    if key.startswith(token_queries.TOKEN_KEY_PREFIX):
        token = await ctx.db.run_query(token_queries.user_for_token, key)
        if token is None:
            return None
        user, token_id, scopes, expires_at = token
        principal = Principal(user, key, scopes, token_id)
        await _note_use(ctx, token_id)
        ctx.sessions.put(key, principal, expires_at or NEVER, generation)
        return principal
    session = await ctx.db.run_query(queries.user_for_session, key)
    if session is None:
        return None
    user, session_expires_at = session
    principal = Principal(user, key)
    ctx.sessions.put(key, principal, session_expires_at, generation)
    return principal


async def _note_use(ctx: AppContext, token_id: int) -> None:
    """A token's ``last_used_at``: written when a process (re)loads it into its cache, so at
    most once per ``SESSION_CACHE_SECONDS`` per process, never per request. Never fails the
    request."""
    try:
        async with ctx.db.write() as session:
            await session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow())
            )
    except Exception:
        logger.warning("could not note a token's use", exc_info=True)


def refuse_another_page(page_user: str | None, user_id: int) -> None:
    """401 ``session_changed`` when a web page names (``page_user``) another user than the
    one its credential signs in (``PAGE_USER_HEADER``; the stream's ``?user=``)."""
    if page_user is not None and page_user != str(user_id):
        raise Unauthorized(
            "This page is for another account than the one signed in now.",
            code="session_changed",
        )


async def require_principal(ctx: AppContext, request: HTTPConnection) -> Principal:
    """Who signed this request in (401 if nobody), allowed by their scopes (403
    ``insufficient_scope``: a read-only token that writes)."""
    principal = await authenticate(ctx, request)
    if principal is None:
        if request.headers.get("authorization") is not None:
            raise Unauthorized(
                "This token is not valid: unknown, revoked or expired.", code="invalid_token"
            )
        raise Unauthorized("Sign in first.")
    refuse_another_page(request.headers.get(PAGE_USER_HEADER), principal.user.id)
    method = request.scope.get("method", "GET")
    writes = method not in READ_METHODS
    if principal.scopes is not None and writes and "write" not in principal.scopes:
        raise Forbidden(
            "This token may only read: it needs the `write` scope for this.",
            code="insufficient_scope",
        )
    return principal


async def require_user(ctx: AppContext, request: HTTPConnection) -> User:
    """The signed-in user (401), allowed by their token's scopes (403)."""
    return (await require_principal(ctx, request)).user


async def current_principal(request: Request, ctx: ContextDep) -> Principal:
    return await require_principal(ctx, request)


async def current_user(request: Request, ctx: ContextDep) -> User:
    return await require_user(ctx, request)


async def current_session_user(request: Request, ctx: ContextDep) -> User:
    """A user signed in with the browser's session: tokens manage no tokens, passwords or
    accounts (403 ``session_required``)."""
    principal = await require_principal(ctx, request)
    if principal.by_token:
        raise Forbidden(
            "Tokens cannot do this: sign in with your password (in the browser).",
            code="session_required",
        )
    return principal.user


CurrentUser = Annotated[User, Depends(current_user)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
SessionUser = Annotated[User, Depends(current_session_user)]
