"""Canvas progress as a tracked job family (see `tenancy.tracking.TrackedFamily`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models.functions import Coalesce

from progress import services
from progress.models import Progress
from tenancy.reaping import shortest_timeout, stuck_timeout

NAME = "progress"
SCAN_LIMIT = 1000


class ProgressFamily:
    """Tracked jobs are Canvas progresses; `tag` is the progress tag."""

    def load(self, job_id: str) -> Progress:
        return Progress.objects.across_tenants().get(pk=int(job_id))

    def create(self, *, tenant, tag, user, **fields: Any) -> str:
        fields.setdefault("context_type", "Account")
        fields.setdefault("context_id", tenant.pk)
        return str(services.progress_create(tenant=tenant, tag=tag, user=user, **fields).pk)

    def start(self, job_id: str) -> bool:
        return self.attempt(services.progress_start, job_id)

    def report(self, job_id: str, *, completion: float | None, message: str | None) -> bool:
        return self.attempt(
            services.progress_update, job_id, completion=completion, message=message
        )

    def complete(self, job_id: str, *, results: Any) -> bool:
        return self.attempt(services.progress_complete, job_id, results=results)

    def fail(self, job_id: str, *, message: str) -> bool:
        return self.attempt(services.progress_fail, job_id, message=message)

    def attempt(self, transition, job_id: str, **changes: Any) -> bool:
        """Apply a service transition; False if the job's state refused it."""
        try:
            transition(self.load(job_id), **changes)
        except services.TransitionNotAllowed:
            return False
        return True

    def stuck_jobs(self, *, now: datetime) -> list[tuple[str, str]]:
        rows = (
            Progress.objects.across_tenants()
            .filter(workflow_state=Progress.State.RUNNING)
            .annotate(last_sign=Coalesce("heartbeat_at", "updated_at"))
            .filter(last_sign__lt=now - shortest_timeout(NAME))
            .values_list("pk", "tag", "last_sign")[:SCAN_LIMIT]
        )
        return [(str(pk), tag) for pk, tag, last in rows if last < now - stuck_timeout(NAME, tag)]

    def finished_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        rows = (
            Progress.objects.across_tenants()
            .finished()
            .filter(updated_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        return [str(pk) for pk in rows]

    def purge(self, job_ids: list[str]) -> int:
        return services.progress_purge(job_ids=[int(pk) for pk in job_ids])


family = ProgressFamily()
