"""The answer of a message search."""

from __future__ import annotations

from tidings.conversations.models import ConversationType
from tidings.conversations.schemas import MessageView
from tidings.schemas import ViewSchema


class SnippetSegment(ViewSchema):
    """A piece of a snippet: plain text (never HTML), matched or not."""

    text: str
    match: bool
    """True for text that matched the search (shown highlighted)."""


class SearchConversation(ViewSchema):
    """The conversation a found message is in (its sidebar entry has the rest)."""

    id: int
    type: ConversationType
    name: str | None
    """The group's name; null for a direct conversation."""


class SearchResult(ViewSchema):
    message: MessageView
    conversation: SearchConversation
    snippet: list[SnippetSegment]
    """The message's text around its first match, in order: the texts joined are a window of
    the content (up to ~200 characters, cut at white space, "…" where it cuts)."""


class SearchResults(ViewSchema):
    results: list[SearchResult]
    """Newest first."""
    has_more: bool
    """More results are older than the last one: pass its message id as ``before``."""
