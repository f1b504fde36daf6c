"""Login rate limiting: a few failed passwords per username and client address, then a pause.

Counts live in Django's cache (Redis when configured, so every worker shares them). Every
attempt counts, and a successful login clears the count, so only failures accumulate.
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

    def attempt(self) -> int | None:
        """Count one login attempt; return the seconds to wait if over the limit, else None.

        Counting before the password is checked keeps the limit exact under concurrent
        guesses (the increment is atomic); a successful login then clears the count.
        """
        cache.add(self.until_key, time.time() + WINDOW_SECONDS, WINDOW_SECONDS)
        cache.add(self.count_key, 0, WINDOW_SECONDS)
        try:
            count = cache.incr(self.count_key)
        except ValueError:
            # The window expired between add and incr: this attempt starts a new one.
            cache.set(self.count_key, 1, WINDOW_SECONDS)
            count = 1
        if count <= MAX_FAILURES:
            return None
        until = cache.get(self.until_key) or time.time() + WINDOW_SECONDS
        return max(1, math.ceil(until - time.time()))

    def clear(self) -> None:
        """Forget the failures, after a successful login."""
        cache.delete_many([self.count_key, self.until_key])
