"""API errors: every 4xx is JSON ``{detail, code}``; nothing unexpected becomes an HTML 500."""

from __future__ import annotations

import logging
from http import HTTPMethod
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sqlalchemy_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

logger = logging.getLogger(__name__)
INVALID_JSON = "The request body is not valid JSON."


class ApiError(Exception):
    """Raised by actions and dependencies; becomes a JSON error response."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Unauthorized(ApiError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class Conflict(ApiError):
    """The request is well formed but conflicts with the current state (already friends...)."""

    status_code = 409
    code = "conflict"


class Unprocessable(ApiError):
    """The request matches its schema but asks for something that cannot be (a DM with
    yourself): 422, as for malformed input, with a ``code`` of its own."""

    status_code = 422
    code = "unprocessable"


class TooManyRequests(ApiError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after


class DatabaseBusy(ApiError):
    """The database could not take the request now (locked, pool exhausted): try again soon."""

    status_code = 503
    code = "database_busy"
    retry_after = 1


# PostgreSQL SQLSTATEs that mean "not now" rather than "wrong": serialization failure,
# deadlock, lock or statement timeout, too many connections, starting up or shutting down.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014", "53300", "57P01", "57P03"})


def is_database_busy(error: BaseException) -> bool:
    """True for database errors that mean "try again": SQLite's lock, the pool's timeout,
    PostgreSQL lock, conflict and connection errors."""
    if isinstance(error, sqlalchemy_exc.TimeoutError):  # no pooled connection in time
        return True
    if not isinstance(error, sqlalchemy_exc.DBAPIError):
        return isinstance(error, ConnectionError)  # the database server cannot be reached
    if error.connection_invalidated:
        return True
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate in _RETRYABLE_SQLSTATES or sqlstate.startswith("08")
    message = str(orig).lower()
    return isinstance(error, sqlalchemy_exc.OperationalError) and (
        "database is locked" in message or "database table is locked" in message
    )


def error_response(status_code: int, detail: str, code: str, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    return JSONResponse({"detail": detail, "code": code, **extra}, status_code, headers=headers)


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


def allowed_methods(request: Request) -> list[str]:
    """Every method a route of the app serves at the request's path.

    Starlette's 405 names only the methods of the first route whose path matched, and FastAPI
    declares a route per method (``GET`` and ``POST /api/conversations`` are two): its ``Allow``
    would leave out the others. So each method is tried on the app's routes, as the router would
    (routers included in the app match through their own routes). Mounts are left out: they
    match a whole prefix whatever the method, and their apps answer for themselves.
    """
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    return [
        method.value
        for method in HTTPMethod
        if any(
            route.matches({**request.scope, "method": method.value})[0] is Match.FULL
            for route in routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        headers = None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
        return error_response(exc.status_code, exc.detail, exc.code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return error_response(422, INVALID_JSON, "invalid_json")
        detail = "; ".join(_describe(e) for e in exc.errors())
        return error_response(422, detail or "Invalid request.", "validation_error", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI's "error parsing the body" (e.g. bytes that are not UTF-8, or nesting too
            # deep to decode) is a body that is not valid JSON: answer as for any other.
            return error_response(422, INVALID_JSON, "invalid_json")
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = exc.headers
        if exc.status_code == 405 and (allowed := allowed_methods(request)):
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return error_response(exc.status_code, str(exc.detail), code, headers=headers)

    @app.exception_handler(sqlalchemy_exc.SQLAlchemyError)
    @app.exception_handler(ConnectionError)
    async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
        if is_database_busy(exc):
            logger.warning("database busy: %s", exc)
            return database_busy_response()
        logger.exception("unhandled database error", exc_info=exc)
        return error_response(500, "Internal server error.", "internal_error")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return error_response(500, "Internal server error.", "internal_error")


def database_busy_response() -> JSONResponse:
    """503 with Retry-After: the database is locked or out of connections for now."""
    return error_response(
        DatabaseBusy.status_code,
        "The database is busy. Try again in a moment.",
        DatabaseBusy.code,
        headers={"Retry-After": str(DatabaseBusy.retry_after)},
    )
