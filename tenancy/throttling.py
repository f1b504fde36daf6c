"""Login rate limiting: a few failed passwords per username and client address, then a pause.

Both logins (the admin's form and Traffic Ops' `user/login`) go through `authenticate_guarded`
and share the counts, so one cannot be used to guess past the other's limit. Counts live in
Django's cache (Redis when configured, so every worker shares them). Only wrong credentials
count: a success clears the count, and an error while checking (the database unreachable)
gives its attempt back, so an outage never locks anyone out. While the shared cache is
unreachable, each process counts in its own memory: the limit still holds per process, and
nobody is refused a login for the cache's sake. The client address is `REMOTE_ADDR`, which
`tenancy.proxies.TrustedProxyMiddleware` sets from `X-Forwarded-For` for trusted proxies only.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest

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
        self.count_key = f"tenancy:login-failures:{digest}"
        self.until_key = f"tenancy:login-window:{digest}"
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

    def give_back(self) -> None:
        """Uncount an attempt that ended in an error rather than a wrong password."""
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


class LoginThrottled(Exception):
    """Too many wrong passwords for this username from this address; `wait` seconds remain."""

    def __init__(self, wait: int) -> None:
        super().__init__(f"Too many failed login attempts; try again in {wait} seconds.")
        self.wait = wait


def authenticate_guarded(
    request: HttpRequest, username: str, password: str
) -> AbstractBaseUser | None:
    """Return the user these credentials name, or None; raise `LoginThrottled` past the limit."""
    guard = LoginGuard(username, request.META.get("REMOTE_ADDR", ""))
    wait = guard.attempt()
    if wait is not None:
        raise LoginThrottled(wait)
    try:
        user = authenticate(request, username=username, password=password)
    except BaseException:
        guard.give_back()
        raise
    if user is not None:
        guard.clear()
    return user
