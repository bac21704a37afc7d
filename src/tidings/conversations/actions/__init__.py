"""Writes for conversations, one module per concern; import them from here.

* ``direct``: the direct conversation of two friends (opened once, found after);
* ``groups``: creating a group, its members and roles, its settings, leaving, deleting it;
* ``messages``: sending a message (the busiest write: replies, attachments, mentions);
* ``editing``: editing and deleting a message;
* ``reactions``: reacting to a message;
* ``read_marks``: marking a conversation read;
* ``muting``: muting a conversation for yourself, and unmuting it;
* ``attention``: typing signals and read receipts (ephemeral: no database write);
* ``common``: what they share (the conversation's lock, the friends check, creation, the
  membership announcement).

Each action writes in one transaction and emits the events in the README's event table.
Everything that concerns all members (a message, a membership change) is one event for the
conversation's channel, stored once whatever the member count (``tx.emit_to_channel``); only
what concerns one member (their read position, their removal) is addressed to them.
"""

from tidings.conversations.actions.attention import receipts, signal_typing
from tidings.conversations.actions.direct import open_direct
from tidings.conversations.actions.editing import delete_message, edit_message
from tidings.conversations.actions.groups import (
    add_member,
    create_group,
    delete_group,
    remove_member,
    set_group_avatar,
    set_role,
    transfer_ownership,
    update_group,
)
from tidings.conversations.actions.messages import NewMessage, send_message
from tidings.conversations.actions.muting import set_mute
from tidings.conversations.actions.reactions import set_reaction
from tidings.conversations.actions.read_marks import mark_read

__all__ = [
    "NewMessage",
    "add_member",
    "create_group",
    "delete_group",
    "delete_message",
    "edit_message",
    "mark_read",
    "open_direct",
    "receipts",
    "remove_member",
    "send_message",
    "set_group_avatar",
    "set_mute",
    "set_reaction",
    "set_role",
    "signal_typing",
    "transfer_ownership",
    "update_group",
]
