"""What a process read lately from the cache: which values, when, and how old they were.

A cached token or job snapshot is served at most `JOBDESK_MAX_STALENESS_SECONDS` after it was
stored (`tenancy.caching`); then it is checked against the database. One check per value
would cost a query each time each watched value passes the bound, so whoever checks one
value past the bound also checks the values read lately that are past half of it, in the same
query (`jobs.snapshots`, `tenancy.authentication`). `RecentReads` remembers what to pick.
"""

from __future__ import annotations

import random
import time
from collections.abc import Hashable


class RecentReads:
    """The values read within the last `seconds`, at most `max_entries` of them (then all are
    forgotten at once): by key, when each was last read and when that value was stored.

    Notes and reads are plain dict operations, safe from any thread; a note lost to a race
    only means the value is not checked ahead of its next read.
    """

    def __init__(self, seconds: float, max_entries: int) -> None:
        self.seconds, self.max_entries = seconds, max_entries
        self.entries: dict[Hashable, tuple[float, float]] = {}

    def note(self, key: Hashable, stored_at: float) -> None:
        """Record that the value under `key`, stored at `stored_at`, was read now."""
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        self.entries[key] = (time.time(), stored_at)

    def stored(self, key: Hashable, stored_at: float) -> None:
        """Record that the value under `key` was stored again at `stored_at`."""
        if (entry := self.entries.get(key)) is not None:
            self.entries[key] = (entry[0], stored_at)

    def forget(self, key: Hashable) -> None:
        self.entries.pop(key, None)

    def older_than(self, age: float, *, limit: int, besides: Hashable = None) -> list[Hashable]:
        """Return the keys (`besides` aside) of values stored more than `age` seconds ago, as
        last read here; at most `limit`, picked at random if there are more. Values not read
        within `seconds` are forgotten."""
        now = time.time()
        recent = {
            key: entry
            for key, entry in self.entries.copy().items()
            if now - entry[0] <= self.seconds
        }
        self.entries = recent
        keys = [key for key, (_, stored_at) in recent.items() if now - stored_at > age]
        if besides in recent:
            keys = [key for key in keys if key != besides]
        return random.sample(keys, limit) if len(keys) > limit else keys
