"""Cached reads that never go stale: values stamped with a version kept beside them.

Two caches use this: resolved API tokens (one version for all of authentication) and job
snapshots (one version per job). The protocol:

- A reader reads the version *before* it reads the database, and stores what it read stamped
  with that version. A hit needs the stamp to equal the current version.
- A writer bumps the version after it changes the database, and once more after the commit.
  A reader that raced the writer stored its value under the old version, which no longer
  matches, so it can never become a stale hit; at worst it costs one more miss.
- A missing version starts at a random 62-bit number, so a version that was evicted and
  started again never matches a value cached before it.

Every cache call fails soft: if the cache is unreachable a read is a miss (the database
answers) and a write is skipped, with a warning in the log. A bump lost that way leaves the
values it should have invalidated current, so each value also carries when it was stored and
is served at most `JOBDESK_MAX_STALENESS_SECONDS` after that (`fresh`); an older one is read
again from the database (a job snapshot is only checked against its job's revision, see
`jobs.snapshots`), with the others read lately that are past half the bound
(`tenancy.recent`). Only while the database itself is down is an older value, still
stamped with the current version, the answer (`usable`, `load_or_stale`): see docs/faults.md.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.db import transaction

from tenancy import outage

logger = logging.getLogger(__name__)

CACHE_ALIAS = "default"
# Part of every key: bump it when the shape of a cached value changes, so processes running
# old and new code side by side (a rolling deploy) never read each other's values.
SCHEMA = "s4"
# Versions outlive the values stamped with them; an evicted version only costs a miss.
VERSION_TIMEOUT = 24 * 60 * 60


T = TypeVar("T")


def fresh(stored_at: float) -> bool:
    """Return True if a value stored at `stored_at` (time.time()) is within the staleness bound."""
    return time.time() - stored_at <= settings.JOBDESK_MAX_STALENESS_SECONDS


def usable(stored_at: float) -> bool:
    """Return True if a value may be served without the database: fresh, or the database is down."""
    return fresh(stored_at) or not outage.may_try_database()


def load_or_stale(load: Callable[[], T], stale: T | None) -> T:
    """Return `load()` (a database read); if the database is unavailable, `stale` if not None.

    `stale` is a cached value stamped with the current version but past the staleness bound:
    the best answer there is while the database is down.
    """
    try:
        value = load()
    except outage.DATABASE_ERRORS as exc:
        if stale is None:
            raise
        outage.noticed(exc)
        return stale
    outage.database_answered()
    return value


def get_cache():
    return caches[CACHE_ALIAS]


def read_many(keys: list[str], *, kept: bool = True) -> dict[str, Any]:
    """Return the cached values of `keys` in one round trip ({} if the cache is unreachable).

    The values may be shared with other readers in this process: never change them. With
    `kept` false, values this process is not serving (only looking at) are decoded for this
    call alone, not kept for the next reader (`tenancy.cache_backends`): what the process
    keeps of a job is then what it last served.
    """
    try:
        cache = get_cache()
        shared = getattr(cache, "get_many_shared", None) if kept else None
        return shared(keys) if shared is not None else cache.get_many(keys)
    except Exception:
        logger.warning("Cache read failed; answering from the database.", exc_info=True)
        return {}


def write(key: str, value: Any, timeout: float) -> None:
    """Cache `value` under `key` for `timeout` seconds, if the cache is reachable."""
    try:
        get_cache().set(key, value, timeout)
    except Exception:
        logger.warning("Cache write failed; the value is not cached.", exc_info=True)


def write_many(values: dict[str, Any], timeout: float) -> None:
    """Cache each of `values` under its key for `timeout` seconds, if the cache is reachable."""
    try:
        get_cache().set_many(values, timeout)
    except Exception:
        logger.warning("Cache write failed; the values are not cached.", exc_info=True)


def forget(key: str) -> None:
    """Delete `key` from the cache, if the cache is reachable."""
    try:
        get_cache().delete(key)
    except Exception:
        logger.warning("Cache delete failed for %s.", key, exc_info=True)


def current_version(key: str, seen: int | None = None) -> int | None:
    """Return the version under `key`, starting it at a random number if it has none.

    `seen` is a version already read in this request (from `read_many`); None means "not
    found". Return None if the cache is unreachable: then nothing is stored.
    """
    if seen is not None:
        return seen
    try:
        cache = get_cache()
        start = secrets.randbits(62) + 1
        if cache.add(key, start, VERSION_TIMEOUT):
            return start
        return cache.get(key)
    except Exception:
        logger.warning("Cache read failed; answering from the database.", exc_info=True)
        return None


def bump(key: str) -> int | None:
    """Move the version under `key` on; return the new version (None if there was none).

    No version means no value can be stamped with the current one, so there is nothing to do.
    """
    try:
        return get_cache().incr(key)
    except ValueError:
        return None
    except Exception:
        logger.warning(
            "Cache version bump failed for %s; cached values expire on their own.",
            key,
            exc_info=True,
        )
        return None


def bump_now_and_after_commit(
    keys: Iterable[str], after_commit: Callable[[dict[str, int | None]], None] | None = None
) -> None:
    """Bump each version now and, inside a transaction, again once it commits.

    The first bump covers readers in this transaction; the second covers readers in other
    connections that read the old rows before the commit. `after_commit` (e.g. replacing a
    snapshot) runs after the last bump with the new versions (None where a key had none); a
    rolled-back transaction runs nothing more.
    """
    keys = list(keys)
    versions = {key: bump(key) for key in keys}
    if transaction.get_connection().in_atomic_block:

        def on_commit() -> None:
            committed = {key: bump(key) for key in keys}
            if after_commit is not None:
                after_commit(committed)

        transaction.on_commit(on_commit, robust=True)
    elif after_commit is not None:
        after_commit(versions)
