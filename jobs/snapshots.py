"""Poll snapshots: each job's wire body, cached and kept true by the write path.

Each family keeps one `JobSnapshots`: per job, the wire body the family's read returns (with
request-dependent parts such as absolute URLs left for the response), the job's tenant, what
the URL must match, and the `Retry-After` hint while the job is pending. Every transition
calls `changed()`; that bumps the job's version (now and after the commit, see
`tenancy.caching`) and then replaces the snapshot from the committed row, so the next poll is
a hit and no poll ever sees a body older than the last commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from tenancy import caching

if TYPE_CHECKING:
    from jobs.family import JobFamily
    from jobs.models import TrackedJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One job as a poll returns it, stamped with the job's cache version.

    `scope` is what the job's URL must match besides its id (the family's `describe` says
    what: a ROMA instance id, a Canvas course and LTI path), None when only the id matters.
    `stored_at` (time.time()) bounds how long it is served (`tenancy.caching.fresh`).
    """

    version: int | None
    tenant_id: int
    data: Any
    retry_after: int | None
    scope: Any = None
    stored_at: float = field(default_factory=time.time)


class JobSnapshots:
    """The cached snapshots of one family's jobs."""

    def __init__(self, family: JobFamily) -> None:
        self.family = family

    @property
    def timeout(self) -> int:
        return settings.JOBDESK_SNAPSHOT_SECONDS

    def version_key(self, pk: Hashable) -> str:
        return f"jobdesk:{caching.SCHEMA}:job:{self.family.name}:{pk}:version"

    def snapshot_key(self, pk: Hashable) -> str:
        return f"jobdesk:{caching.SCHEMA}:job:{self.family.name}:{pk}:snapshot"

    def keys(self, pk: Hashable) -> list[str]:
        return [self.version_key(pk), self.snapshot_key(pk)]

    def cached(self, pk: Hashable, found: dict[str, Any]) -> Snapshot | None:
        """Return the snapshot among `found` cache values if it is the job's current one.

        Current means stamped with the job's version; whether it is fresh enough to serve is
        the caller's to check (`tenancy.caching.fresh`, `usable`).
        """
        snapshot = found.get(self.snapshot_key(pk))
        if not isinstance(snapshot, Snapshot) or snapshot.version is None:
            return None
        return snapshot if snapshot.version == found.get(self.version_key(pk)) else None

    def lookup(self, pk: Hashable) -> tuple[Snapshot | None, dict[str, Any]]:
        """Return the current snapshot of job `pk` (or None, see `cached`) and the values read."""
        if self.timeout <= 0:
            return None, {}
        found = caching.read_many(self.keys(pk))
        return self.cached(pk, found), found

    def current(
        self, pk: Hashable, cached: Snapshot | None = None, found: dict[str, Any] | None = None
    ) -> Snapshot | None:
        """Return job `pk`'s snapshot within the staleness bound, read again if it must be.

        `cached` and `found` are what a cache read already gave (`lookup`), if there was one.
        A missing or stale snapshot is replaced by the job read again and stored: unscoped, so
        whoever serves it checks access first (as for a cached one). None if the job is gone.
        While the database is down, a stale snapshot is the answer, as for a poll.
        """
        if found is None:
            cached, found = self.lookup(pk)
        if cached is not None and caching.fresh(cached.stored_at):
            return cached
        self.version_before_load(pk, found)

        def load() -> Snapshot | None:
            job = self.load(pk)
            return None if job is None else self.capture(job, found)

        snapshot = caching.load_or_stale(load, stale=cached)
        if snapshot is not None and snapshot is not cached:
            self.store(pk, snapshot)
        return snapshot

    def load(self, pk: Hashable) -> TrackedJob | None:
        """Return job `pk` with what `describe` reads, or None if there is no such job."""
        # The primary key matches one row at most: no ORDER BY (as first() or the model's
        # ordering would add), which Django would build for every load.
        return next(iter(self.family.wire_jobs().filter(pk=pk).order_by()[:1]), None)

    def capture(self, job: TrackedJob, found: dict[str, Any]) -> Snapshot:
        """Return a snapshot of `job`, stamped with the version read before it was loaded.

        Call `version_before_load` first; `found` carries the version it returned.
        """
        data, scope = self.family.describe(job)
        version = found.get(self.version_key(job.pk))
        return Snapshot(version, job.tenant_id, data, self.family.retry_after(job), scope)

    def version_before_load(self, pk: Hashable, found: dict[str, Any]) -> None:
        """Make sure `found` holds job `pk`'s version, read before the job is loaded."""
        if self.timeout > 0:
            key = self.version_key(pk)
            found[key] = caching.current_version(key, found.get(key))

    def store(self, pk: Hashable, snapshot: Snapshot) -> None:
        if snapshot.version is not None and self.timeout > 0:
            caching.write(self.snapshot_key(pk), snapshot, self.timeout)

    def changed(self, *pks: Hashable) -> None:
        """Record that jobs `pks` changed (or were deleted): bump, then replace after commit.

        Only jobs polled recently (whose version is cached) get a new snapshot; the others are
        left for their next poll to load.
        """
        if self.timeout <= 0 or not pks:
            return
        by_key = {self.version_key(pk): pk for pk in pks}

        def replace(versions: dict[str, int | None]) -> None:
            for key, version in versions.items():
                if version is not None:
                    self.replace(by_key[key], version)

        caching.bump_now_and_after_commit(by_key, replace)

    def invalidate(self, pks: Iterable[Hashable]) -> None:
        """Make the snapshots of jobs `pks` misses, now and after the commit, without reloading.

        For a change outside the jobs' rows that their wire body shows (a ROMA instance's
        status spelling): each job's next poll loads it again.
        """
        if self.timeout > 0:
            caching.bump_now_and_after_commit(self.version_key(pk) for pk in pks)

    def replace(self, pk: Hashable, version: int) -> None:
        """Store a snapshot of job `pk` read from the database after `version` was set."""
        try:
            job = self.load(pk)
            if job is not None:
                self.store(pk, self.capture(job, {self.version_key(pk): version}))
        except Exception:
            # The write itself has committed; the next poll loads the job instead.
            logger.warning(
                "Could not replace the snapshot of %s %s.", self.family.name, pk, exc_info=True
            )
