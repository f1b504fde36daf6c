"""A process's memo of values it made, bounded by entries and by bytes.

The poll hot path keeps, per process, the objects decoded from each cached value
(`tenancy.cache_backends`) and the bodies rendered from them (`jobs.polling`). A memo holds
at most `max_entries` entries and about `max_bytes` of what `size_of` measures; reaching
either empties it whole, so its memory stays bounded whatever the number or the size of the
jobs a process serves, and what is polled again soon is back in it after one miss.

Reading is a plain dict lookup, safe from any thread; writes take the memo's lock, so that its
count of bytes stays exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Entry = TypeVar("Entry")


class BoundedMemo(Generic[Entry]):
    def __init__(self, max_entries: int, max_bytes: int, size_of: Callable[[Entry], int]):
        self.max_entries, self.max_bytes, self.size_of = max_entries, max_bytes, size_of
        self.entries: dict[Hashable, Entry] = {}
        self.bytes = 0
        self.lock = threading.Lock()

    def get(self, key: Hashable) -> Entry | None:
        return self.entries.get(key)

    def put(self, key: Hashable, entry: Entry) -> None:
        """Keep `entry` for `key`, in place of the key's last one; empty the memo first if it
        would hold too many entries or bytes. An entry larger than the memo is not kept."""
        size = self.size_of(entry)
        with self.lock:
            self._remove(key)
            if size > self.max_bytes:
                return
            if len(self.entries) >= self.max_entries or self.bytes + size > self.max_bytes:
                self.entries.clear()
                self.bytes = 0
            self.entries[key] = entry
            self.bytes += size

    def discard(self, key: Hashable) -> None:
        with self.lock:
            self._remove(key)

    def _remove(self, key: Hashable) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= self.size_of(old)
