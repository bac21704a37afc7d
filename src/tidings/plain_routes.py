"""Plain Starlette routes for the hottest operations, served in front of their FastAPI twins.

FastAPI's per-request work for a declared route (dependency solving, parameter and response
validation, its wrappers) was ~40 % of the event loop's CPU for a message: more than the
message's own work. A route that must take thousands of requests a second on one core is
written as a plain Starlette endpoint instead, with the helpers here doing by hand, in the same
terms, what FastAPI would: the same schemas, the same 401/404/422/429 bodies (the exceptions are
raised into FastAPI's own handlers), the same middleware, and the same dependencies called as
functions (``get_context``, ``require_user``). Its FastAPI declaration stays, after it, as the
operation's OpenAPI description and for the requests the plain route does not match (other
methods, a path id that is not one of at most 10 digits).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def _located(error: ValidationError, prefix: Sequence[str | int]) -> list[dict[str, Any]]:
    return [{**e, "loc": (*prefix, *e["loc"])} for e in error.errors(include_url=False)]


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class _Absent(enum.Enum):
    NO_BODY = "no body"
    NOT_JSON = "a body of another media type"


JsonBody = object
"""A request body as ``read_json_body`` returns it: a parsed JSON document, or an ``_Absent``."""


async def read_json_body(request: Request) -> JsonBody:
    """The request body as FastAPI reads it for a JSON body parameter, before anything else
    about the request is checked: parsed (bytes as ``json.loads`` decodes them: UTF-8, with or
    without a BOM, UTF-16 or UTF-32) when its media type is JSON; malformed JSON is answered at
    once (422 ``invalid_json``, even before the session is checked, as FastAPI does)."""
    body = await request.body()
    if not body:
        return _Absent.NO_BODY
    if not _is_json(request.headers.get("content-type")):
        return _Absent.NOT_JSON
    try:
        return json.loads(body)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error", "input": {}}]
        ) from error


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

    def body(self, model: type[M], body: JsonBody) -> M | None:
        """The body (``read_json_body``) validated as ``model``, with FastAPI's errors: a
        missing body is "Field required", one of another media type is not an object."""
        if body is _Absent.NO_BODY:
            self.errors.append(
                {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
            )
            return None
        if body is _Absent.NOT_JSON:
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
            return model.model_validate(body, from_attributes=True)
        except ValidationError as error:
            self.errors += _located(error, ("body",))
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise RequestValidationError(self.errors)


class DbIdConvertor(Convertor[int]):
    """``{name:db_id}``: a row id in a path, at most 10 digits (longer ones do not match the
    route: Starlette's ``int`` converter would call ``int()`` on thousands of digits, which
    Python refuses with a ValueError, a 500); the range is checked as a parameter's is."""

    regex = "[0-9]{1,10}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("db_id", DbIdConvertor())


class PlainRoute(Route):
    """A Starlette route matched only for its methods: for any other method the request goes
    on to the FastAPI routes of the same path, which answer it (405, ``Allow``) as before. And
    it names itself the request's route, as FastAPI's routes do (the latency metric's label)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and self.methods and scope["method"] not in self.methods:
            return Match.NONE, {}
        match, child_scope = super().matches(scope)
        if match is Match.FULL:
            child_scope["route"] = self
        return match, child_scope


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    """``body`` serialized as the FastAPI route's response model would be."""
    return Response(body.model_dump_json(), status_code, media_type="application/json")
