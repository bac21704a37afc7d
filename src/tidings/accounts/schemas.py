"""Request and response bodies for accounts."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from tidings.schemas import Schema, ViewSchema


def _normalize_username(value: str) -> str:
    return value.lower()


Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=32),
    AfterValidator(_normalize_username),
    StringConstraints(pattern=r"^[a-z0-9_]+$"),
]
Password = Annotated[str, Field(min_length=8, max_length=256)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


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
