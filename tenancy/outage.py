"""Outages of the database or the cache: how they are recognised, and what a process recalls.

An outage is an error of the infrastructure, not of the request: the database refused or
dropped the connection or did not answer in time (Django's `OperationalError` and
`InterfaceError`; a statement timeout is one too), or Redis did (redis' `ConnectionError` and
`TimeoutError`). Every API family answers one with 503 and `Retry-After` in its own envelope
(`jobs.errors`), the admin with a plain 503 page (`ops.views.server_error`); see
docs/faults.md.

A process also recalls that the database failed it. Until the database answers it again, the
poll hot path keeps answering from cached tokens and snapshots older than the staleness bound
(`tenancy.caching.usable`) rather than sending those polls to a database that is down; one
poll every `PROBE_INTERVAL_SECONDS` tries the database again.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
OUTAGE_ERRORS = (*DATABASE_ERRORS, RedisConnectionError, RedisTimeoutError)

# Longer than any wait for the database (connect or statement timeout, config/postgresql), so
# that one poll at a time tries a database that hangs.
PROBE_INTERVAL_SECONDS = 10

# When this process last saw the database fail, or sent a poll to try it again
# (time.monotonic()); None while the database answers.
database_failed_at: float | None = None


def is_outage(exc: BaseException) -> bool:
    """Return True if `exc` says the database or the cache is unavailable."""
    return isinstance(exc, OUTAGE_ERRORS)


def retry_after() -> int:
    """Return the seconds a client is asked to wait before retrying after an outage."""
    return settings.JOBDESK_OUTAGE_RETRY_AFTER_SECONDS


def noticed(exc: BaseException) -> None:
    """Log an outage a request ran into, and recall it if the database failed."""
    global database_failed_at
    if isinstance(exc, DATABASE_ERRORS):
        database_failed_at = time.monotonic()
    logger.warning("Unavailable: %s: %s", type(exc).__name__, exc)


def database_down() -> bool:
    """Return True if the database failed this process and has not answered it since."""
    failed_at = database_failed_at
    return failed_at is not None and time.monotonic() - failed_at < PROBE_INTERVAL_SECONDS


def may_try_database() -> bool:
    """Return True if the caller may send a read to the database rather than make do without.

    While the database is down, once every `PROBE_INTERVAL_SECONDS` one caller gets True to try
    it again; the others keep getting False until it answers (`database_answered`) or fails
    (`noticed`).
    """
    global database_failed_at
    if database_failed_at is None:
        return True
    now = time.monotonic()
    if now - database_failed_at < PROBE_INTERVAL_SECONDS:
        return False
    database_failed_at = now
    return True


def database_answered() -> None:
    """Record that the database answered this process again."""
    global database_failed_at
    database_failed_at = None
