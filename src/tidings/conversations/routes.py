"""HTTP routes for conversations and messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from tidings.accounts.deps import CurrentUser, require_user
from tidings.conversations import actions, queries, views
from tidings.conversations.schemas import (
    ConversationCreate,
    ConversationList,
    ConversationView,
    DirectConversationCreate,
    EditHistory,
    MarkReadResult,
    MemberAdd,
    MessageCreate,
    MessageEdit,
    MessageEnvelope,
    MessagePage,
    MessageReactions,
    ReadMark,
)
from tidings.deps import ContextDep, get_context
from tidings.errors import Unprocessable
from tidings.openapi import SIGNED_IN, errors
from tidings.plain_routes import PlainRoute, Validation, json_response, read_json_body
from tidings.realtime import log
from tidings.schemas import MAX_ID, DbId, Emoji, blank_means, one_emoji

router = APIRouter(tags=["conversations"])
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/api/conversations",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ConversationView, "description": "The existing direct conversation"}}
    | SIGNED_IN
    | errors(404),
)
async def create_conversation(
    data: Annotated[ConversationCreate, Body()],
    user: CurrentUser,
    ctx: ContextDep,
    response: Response,
) -> ConversationView:
    """Open the DM with a friend (200 if it exists), or create a group of you and friends."""
    if isinstance(data, DirectConversationCreate):
        conversation, created = await actions.open_direct(ctx, user, data.user_id)
        if not created:
            response.status_code = status.HTTP_200_OK
        return conversation
    return await actions.create_group(ctx, user, data.name, data.member_ids)


@router.get("/api/conversations", responses=SIGNED_IN)
async def list_conversations(user: CurrentUser, ctx: ContextDep) -> ConversationList:
    """Your conversations, most recent activity first, with the stream position they reflect."""
    return await ctx.db.run_query(_conversation_list, user.id)


def _conversation_list(session: Session, user_id: int) -> ConversationList:
    last_event_id = log.read_head(session)
    conversations = views.conversation_list(session, user_id)
    return ConversationList(conversations=conversations, last_event_id=str(last_event_id))


@router.get("/api/conversations/{conversation_id}", responses=SIGNED_IN | errors(404))
async def get_conversation(
    conversation_id: Id, user: CurrentUser, ctx: ContextDep
) -> ConversationView:
    """One conversation you are a member of."""
    return await ctx.db.run_query(views.conversation_view, conversation_id, user.id)


@router.post(
    "/api/conversations/{conversation_id}/members",
    status_code=status.HTTP_201_CREATED,
    responses=SIGNED_IN | errors(403, 404, 409, 429),
)
async def add_member(
    conversation_id: Id, data: MemberAdd, user: CurrentUser, ctx: ContextDep
) -> ConversationView:
    """Add a friend to a group (admins; anyone when the group lets members add people)."""
    return await actions.add_member(ctx, user, conversation_id, data.user_id)


@router.delete(
    "/api/conversations/{conversation_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=SIGNED_IN | errors(403, 404, 409, 429),
)
async def remove_member(
    conversation_id: Id, user_id: Id, user: CurrentUser, ctx: ContextDep
) -> Response:
    """Leave a group (your own id), or remove a member (admins; owners remove admins too)."""
    await actions.remove_member(ctx, user, conversation_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/conversations/{conversation_id}/messages", responses=SIGNED_IN | errors(404))
async def list_messages(
    conversation_id: Id,
    user: CurrentUser,
    ctx: ContextDep,
    before: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="Only messages older than this id"),
        blank_means(None),
    ] = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_ID, description="Only messages newer than this id (oldest first)"),
        blank_means(None),
    ] = None,
    around: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_ID,
            description="A page centred on this message: about half before it, the rest after",
        ),
        blank_means(None),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100), blank_means(50)] = 50,
) -> MessagePage:
    """A page of messages, oldest first: the newest, or those ``before`` an id (pass the
    first id you have for the previous page), ``after`` an id (the next page; your read
    position for the first unread ones), or ``around`` one (a search result in its context).
    At most one of the three."""
    if sum(p is not None for p in (before, after, around)) > 1:
        raise Unprocessable(
            "Give at most one of before, after and around.", code="conflicting_positions"
        )
    return await ctx.db.run_query(
        _message_page, user.id, conversation_id, before, after, around, limit
    )


def _message_page(
    session: Session,
    user_id: int,
    conversation_id: int,
    before: int | None,
    after: int | None,
    around: int | None,
    limit: int,
) -> MessagePage:
    queries.conversation_for_member(session, conversation_id, user_id)  # 404 for non-members
    return views.message_page(
        session, conversation_id, before=before, after=after, around=around, limit=limit
    )


_CONVERSATION_ID = TypeAdapter(DbId)


async def send_message_plain(request: Request) -> Response:
    """``send_message`` below, as a plain route (``tidings.plain_routes``): the busiest write.

    In FastAPI's order: the body read (malformed JSON: 422), the session (401), then the path
    and the body's fields together (422)."""
    ctx = await get_context(request)
    body = await read_json_body(request)
    user = await require_user(ctx, request)
    check = Validation()
    conversation_id = check.value(
        _CONVERSATION_ID, request.path_params["conversation_id"], "path", "conversation_id"
    )
    data = check.body(MessageCreate, body)
    check.raise_if_any()
    assert conversation_id is not None
    assert data is not None
    message = await actions.send_message(ctx, user, conversation_id, _new_message(data))
    return json_response(MessageEnvelope(message=message), status.HTTP_201_CREATED)


def _new_message(data: MessageCreate) -> actions.NewMessage:
    return actions.NewMessage(
        content=data.content,
        client_id=data.client_id,
        reply_to_id=data.reply_to_id,
        attachment_ids=tuple(data.attachment_ids),
    )


plain_routes = [
    PlainRoute(
        "/api/conversations/{conversation_id:db_id}/messages",
        send_message_plain,
        methods=["POST"],
    )
]
"""Served in front of this router's routes (see ``tidings.plain_routes``)."""


@router.post(
    "/api/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses=SIGNED_IN | errors(404, 409, 429),
)
async def send_message(
    conversation_id: Id, data: MessageCreate, user: CurrentUser, ctx: ContextDep
) -> MessageEnvelope:
    """Send a message to a conversation you belong to: text, attachments (your uploads), or
    both; optionally a reply to one of its messages. Members named as ``@username`` get a
    ``mention`` notification. Your own message marks the conversation read for you.

    Served by ``send_message_plain`` whenever the id is an integer; this declaration describes
    the operation in OpenAPI and answers the requests that plain route does not match."""
    message = await actions.send_message(ctx, user, conversation_id, _new_message(data))
    return MessageEnvelope(message=message)


@router.patch(
    "/api/conversations/{conversation_id}/messages/{message_id}",
    responses=SIGNED_IN | errors(403, 404, 409),
)
async def edit_message(
    conversation_id: Id, message_id: Id, data: MessageEdit, user: CurrentUser, ctx: ContextDep
) -> MessageEnvelope:
    """Change the text of one of your messages (members get ``message_updated``; the text it
    replaces is kept in its edit history)."""
    message = await actions.edit_message(ctx, user, conversation_id, message_id, data.content)
    return MessageEnvelope(message=message)


@router.delete(
    "/api/conversations/{conversation_id}/messages/{message_id}",
    responses=SIGNED_IN | errors(403, 404),
)
async def delete_message(
    conversation_id: Id, message_id: Id, user: CurrentUser, ctx: ContextDep
) -> MessageEnvelope:
    """Delete one of your messages (in a group you created, anyone's): it stays as a "message
    deleted" placeholder, and its text, edits, reactions and attachments go. Members get
    ``message_deleted``; deleting it again changes nothing. Answers the placeholder."""
    message = await actions.delete_message(ctx, user, conversation_id, message_id)
    return MessageEnvelope(message=message)


@router.get(
    "/api/conversations/{conversation_id}/messages/{message_id}/edits",
    responses=SIGNED_IN | errors(404),
)
async def message_edits(
    conversation_id: Id, message_id: Id, user: CurrentUser, ctx: ContextDep
) -> EditHistory:
    """A message's earlier versions, oldest first (empty if it was never edited)."""
    return await ctx.db.run_query(_edit_history, user.id, conversation_id, message_id)


def _edit_history(
    session: Session, user_id: int, conversation_id: int, message_id: int
) -> EditHistory:
    queries.conversation_for_member(session, conversation_id, user_id)  # 404 for non-members
    return views.edit_history(session, conversation_id, message_id)


EmojiPath = Annotated[Emoji, Path(description="One emoji (URL-encoded), e.g. %F0%9F%91%8D for 👍")]


@router.put(
    "/api/conversations/{conversation_id}/messages/{message_id}/reactions/{emoji}",
    responses=SIGNED_IN | errors(404, 409, 422),
)
async def add_reaction(
    conversation_id: Id, message_id: Id, emoji: EmojiPath, user: CurrentUser, ctx: ContextDep
) -> MessageReactions:
    """React to a message with one emoji (again: no change). Members get
    ``message_reactions``; the answer is the message's reactions."""
    return await actions.set_reaction(
        ctx, user, conversation_id, message_id, one_emoji(emoji), on=True
    )


@router.delete(
    "/api/conversations/{conversation_id}/messages/{message_id}/reactions/{emoji}",
    responses=SIGNED_IN | errors(404, 422),
)
async def remove_reaction(
    conversation_id: Id, message_id: Id, emoji: EmojiPath, user: CurrentUser, ctx: ContextDep
) -> MessageReactions:
    """Take back your reaction (if there is none: no change)."""
    return await actions.set_reaction(
        ctx, user, conversation_id, message_id, one_emoji(emoji), on=False
    )


@router.post("/api/conversations/{conversation_id}/read", responses=SIGNED_IN | errors(404))
async def mark_read(
    conversation_id: Id,
    user: CurrentUser,
    ctx: ContextDep,
    data: Annotated[ReadMark | None, Body()] = None,
) -> MarkReadResult:
    """Mark read up to ``message_id`` (default: everything); your other tabs get ``read``."""
    message_id = data.message_id if data is not None else None
    return await actions.mark_read(ctx, user, conversation_id, message_id)
