"""The events the accounts domain sends: a person changed (name, avatar, deletion)."""

from __future__ import annotations

from typing import Literal

from tidings.accounts.schemas import Settings, UserView
from tidings.realtime.events import EventData, durable_event


@durable_event
class UserUpdatedEvent(EventData):
    """``user`` as they are now: sent to them, their friends and the members of every
    conversation they share, after a display name or avatar change or the account's deletion
    (then ``user.deleted`` is true)."""

    type: Literal["user_updated"] = "user_updated"
    user: UserView


@durable_event
class SettingsUpdatedEvent(EventData):
    """The user changed their settings: every tab applies them (notifications, sound, ...)."""

    type: Literal["settings_updated"] = "settings_updated"
    settings: Settings
