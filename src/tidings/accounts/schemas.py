"""Request and response bodies for accounts."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from tidings.schemas import WHITE_SPACE_CLASS, Schema, Trimmed, ViewSchema, trim


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
DisplayName = Annotated[str, Trimmed(64)]


class UserView(ViewSchema):
    id: int
    username: str
    display_name: str


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
