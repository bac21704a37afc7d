"""Base classes shared by every domain's schemas, and the error body."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

MAX_ID = 2**31 - 1
"""The largest row id: ids are 32-bit integer columns, and PostgreSQL refuses a larger bound
parameter outright (an error, not an empty result), so larger ids are invalid input."""

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row id in a request body."""


def blank_means(default: object) -> BeforeValidator:
    """For an optional query parameter: an empty value (``?limit=``) means its default.

    That is what an empty form field or a URL template such as ``?unread_only=&limit=`` sends.
    """
    return BeforeValidator(lambda value: default if value == "" else value)


class Schema(BaseModel):
    """Strict request schema: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        # PostgreSQL cannot store U+0000 in text; refuse it on every backend alike.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL (U+0000) characters")
        return value


class ViewSchema(BaseModel):
    """Response schema, built from ORM rows or dicts."""

    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    """Every 4xx answer: a human-readable ``detail`` and a stable machine ``code``."""

    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None
