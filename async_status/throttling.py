"""Login rate limiting: a few failed passwords per username and client address, then a pause.

Counts live in Django's cache (Redis when configured, so every worker shares them). Only
failures count, and a successful login clears the count.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


class LoginGuard:
    """Failed-login bookkeeping for one (username, client address) pair."""

    def __init__(self, username: str, client_address: str) -> None:
        # Hashed so any username (spaces, control characters) makes a valid cache key.
        digest = hashlib.sha256(f"{username.casefold()}\n{client_address}".encode()).hexdigest()
        self.count_key = f"async_status:login-failures:{digest}"
        self.until_key = f"async_status:login-window:{digest}"

    def retry_after(self) -> int | None:
        """Return the seconds until the next attempt is allowed, or None if allowed now."""
        if (cache.get(self.count_key) or 0) < MAX_FAILURES:
            return None
        until = cache.get(self.until_key) or time.time() + WINDOW_SECONDS
        return max(1, math.ceil(until - time.time()))

    def record_failure(self) -> None:
        """Count one failed attempt; the window starts at the first failure."""
        cache.add(self.until_key, time.time() + WINDOW_SECONDS, WINDOW_SECONDS)
        cache.add(self.count_key, 0, WINDOW_SECONDS)
        try:
            cache.incr(self.count_key)
        except ValueError:
            # The window expired between add and incr: start a new one.
            cache.set(self.count_key, 1, WINDOW_SECONDS)

    def clear(self) -> None:
        """Forget the failures, after a successful login."""
        cache.delete_many([self.count_key, self.until_key])
