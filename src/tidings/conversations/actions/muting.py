"""Muting a conversation: for a time or until unmuted, for the member who mutes it alone.

A muted conversation still counts unread messages but raises no bell entry, sound or system
notification (the clients decide that from ``muted_until``), except for a mention of the
member, which notifies as anywhere else. A timed mute ends by itself: nothing is written when
it does, and views show ``muted_until`` null once it has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tidings.accounts.models import User
from tidings.context import AppContext
from tidings.conversations import queries, views
from tidings.conversations.actions.common import conversation_lock, lock_for_member
from tidings.conversations.events import ConversationUpdateEvent
from tidings.conversations.models import MUTED_FOREVER
from tidings.conversations.schemas import ConversationView
from tidings.db import utcnow
from tidings.errors import Unprocessable
from tidings.realtime.transaction import Transaction

LONGEST_MUTE = timedelta(days=366)
"""A timed mute ends at most this far ahead (longer: mute it until unmuted)."""


async def set_mute(
    ctx: AppContext, user: User, conversation_id: int, until: datetime | None, *, on: bool = True
) -> ConversationView:
    """Mute the conversation for ``user`` until ``until`` (None: until unmuted), or unmute it
    (``on`` False); their tabs get ``conversation_update`` (``muted``) if that changed it.

    422 ``mute_until_invalid`` for an ``until`` in the past or more than a year ahead.
    """
    if on and until is not None:
        until = until.astimezone(UTC)  # as every view and event says a time: in UTC
        now = utcnow()
        if until <= now:
            raise Unprocessable(
                "The mute would end in the past: give a time to come.", code="mute_until_invalid"
            )
        if until > now + LONGEST_MUTE:
            raise Unprocessable(
                "A timed mute ends within a year: to mute it for longer, mute it until you "
                "unmute it (until: null).",
                code="mute_until_invalid",
            )
    muted_until = (until or MUTED_FOREVER) if on else None
    return await ctx.writer.run(
        _set_mute, user, conversation_id, muted_until, locks=conversation_lock(conversation_id)
    )


def _set_mute(
    tx: Transaction, user: User, conversation_id: int, muted_until: datetime | None
) -> ConversationView:
    conversation, member = lock_for_member(tx, conversation_id, user)
    changed = views.current_mute(member.muted_until) != muted_until
    member.muted_until = muted_until
    tx.session.flush()
    unread = queries.unread_count(tx.session, member)
    [view] = views.conversation_views(tx.session, [(conversation, member, unread)])
    if changed:
        tx.emit(
            user.id,
            ConversationUpdateEvent(
                conversation_id=conversation_id, reason="muted", conversation=views.own_change(view)
            ),
        )
    return view
