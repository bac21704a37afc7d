"""The answer of a search: each found message as every answer shows it, its conversation and
its snippet."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidings.conversations import queries as conversation_queries
from tidings.conversations import views as conversation_views
from tidings.conversations.models import Conversation
from tidings.search import queries, snippets
from tidings.search.schemas import SearchConversation, SearchResult, SearchResults


def search_results(
    session: Session,
    text: str,
    user_id: int,
    *,
    before: int | None,
    limit: int,
    conversation_id: int | None,
) -> SearchResults:
    """A page of ``user_id``'s search for ``text``, newest first (404 for a
    ``conversation_id`` they are not a member of)."""
    if conversation_id is not None:
        # Checked here: the PostgreSQL query trusts the conversation it is given.
        conversation_queries.conversation_for_member(session, conversation_id, user_id)
    found = queries.matching_messages(
        session, text, user_id, before=before, limit=limit + 1, conversation_id=conversation_id
    )
    page = found[:limit]
    messages = conversation_views.messages_by_ids(session, [id_ for id_, _ in page])
    conversation_ids = {m.conversation_id for m in messages.values()}
    conversations = {
        c.id: SearchConversation.model_validate(c)
        for c in session.scalars(select(Conversation).where(Conversation.id.in_(conversation_ids)))
    }
    results = [
        SearchResult(
            message=message,
            conversation=conversations[message.conversation_id],
            snippet=snippets.snippet(message.content, marked),
        )
        for id_, marked in page
        if (message := messages.get(id_)) is not None
    ]
    return SearchResults(results=results, has_more=len(found) > limit)
