"""HTTP route for message search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from tidings.accounts.deps import CurrentUser
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID, Trimmed, blank_means
from tidings.search import views
from tidings.search.schemas import SearchResults

router = APIRouter(tags=["search"])

MAX_QUERY_LENGTH = 200
"""Characters of a query, once trimmed (longer: 422)."""


def _no_nul(value: str) -> str:
    # As request bodies (``tidings.schemas.Schema``): PostgreSQL cannot take U+0000 in text.
    if "\x00" in value:
        raise ValueError("must not contain NUL (U+0000) characters")
    return value


@router.get("/api/search/messages", responses=SIGNED_IN | errors(404, 429))
async def search_messages(
    q: Annotated[
        str,
        Query(
            description=f"The text to find: 1 to {MAX_QUERY_LENGTH} characters once trimmed. "
            "Every word must appear; the last also matches as a prefix (2 characters or more). "
            "Quotes, operators and punctuation are plain text; a query with no letters or "
            "digits finds nothing."
        ),
        Trimmed(MAX_QUERY_LENGTH),
        AfterValidator(_no_nul),
    ],
    user: CurrentUser,
    ctx: ContextDep,
    limit: Annotated[int, Query(ge=1, le=50), blank_means(20)] = 20,
    before: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="Only messages older than this id (the next page)"),
        blank_means(None),
    ] = None,
    conversation_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="Only in this conversation (404 if not yours)"),
        blank_means(None),
    ] = None,
) -> SearchResults:
    """Messages matching ``q`` in the conversations you belong to, newest first, each with a
    snippet whose matches are marked; pass the last message's id as ``before`` for more.
    Limited per user (``RATE_LIMIT_SEARCH``: 429 beyond)."""
    await ctx.limiter.hit(
        ctx.limiter.limits.search, str(user.id), detail="Too many searches. Wait a moment."
    )
    return await ctx.db.run_query(_search, q, user.id, before, limit, conversation_id)


def _search(
    session: Session,
    q: str,
    user_id: int,
    before: int | None,
    limit: int,
    conversation_id: int | None,
) -> SearchResults:
    return views.search_results(
        session, q, user_id, before=before, limit=limit, conversation_id=conversation_id
    )
