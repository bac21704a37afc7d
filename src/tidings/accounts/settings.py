"""A user's settings: presence, read receipts, desktop notifications, sound, colour scheme.

The server applies ``hide_presence`` (``presence/``) and ``send_read_receipts`` (receipts in
``conversations/actions/receipts.py``); every tab applies the others, told by the
``settings_updated`` event. Hiding your presence takes effect at once: your audience is told
you are offline (and told you are back when you show it again).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tidings.accounts.events import SettingsUpdatedEvent
from tidings.accounts.models import User
from tidings.accounts.schemas import Settings, SettingsUpdate
from tidings.context import AppContext
from tidings.errors import NotFound
from tidings.realtime.transaction import Transaction


def settings_of(user: User) -> Settings:
    return Settings(
        hide_presence=user.hide_presence,
        send_read_receipts=user.send_read_receipts,
        desktop_notifications=user.desktop_notifications,
        notification_sound=user.notification_sound,
        theme=user.theme,
    )


def read_settings(session: Session, user_id: int) -> Settings:
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("Your account no longer exists.")
    return settings_of(user)


async def update_settings(ctx: AppContext, user: User, change: SettingsUpdate) -> Settings:
    """Change the settings given (the others stay); every tab of the user is told, and the
    server's own copies (sessions, presence) follow. 429 past ``RATE_LIMIT_ATTENTION`` (with
    typing signals): hiding and showing your presence in a loop would send your audience a
    ``presence`` event each time."""
    await ctx.limiter.hit(
        ctx.limiter.limits.attention,
        str(user.id),
        detail="You are changing your settings too often. Wait a moment.",
    )
    before, after = await ctx.writer.run(_update_settings, user.id, change)
    if before != after:
        await ctx.hub.users_changed([user.id])
        if before.hide_presence != after.hide_presence:
            await ctx.presence.visibility_changed(user.id, hidden=after.hide_presence)
    return after


def _update_settings(
    tx: Transaction, user_id: int, change: SettingsUpdate
) -> tuple[Settings, Settings]:
    user = tx.session.get(User, user_id, with_for_update=True)
    if user is None or user.deleted_at is not None:
        raise NotFound("Your account no longer exists.")
    before = settings_of(user)
    for name, value in change.model_dump(exclude_none=True).items():
        setattr(user, name, value)
    tx.session.flush()
    after = settings_of(user)
    if after != before:
        tx.emit(user_id, SettingsUpdatedEvent(settings=after))
    return before, after
