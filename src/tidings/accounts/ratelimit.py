"""Failed-login limiting per username and per client address (in this process's memory)."""

from __future__ import annotations

import time
from collections import deque


class LoginRateLimiter:
    """Sliding window of failed attempts; a key over the limit is refused until it slides."""

    def __init__(self, attempts: int, window_seconds: float) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, *keys: str) -> float:
        """Seconds until any of ``keys`` may try again (0: allowed now)."""
        now = time.monotonic()
        wait = 0.0
        for key in keys:
            failures = self._failures.get(key)
            if not failures:
                continue
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) >= self.attempts:
                wait = max(wait, failures[0] + self.window - now)
        return wait

    def record_failure(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 100_000:
            self._failures = {
                k: v for k, v in self._failures.items() if v and v[-1] > now - self.window
            }

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
