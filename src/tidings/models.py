"""Imports every table so that ``Base.metadata`` is complete (Alembic, tests)."""

from tidings.accounts.directory import UserSearchGram
from tidings.accounts.models import AuthSession, User
from tidings.attachments.models import Attachment, AttachmentBlob, AttachmentBlobChunk
from tidings.blocks.models import Block
from tidings.conversations.models import Conversation, ConversationMember, Message
from tidings.db import Base
from tidings.friends.models import FriendRequest, Friendship
from tidings.notifications.models import Notification
from tidings.realtime.models import EventRecord
from tidings.tokens.models import ApiToken
from tidings.web.models import StaticFile
from tidings.webhooks.models import Webhook, WebhookDelivery

__all__ = [
    "ApiToken",
    "Attachment",
    "AttachmentBlob",
    "AttachmentBlobChunk",
    "AuthSession",
    "Base",
    "Block",
    "Conversation",
    "ConversationMember",
    "EventRecord",
    "FriendRequest",
    "Friendship",
    "Message",
    "Notification",
    "StaticFile",
    "User",
    "UserSearchGram",
    "Webhook",
    "WebhookDelivery",
]
