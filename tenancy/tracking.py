"""The protocol a job family implements so functions can run as its tracked jobs.

tenancy knows no family: settings name each family's implementation
(`JOBDESK_TRACKED_FAMILIES`, a name -> dotted path), imported on first use. Every method goes
through the family's services, which stay the only writers of job rows.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils.module_loading import import_string

from tenancy.models import Tenant


class TrackedFamily(Protocol):
    """How the task integration, the reaper and retention act on one family's jobs."""

    def create(
        self, *, tenant: Tenant, tag: str, user: AbstractBaseUser | None, **fields: Any
    ) -> str:
        """Record a new job of kind `tag`; return its id."""

    def start(self, job_id: str) -> bool:
        """Mark the job as picked up by a worker; False if it was cancelled or finished."""

    def report(self, job_id: str, *, completion: float | None, message: str | None) -> bool:
        """Record progress (percent 0..100) and a heartbeat; False if no longer pending."""

    def complete(self, job_id: str, *, results: Any) -> bool:
        """Finish the job successfully; False if it had already finished (e.g. cancelled)."""

    def fail(self, job_id: str, *, message: str) -> bool:
        """Finish the job unsuccessfully; False if it had already finished."""

    def stuck_jobs(self, *, now: datetime) -> list[tuple[str, str]]:
        """Return (job id, tag) of pending jobs whose heartbeat is older than their timeout."""

    def finished_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        """Return up to `limit` ids of jobs that finished before `cutoff`."""

    def purge(self, job_ids: list[str]) -> int:
        """Delete these finished jobs (and anything they own); return how many."""


@cache
def family(name: str) -> TrackedFamily:
    """Return the tracked-job implementation of the family called `name`."""
    try:
        path = settings.JOBDESK_TRACKED_FAMILIES[name]
    except KeyError:
        raise LookupError(f"No tracked job family {name!r}.") from None
    return import_string(path)


def family_names() -> list[str]:
    """Return the names of every configured family."""
    return list(settings.JOBDESK_TRACKED_FAMILIES)
