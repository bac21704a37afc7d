"""What a block forbids, as the errors the other domains raise: one wording for every rule.

A block either way stops two people from reaching each other: messages in their DM (and a new
DM), friend requests, adding one to a group. The person refused learns why in the words of the
side they are on: 409 ``blocked`` ("<name> is not accepting messages from you") when the other
blocked them, 409 ``you_blocked`` ("You blocked <name>: unblock them to send messages") when
they did (asked first: it is the one they can undo).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.blocks import queries
from tidings.conversations.models import ConversationMember
from tidings.errors import Conflict


@dataclass(frozen=True, slots=True)
class Purpose:
    """What was refused, in the two wordings: ``not accepting <what> from you`` and
    ``unblock them to <doing>``."""

    what: str
    doing: str


MESSAGES = Purpose("messages", "send messages")
EDITS = Purpose("edits or reactions", "edit or react in your conversation")
FRIEND_REQUESTS = Purpose("friend requests", "send them a friend request")
CONVERSATIONS = Purpose("conversations", "talk with them")
GROUP_ADDS = Purpose("being added to groups", "add them to a group")


def refuse_blocked(session: Session, user: User, others: Iterable[int], purpose: Purpose) -> None:
    """409 ``you_blocked`` if ``user`` blocked one of ``others``, else 409 ``blocked`` if one of
    them blocked ``user``; the lowest such id is named (and no one else)."""
    mine, theirs = queries.blocks_between(session, user.id, others)
    if mine:
        name = _name(session, min(mine))
        raise Conflict(f"You blocked {name}: unblock them to {purpose.doing}.", code="you_blocked")
    if theirs:
        name = _name(session, min(theirs))
        raise Conflict(f"{name} is not accepting {purpose.what} from you.", code="blocked")


def refuse_in_blocked_direct(
    session: Session, user: User, conversation_id: int, purpose: Purpose
) -> None:
    """For a DM flagged ``blocked``: the error that says which side blocked (a flag left set
    with no block behind it, which no write leaves, refuses as ``blocked`` all the same)."""
    other = session.scalar(
        select(ConversationMember.user_id).where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id != user.id,
        )
    )
    if other is not None:
        refuse_blocked(session, user, [other], purpose)
    raise Conflict("This conversation takes no messages.", code="blocked")


def _name(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.display_name if user is not None else f"User {user_id}"
