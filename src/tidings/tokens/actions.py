"""Creating, listing and revoking API tokens.

A token's secret is ``tdg_`` and 43 URL-safe characters (256 bits), shown once; the database
keeps its SHA-256. Revoking one ends, on every process, the streams opened with it and drops it
from every process's cache of sign-ins (the hub's end-of-sessions control, as a logout does).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.context import AppContext
from tidings.db import utcnow
from tidings.errors import NotFound
from tidings.realtime.transaction import Transaction
from tidings.tokens.models import ApiToken
from tidings.tokens.queries import TOKEN_KEY_PREFIX
from tidings.tokens.schemas import Scope, TokenCreate, TokenCreated, TokenList, TokenView

SECRET_PREFIX = "tdg_"
"""Marks a Tidings token wherever it leaks (secret scanners can look for it)."""
HINT_LENGTH = 8
"""The hint: the prefix and 4 characters of the secret."""


def token_view(token: ApiToken) -> TokenView:
    scopes: list[Scope] = ["read", "write"] if "write" in token.scopes.split(",") else ["read"]
    return TokenView(
        id=token.id,
        user_id=token.user_id,
        name=token.name,
        hint=token.hint,
        scopes=scopes,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        expires_at=token.expires_at,
    )


async def create_token(ctx: AppContext, user_id: int, request: TokenCreate) -> TokenCreated:
    """A new token for ``user_id`` (the caller, or a bot of theirs: the caller checks that).
    ``write`` includes ``read``."""
    return await ctx.writer.run(_create_token, user_id, request)


def _create_token(tx: Transaction, user_id: int, request: TokenCreate) -> TokenCreated:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    scopes = "read,write" if "write" in request.scopes else "read"
    expires_at = None
    if request.expires_in_days is not None:
        expires_at = utcnow() + timedelta(days=request.expires_in_days)
    token = ApiToken(
        user_id=user_id,
        name=request.name,
        token_hash=hashlib.sha256(secret.encode()).hexdigest(),
        hint=secret[:HINT_LENGTH],
        scopes=scopes,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    tx.session.add(token)
    tx.session.flush()
    return TokenCreated(token=token_view(token), secret=secret)


def list_tokens(session: Session, user_ids: list[int]) -> TokenList:
    """The live tokens of these users (a person and their bots), newest first."""
    now = utcnow()
    tokens = session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id.in_(user_ids), ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id.desc())
    )
    return TokenList(
        tokens=[token_view(t) for t in tokens if t.expires_at is None or t.expires_at > now]
    )


async def revoke_token(ctx: AppContext, user_ids: list[int], token_id: int) -> None:
    """Revoke a token of one of these users (404 otherwise, or if revoked already); its open
    streams end at once, on every process."""
    user_id, token_hash = await ctx.writer.run(_revoke_token, user_ids, token_id)
    await ctx.hub.end_sessions(user_id, [TOKEN_KEY_PREFIX + token_hash])


def _revoke_token(tx: Transaction, user_ids: list[int], token_id: int) -> tuple[int, str]:
    token = tx.session.scalar(select(ApiToken).where(ApiToken.id == token_id).with_for_update())
    if token is None or token.user_id not in user_ids or token.revoked_at is not None:
        raise NotFound(f"No token {token_id} of yours.", code="unknown_token")
    token.revoked_at = utcnow()
    return token.user_id, token.token_hash


def revoke_all(tx: Transaction, user: User) -> list[str]:
    """Revoke every token of ``user`` (their account or bot is going): the keys whose streams
    and cached sign-ins must end."""
    tokens = tx.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
    return [TOKEN_KEY_PREFIX + token.token_hash for token in tokens]
