"""Users and their server-side sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from tidings.db import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    """Always stored lower-case, which makes uniqueness case-insensitive."""
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    bio: Mapped[str] = mapped_column(Text, default="", server_default="")
    avatar_key: Mapped[str | None] = mapped_column(String(64))
    """The picture (``tidings.avatars``: the SHA-256 of its stored WebP), if there is one."""
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the account was deleted: the row stays, so its messages keep a sender (shown as
    "Deleted user"), with its username anonymised (``deleted-<id>``, which no sign-up can
    take), no password, bio or avatar (``accounts/deletion.py``)."""
    # Attention settings (``accounts/settings.py``), applied by the server and by every tab.
    hide_presence: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Others see this user as offline, with no "last seen"."""
    send_read_receipts: Mapped[bool] = mapped_column(default=True, server_default=true())
    """Others see how far this user has read (receipts); off: they see nothing."""
    desktop_notifications: Mapped[bool] = mapped_column(default=True, server_default=true())
    notification_sound: Mapped[bool] = mapped_column(default=True, server_default=true())
    theme: Mapped[str] = mapped_column(String(8), default="system", server_default="system")
    """Colour scheme: ``system`` (the device's preference), ``light`` or ``dark``."""
    bot_owner_id: Mapped[int | None] = mapped_column(index=True)
    """A bot account's owner (``bots/``): null for a person. A bot signs in only with tokens.
    (No foreign key: deleting an account deletes its bots first, ``accounts/deletion.py``.)"""
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the user was last online: kept by the presence tracker and written in batches
    (``realtime/presence.py``), never per connect."""


class AuthSession(Base):
    __tablename__ = "auth_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the cookie value: a leaked table does not leak usable cookies."""
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
