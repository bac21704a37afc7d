"""The search itself: which messages match, for one reader, newest first, with their matches
marked (``snippets.OPEN`` and ``CLOSE``).

Only messages of conversations the reader is a member of now (a conversation they left drops
out), never deleted ones. Newest first, as chat products order results: a message is found to be
read in its place, and paging by message id (``before``) is stable while messages arrive; a
relevance ranking over short messages mostly says which has the word twice.

SQLite reads ``message_fts`` (migration 0006) newest first (FTS5 walks its rowids downwards and
the membership join filters as it goes, so a page stops early); PostgreSQL uses the GIN index on
``to_tsvector('simple', content)``, which the query must spell exactly so. Words reach either
backend quoted (``tidings.search.terms``), as bound parameters.
"""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session

from tidings.conversations.models import ConversationMember, Message
from tidings.search import terms
from tidings.search.snippets import CLOSE, OPEN

message_fts = table("message_fts", column("rowid"), column("message_fts"))
"""The FTS5 table (SQLite): not in the ORM metadata, as no model maps a virtual table."""

SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
"""The text search configuration, as a constant: a bound parameter would not match the index."""
HEADLINE_OPTIONS = f"HighlightAll=true, StartSel={OPEN}, StopSel={CLOSE}"

Found = list[tuple[int, str]]
"""(message id, its content with the matches marked), newest first."""


Row = TypeVarTuple("Row")


def _scoped(query: Select[*Row], user_id: int, conversation_id: int | None) -> Select[*Row]:
    query = query.join(
        ConversationMember,
        and_(
            ConversationMember.conversation_id == Message.conversation_id,
            ConversationMember.user_id == user_id,
        ),
    ).where(Message.deleted_at.is_(None))
    if conversation_id is not None:
        query = query.where(Message.conversation_id == conversation_id)
    return query


def _sqlite_query(
    words: list[str], user_id: int, before: int | None, limit: int, conversation_id: int | None
) -> Select[int, str]:
    rowid = message_fts.c.rowid
    match: BindParameter[str] = bindparam("match", terms.fts5_match(words))
    query = (
        select(Message.id, func.highlight(literal_column("message_fts"), 0, OPEN, CLOSE))
        .select_from(message_fts)
        .join(Message, Message.id == rowid)
        .where(message_fts.c.message_fts.op("MATCH")(match))
    )
    query = _scoped(query, user_id, conversation_id)
    if before is not None:
        query = query.where(rowid < before)
    # By the FTS table's rowid: FTS5 then hands the rows out in that order, and no sort is needed.
    return query.order_by(rowid.desc()).limit(limit)


def _postgres_query(
    words: list[str], user_id: int, before: int | None, limit: int, conversation_id: int | None
) -> Select[int, str]:
    tsquery = func.to_tsquery(SIMPLE, bindparam("tsquery", terms.tsquery(words)))
    query = select(Message.id, Message.content).where(
        func.to_tsvector(SIMPLE, Message.content).op("@@")(tsquery)
    )
    query = _scoped(query, user_id, conversation_id)
    if before is not None:
        query = query.where(Message.id < before)
    page = query.order_by(Message.id.desc()).limit(limit).subquery()
    # The headlines of the page alone (ts_headline parses the whole text again).
    marked = func.ts_headline(SIMPLE, page.c.content, tsquery, HEADLINE_OPTIONS)
    return select(page.c.id, marked).order_by(page.c.id.desc())


def search_query(
    dialect: str,
    words: list[str],
    user_id: int,
    *,
    before: int | None,
    limit: int,
    conversation_id: int | None = None,
) -> Select[int, str]:
    """The statement of a search for ``words`` (not empty) on ``dialect``: rows of (message id,
    its content with the matches marked)."""
    build = _sqlite_query if dialect == "sqlite" else _postgres_query
    return build(words, user_id, before, limit, conversation_id)


def matching_messages(
    session: Session,
    text: str,
    user_id: int,
    *,
    before: int | None,
    limit: int,
    conversation_id: int | None = None,
) -> Found:
    """Up to ``limit`` messages matching ``text`` that ``user_id`` may read, older than
    ``before`` if given, newest first, with their matches marked."""
    words = terms.words(text)
    if not words:
        return []
    dialect = session.get_bind().dialect.name
    query = search_query(
        dialect, words, user_id, before=before, limit=limit, conversation_id=conversation_id
    )
    return [(row[0], row[1]) for row in session.execute(query)]
