"""The search itself: which messages match, for one reader, newest first, with their matches
marked (``snippets.OPEN`` and ``CLOSE``).

Only messages of conversations the reader is a member of now (a conversation they left drops
out), never deleted ones. Newest first, as chat products order results: a message is found to be
read in its place, and paging by message id (``before``) is stable while messages arrive; a
relevance ranking over short messages mostly says which has the word twice.

SQLite reads ``message_fts`` (migration 0006) newest first: FTS5 walks its rowids downwards and a
join on the membership's primary key filters as it goes, so a page stops early.

PostgreSQL uses the GIN index on ``to_tsvector('simple', content)``, which the query must spell
exactly so. The reader's conversations are read first and named as a list (``conversation_id =
ANY(...)``), not joined: with the list, the planner knows how many messages are the reader's and
picks the index that fits (for a reader of one quiet conversation searching a common word, their
conversation's messages; for one word in a million, the GIN index); with a join it guessed an
average reader and walked the whole table newest first, 850 ms on 100,000 messages against
0.05 ms with the list (``bench/search.py``).

Words reach either backend quoted (``tidings.search.terms``), as bound parameters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import ARRAY
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


def sqlite_query(
    words: list[str],
    user_id: int,
    *,
    before: int | None,
    limit: int,
    conversation_id: int | None = None,
) -> Select[int, str]:
    """SQLite: (message id, marked content) of ``user_id``'s messages matching ``words``."""
    rowid = message_fts.c.rowid
    match: BindParameter[str] = bindparam("match", terms.fts5_match(words))
    query = (
        select(Message.id, func.highlight(literal_column("message_fts"), 0, OPEN, CLOSE))
        .select_from(message_fts)
        .join(Message, Message.id == rowid)
        .join(
            ConversationMember,
            and_(
                ConversationMember.conversation_id == Message.conversation_id,
                ConversationMember.user_id == user_id,
            ),
        )
        .where(message_fts.c.message_fts.op("MATCH")(match), Message.deleted_at.is_(None))
    )
    if conversation_id is not None:
        query = query.where(Message.conversation_id == conversation_id)
    if before is not None:
        query = query.where(rowid < before)
    # By the FTS table's rowid: FTS5 then hands the rows out in that order, and no sort is needed.
    return query.order_by(rowid.desc()).limit(limit)


def postgres_query(
    words: list[str], conversation_ids: list[int], *, before: int | None, limit: int
) -> Select[int, str]:
    """PostgreSQL: (message id, marked content) of the messages matching ``words`` in
    ``conversation_ids`` (the reader's)."""
    tsquery = func.to_tsquery(SIMPLE, bindparam("tsquery", terms.tsquery(words)))
    in_scope = Message.conversation_id == any_(
        bindparam("conversation_ids", conversation_ids, type_=ARRAY(Integer))
    )
    query = select(Message.id, Message.content).where(
        func.to_tsvector(SIMPLE, Message.content).op("@@")(tsquery),
        in_scope,
        Message.deleted_at.is_(None),
    )
    if before is not None:
        query = query.where(Message.id < before)
    page = query.order_by(Message.id.desc()).limit(limit).subquery()
    # The headlines of the page alone (ts_headline parses the whole text again).
    marked = func.ts_headline(SIMPLE, page.c.content, tsquery, HEADLINE_OPTIONS)
    return select(page.c.id, marked).order_by(page.c.id.desc())


def member_conversation_ids(session: Session, user_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ConversationMember.conversation_id).where(ConversationMember.user_id == user_id)
        )
    )


def matching_messages(
    session: Session,
    text: str,
    user_id: int,
    *,
    before: int | None,
    limit: int,
    conversation_id: int | None = None,
) -> Found:
    """Up to ``limit`` messages matching ``text`` that ``user_id`` may read (in
    ``conversation_id`` if given, which the caller checked is theirs), older than ``before`` if
    given, newest first, with their matches marked."""
    words = terms.words(text)
    if not words:
        return []
    query: Select[int, str]
    if session.get_bind().dialect.name == "sqlite":
        query = sqlite_query(
            words, user_id, before=before, limit=limit, conversation_id=conversation_id
        )
    else:
        scope = (
            [conversation_id]
            if conversation_id is not None
            else member_conversation_ids(session, user_id)
        )
        if not scope:
            return []
        query = postgres_query(words, scope, before=before, limit=limit)
    return [(row[0], row[1]) for row in session.execute(query)]
