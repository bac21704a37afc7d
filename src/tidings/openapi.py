"""Documented error responses, so /openapi.json lists every status a route can answer."""

from __future__ import annotations

from typing import Any

from tidings.schemas import ErrorBody


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "Not signed in",
        403: "Refused: a cross-site request, or not yours to do (e.g. not friends)",
        404: "Not found, or not visible to you",
        409: "Conflicts with the current state (e.g. already friends, not a group)",
        422: "Invalid input (code validation_error or invalid_json), or input that cannot be "
        "acted on (e.g. yourself as a DM partner: a code of its own)",
        429: "Too many attempts (see Retry-After)",
        503: "The database is busy: retry after Retry-After (code database_busy)",
    }
    # Any route may meet a busy database, so every route documents 503.
    return {code: {"model": ErrorBody, "description": descriptions[code]} for code in (*codes, 503)}


SIGNED_IN = errors(401, 403, 422)
"""Every route that needs a session: no session, cross-site, or malformed input."""


SECURITY_SCHEMES: dict[str, Any] = {
    "token": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "tdg_…",
        "description": "An API token (`POST /api/tokens`, or a bot's: "
        "`POST /api/bots/{id}/tokens`), sent as `Authorization: Bearer tdg_…`. Scopes: "
        "`read` (GET routes and the event stream), `write` (everything else too). A bearer "
        "request is judged by its token alone "
        "and needs no `Origin`. Tokens cannot manage tokens, the password or the account "
        "(403 `session_required`); a token without `write` gets 403 `insufficient_scope`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "tidings_session",
        "description": "The browser's session cookie, set by `POST /api/auth/login` (its name: "
        "`SESSION_COOKIE_NAME`). Requests that change something must come from the same site.",
    },
}
"""How to sign in, in ``components.securitySchemes``. Every route but sign-up, sign-in, health
and avatars takes either; they are not repeated on each operation (whose 401 and 403 say it)."""


def document_security(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the ways to sign in to an OpenAPI document."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    return schema
