"""Plain Starlette routes for the hottest operations, served in front of their FastAPI twins.

FastAPI's per-request work for a declared route (dependency solving, parameter and response
validation, its wrappers) was ~40 % of the event loop's CPU for a message: more than the
message's own work. A route that must take thousands of requests a second on one core is
written as a plain Starlette endpoint instead, with the helpers here doing by hand, in the same
terms, what FastAPI would: the same schemas, the same 401/404/422/429 bodies (the exceptions are
raised into FastAPI's own handlers), the same middleware. Its FastAPI declaration stays, after
it, as the operation's OpenAPI description and for requests the plain route does not match (a
path parameter that is not an integer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from tidings.accounts.deps import authenticate
from tidings.accounts.models import User
from tidings.context import AppContext
from tidings.errors import Unauthorized

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def context_of(request: Request) -> AppContext:
    """The app's services (what ``ContextDep`` gives a FastAPI route)."""
    ctx: AppContext = request.app.state.ctx
    return ctx


async def signed_in_user(ctx: AppContext, request: Request) -> User:
    """The session's user, or 401 (what ``CurrentUser`` gives a FastAPI route)."""
    user = await authenticate(ctx, request.cookies)
    if user is None:
        raise Unauthorized("Sign in first.")
    return user


def _located(error: ValidationError, prefix: Sequence[str | int]) -> list[dict[str, Any]]:
    return [{**e, "loc": (*prefix, *e["loc"])} for e in error.errors(include_url=False)]


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class Validation:
    """Collects a request's validation errors, to raise them together as FastAPI does (422)."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def value(self, adapter: TypeAdapter[T], raw: object, *loc: str) -> T | None:
        """``raw`` validated by ``adapter`` (a path or query parameter at ``loc``)."""
        try:
            return adapter.validate_python(raw)
        except ValidationError as error:
            self.errors += _located(error, loc)
            return None

    def json_body(self, model: type[M], content_type: str | None, body: bytes) -> M | None:
        """The request body, a JSON document, validated as ``model``. As FastAPI: a body of
        another media type (or none declared) is not parsed, and is not an object."""
        if not body:
            self.errors.append(
                {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
            )
            return None
        if not _is_json(content_type):
            self.errors.append(
                {
                    "type": "model_attributes_type",
                    "loc": ("body",),
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": None,
                }
            )
            return None
        try:
            return model.model_validate_json(body)
        except ValidationError as error:
            self.errors += _located(error, ("body",))
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise RequestValidationError(self.errors)


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    """``body`` serialized as the FastAPI route's response model would be."""
    return Response(body.model_dump_json(), status_code, media_type="application/json")
