"""The one exception the client raises for an error answer."""

from __future__ import annotations

import httpx


class TidingsError(Exception):
    """The server answered an error: ``status``, and ``code`` and ``detail`` from its JSON body
    (``{"detail": ..., "code": ...}``); ``retry_after`` (seconds) on 429 and 503."""

    def __init__(
        self, status: int, code: str, detail: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: httpx.Response) -> TidingsError:
        """The error an answer carries (its body read already)."""
        code, detail = f"http_{response.status_code}", response.reason_phrase
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = str(body.get("code") or code)
            detail = str(body.get("detail") or detail)
        retry_after = None
        header = response.headers.get("Retry-After")
        if header is not None:
            try:
                retry_after = float(header)
            except ValueError:
                retry_after = None
        return cls(response.status_code, code, detail, retry_after=retry_after)
