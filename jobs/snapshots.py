"""Poll snapshots: each job's wire body, cached and kept true by the write path.

Each family keeps one `JobSnapshots`: per job, the wire body the family's read returns (with
request-dependent parts such as absolute URLs left for the response), the job's tenant, what
the URL must match, and the `Retry-After` hint while the job is pending. Every transition
calls `changed()`; that bumps the job's version (now and after the commit, see
`tenancy.caching`) and then replaces the snapshot from the committed row, so the next poll is
a hit and no poll ever sees a body older than the last commit.

A snapshot past the staleness bound (a bump may have been lost) is checked against the
database before it is served again: one query for the job's revision (its family's
`revision_fields`), which every change of the body changes. The same revision makes the
snapshot fresh again; another one, or no row, means a full load. The same query checks the
snapshots of other jobs this process served lately that are past half the bound, so that a
process serving many watched jobs checks them in few queries, not one for each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from django.conf import settings

from tenancy import caching
from tenancy.recent import RecentReads

if TYPE_CHECKING:
    from jobs.family import JobFamily
    from jobs.models import TrackedJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One job as a poll returns it, stamped with the job's cache version.

    `scope` is what the job's URL must match besides its id (the family's `describe` says
    what: a ROMA instance id, a Canvas course and LTI path), None when only the id matters.
    `revision` is the job's revision when it was taken (`JobFamily.revision`). `stored_at`
    (time.time()) bounds how long it is served without a look at the database
    (`tenancy.caching.fresh`), `loaded_at` how long it is served without a full load.
    """

    version: int | None
    tenant_id: int
    data: Any
    retry_after: int | None
    scope: Any = None
    revision: tuple[Any, ...] | None = None
    stored_at: float = field(default_factory=time.time)
    loaded_at: float = field(default_factory=time.time)


class JobSnapshots:
    """The cached snapshots of one family's jobs."""

    # At most this many jobs' snapshots are checked in one query (`revalidated`).
    CHECKED_AT_ONCE = 25
    # The snapshots this process read within this many seconds are checked with others
    # (`due`): watchers that poll less often than the staleness bound find theirs fresh.
    RECENT_SECONDS = 60
    # At most this many jobs read lately are remembered; then they are forgotten at once.
    MAX_RECENT = 10_000

    def __init__(self, family: JobFamily) -> None:
        self.family = family
        self.recent = RecentReads(self.RECENT_SECONDS, self.MAX_RECENT)

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
        the caller's to check (`tenancy.caching.fresh`, `usable`). The job is noted as read
        now (`RecentReads`).
        """
        snapshot = self.stamped(pk, found)
        if snapshot is not None:
            self.recent.note(pk, snapshot.stored_at)
        return snapshot

    def stamped(self, pk: Hashable, found: dict[str, Any]) -> Snapshot | None:
        """Return the snapshot among `found` if it is stamped with the job's version."""
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
        A stale snapshot whose job has not changed is made fresh again (`revalidated`); a
        missing one, or one whose job changed, is replaced by the job read again. Either is
        stored: unscoped, so whoever serves it checks access first (as for a cached one). None
        if the job is gone. While the database is down, a stale snapshot is the answer, as for
        a poll.
        """
        if found is None:
            cached, found = self.lookup(pk)
        if cached is not None and caching.fresh(cached.stored_at):
            return cached
        self.version_before_load(pk, found)

        def load() -> Snapshot | None:
            if cached is not None and (again := self.revalidated(pk, cached)) is not None:
                return again
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

    def revalidated(self, pk: Hashable, stale: Snapshot) -> Snapshot | None:
        """Return `stale` stored now if job `pk`'s revision is still the one it was taken at.

        One query of the job's row (and the rows its revision names), in place of the load,
        the description and the rendering of a job that has not changed. None if it changed
        or is gone, or if `stale` was loaded longer ago than a snapshot's lifetime: a change
        made around jobdesk's services (SQL that leaves `updated_at`) still shows within it.
        `stale` must be stamped with the version read before this query, as
        `version_before_load` reads it: a change committed since bumps that version, so the
        snapshot stored again is a miss, and a change whose bump was lost changed the revision.

        The same query checks the snapshots that `due` picks among the other jobs this
        process read lately, and stores again, fresh, those whose revision is unchanged.
        """
        if not self.checkable(stale, time.time()):
            return None
        others = self.due(pk)
        revisions = self.revisions([pk, *others])
        now = time.time()
        again = {
            other: replace(snapshot, stored_at=now)
            for other, snapshot in others.items()
            if revisions.get(str(other)) == snapshot.revision
        }
        if again:
            caching.write_many(
                {self.snapshot_key(other): snapshot for other, snapshot in again.items()},
                self.timeout,
            )
            for other in again:
                self.recent.stored(other, now)
        if revisions.get(str(pk)) != stale.revision:
            return None
        return replace(stale, stored_at=now)

    def checkable(self, snapshot: Snapshot, now: float) -> bool:
        """Return True if `snapshot` may be made fresh by a look at its job's revision."""
        return snapshot.revision is not None and now - snapshot.loaded_at <= self.timeout

    def due(self, pk: Hashable) -> dict[Hashable, Snapshot]:
        """Return the current snapshots of other jobs read here lately (`RECENT_SECONDS`)
        that are past half the staleness bound, by job (at most `CHECKED_AT_ONCE` - 1).

        Their versions are read now, before their revisions are: as for the stale snapshot
        `revalidated` checks, a change committed after this read makes the snapshot stored
        again a miss.
        """
        half = settings.JOBDESK_MAX_STALENESS_SECONDS / 2
        others = self.recent.older_than(half, limit=self.CHECKED_AT_ONCE - 1, besides=pk)
        if not others:
            return {}
        keys = [key for other in others for key in self.keys(other)]
        found = caching.read_many(keys, kept=False)
        now, due = time.time(), {}
        for other in others:
            snapshot = self.stamped(other, found)
            if snapshot is None or not self.checkable(snapshot, now):
                self.recent.forget(other)  # changed, gone or due a full load: read it then
            elif now - snapshot.stored_at > half:
                due[other] = snapshot
            else:  # stored again since this process read it
                self.recent.stored(other, snapshot.stored_at)
        return due

    def revisions(self, pks: list[Hashable]) -> dict[str, tuple[Any, ...]]:
        """Return the revisions of the jobs `pks` that exist, by the text of their key, in one
        query."""
        fields = ("pk", *self.family.revision_fields)
        rows = self.family.jobs().filter(pk__in=pks).order_by().values_list(*fields)
        return {str(row[0]): tuple(row[1:]) for row in rows}

    def capture(self, job: TrackedJob, found: dict[str, Any]) -> Snapshot:
        """Return a snapshot of `job`, stamped with the version read before it was loaded.

        Call `version_before_load` first; `found` carries the version it returned.
        """
        data, scope = self.family.describe(job)
        version = found.get(self.version_key(job.pk))
        retry_after, revision = self.family.retry_after(job), self.family.revision(job)
        return Snapshot(version, job.tenant_id, data, retry_after, scope, revision)

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
