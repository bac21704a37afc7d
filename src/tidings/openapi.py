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
