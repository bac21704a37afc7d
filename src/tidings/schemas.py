"""Base classes shared by every domain's schemas, and the error body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """Strict request schema: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ReadSchema(BaseModel):
    """Response schema, built from ORM rows or dicts."""

    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    """Every 4xx answer: a human-readable ``detail`` and a stable machine ``code``."""

    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None
