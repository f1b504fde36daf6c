"""Login rate limiting: a few failed passwords per username and client address, then a pause.

Counts live in Django's cache (Redis when configured, so every worker shares them). Every
attempt counts, and a successful login clears the count, so only failures accumulate. An
attempt that fails because the database or the cache is unavailable is not a failed password:
it is given back (`refund`), so an outage never locks anyone out. While the shared cache is
unreachable, each process counts in its own memory: the limit still holds per process, and
nobody is refused a login for the cache's sake.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache

from tenancy import outage

logger = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
# The counts of this process while the shared cache is unreachable.
LOCAL_COUNTS = LocMemCache("login-guard", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


class LoginGuard:
    """Failed-login bookkeeping for one (username, client address) pair."""

    def __init__(self, username: str, client_address: str) -> None:
        # Hashed so any username (spaces, control characters) makes a valid cache key.
        digest = hashlib.sha256(f"{username.casefold()}\n{client_address}".encode()).hexdigest()
        self.count_key = f"async_status:login-failures:{digest}"
        self.until_key = f"async_status:login-window:{digest}"
        # Where this pair's attempts are counted: this process's memory once the cache fails.
        self.store = cache

    def attempt(self) -> int | None:
        """Count one login attempt; return the seconds to wait if over the limit, else None.

        Counting before the password is checked keeps the limit exact under concurrent
        guesses (the increment is atomic); a successful login then clears the count.
        """
        try:
            return self.count(cache)
        except outage.OUTAGE_ERRORS as exc:
            logger.warning("Login attempts counted in this process: the cache failed: %s", exc)
            self.store = LOCAL_COUNTS
            return self.count(LOCAL_COUNTS)

    def count(self, store) -> int | None:
        store.add(self.until_key, time.time() + WINDOW_SECONDS, WINDOW_SECONDS)
        store.add(self.count_key, 0, WINDOW_SECONDS)
        try:
            count = store.incr(self.count_key)
        except ValueError:
            # The window expired between add and incr: this attempt starts a new one.
            store.set(self.count_key, 1, WINDOW_SECONDS)
            count = 1
        if count <= MAX_FAILURES:
            return None
        until = store.get(self.until_key) or time.time() + WINDOW_SECONDS
        return max(1, math.ceil(until - time.time()))

    def refund(self) -> None:
        """Give back the attempt just counted: an outage, not the password, failed it."""
        try:
            self.store.decr(self.count_key)
        except ValueError:
            pass  # the window has expired meanwhile: nothing left to give back
        except outage.OUTAGE_ERRORS as exc:
            logger.warning("Could not give back a login attempt: the cache failed: %s", exc)

    def clear(self) -> None:
        """Forget the failures, after a successful login."""
        try:
            self.store.delete_many([self.count_key, self.until_key])
        except outage.OUTAGE_ERRORS as exc:
            logger.warning("Could not clear login failures: the cache failed: %s", exc)
