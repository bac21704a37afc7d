"""Request and response bodies for accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from tidings.schemas import WHITE_SPACE_CLASS, JsonBool, Schema, Trimmed, ViewSchema, trim


def _normalize_username(value: str) -> str:
    return trim(value).lower()


Username = Annotated[
    str,
    # One pattern for the schema and the validator alike: white space at the ends is trimmed.
    StringConstraints(
        pattern=rf"^[{WHITE_SPACE_CLASS}]*[A-Za-z0-9_]{{3,32}}[{WHITE_SPACE_CLASS}]*$"
    ),
    AfterValidator(_normalize_username),
]
Password = Annotated[str, Field(min_length=8, max_length=256)]
DisplayName = Annotated[str, Trimmed(64, name=True)]


DELETED_USER_NAME = "Deleted user"
"""How a deleted account is shown (its messages stay, attributed to it)."""


class UserView(ViewSchema):
    """A person as every response and event shows them; built from a ``User`` row with
    ``UserView.model_validate(user)`` (the avatar's URL and the deleted flag derived here)."""

    id: int
    username: str
    display_name: str
    avatar_url: str | None = None
    """``/api/avatars/{key}``: immutable, cacheable; null without an avatar."""
    deleted: bool = False
    """The account was deleted: display_name is "Deleted user", no avatar."""
    bot: bool = False
    """A bot account (``tidings.bots``): owned by a person, signs in only with tokens. False
    once deleted."""

    @model_validator(mode="before")
    @classmethod
    def _from_user_row(cls, value: Any) -> Any:
        # A ``User`` row (or its detached snapshot in the session cache) has ``avatar_key``,
        # ``deleted_at`` and ``bot_owner_id`` where the view has ``avatar_url``, ``deleted`` and
        # ``bot``.
        if isinstance(value, dict) or not hasattr(value, "deleted_at"):
            return value
        if value.deleted_at is not None:
            return {
                "id": value.id,
                "username": value.username,
                "display_name": DELETED_USER_NAME,
                "avatar_url": None,
                "deleted": True,
                "bot": False,
            }
        return {
            "id": value.id,
            "username": value.username,
            "display_name": value.display_name,
            "avatar_url": avatar_url(value.avatar_key),
            "deleted": False,
            "bot": value.bot_owner_id is not None,
        }


class UserCreate(Schema):
    username: Annotated[
        Username, Field(description="3-32 characters: a-z, 0-9, _ (case-insensitive)")
    ]
    password: Password
    display_name: DisplayName | None = None


class LoginRequest(Schema):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class PasswordChange(Schema):
    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Password


class UserEnvelope(ViewSchema):
    user: UserView


class UserMatch(UserView):
    """A person found by ``GET /api/users``, and whether they are your friend."""

    is_friend: bool


AVATAR_PATH = "/api/avatars/"


def avatar_url(key: str | None) -> str | None:
    """The URL an avatar is served at (``GET /api/avatars/{key}``), or None without one."""
    return None if key is None else AVATAR_PATH + key


Bio = Annotated[str, Trimmed(300, allow_empty=True)]


class ProfileUpdate(Schema):
    """``PATCH /api/users/me``: what to change (a field left out stays as it is)."""

    display_name: DisplayName | None = None
    bio: Annotated[Bio, Field(description="0-300 characters (trimmed)")] | None = None


class ProfileEnvelope(ViewSchema):
    user: UserView
    bio: str


class FriendRequestRef(ViewSchema):
    """A pending friend request between the viewer and the person shown."""

    id: int
    direction: Literal["incoming", "outgoing"]


class GroupRef(ViewSchema):
    id: int
    name: str


class ProfileView(ViewSchema):
    """``GET /api/users/{id}``: a person as the viewer sees them. A deleted account shows as
    "Deleted user" with nothing else (no bio, friendship, groups or DM)."""

    user: UserView
    bio: str
    created_at: datetime
    is_friend: bool
    friend_request: FriendRequestRef | None
    mutual_groups: list[GroupRef]
    """Groups both are in, by name."""
    direct_conversation_id: int | None
    """The viewer's DM with them, if there is one."""
    blocked: bool
    """The viewer blocked them."""


class AccountDeletion(Schema):
    password: Annotated[str, Field(min_length=1, max_length=256)]


Theme = Literal["system", "light", "dark"]
"""A colour scheme: the device's preference, or always light or dark."""


class Settings(ViewSchema):
    """A user's attention settings: the server applies the first two, every tab the others."""

    hide_presence: bool
    """Others see you as offline, with no "last seen"."""
    send_read_receipts: bool
    """Others see how far you have read; off, they see nothing of it."""
    desktop_notifications: bool
    """A system notification when a message or notification arrives with no tab visible
    (the browser's permission is asked separately, from a click)."""
    notification_sound: bool
    """A short sound with it."""
    theme: Theme
    """Colour scheme of the web app: the device's preference (``system``), or always light or
    dark."""


class SettingsUpdate(Schema):
    """Settings to change; those left out stay."""

    hide_presence: JsonBool | None = None
    send_read_receipts: JsonBool | None = None
    desktop_notifications: JsonBool | None = None
    notification_sound: JsonBool | None = None
    theme: Theme | None = None
