"""Traffic Ops async statuses as a tracked job family (see `tenancy.tracking.TrackedFamily`).

An async status has no completion or results: a report without a message writes
"N% complete.", and a string returned by the task becomes the final message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models.functions import Coalesce

from async_status import services
from async_status.models import AsyncStatus
from tenancy.reaping import shortest_timeout, stuck_timeout

NAME = "async_status"
SCAN_LIMIT = 1000


class AsyncStatusFamily:
    """Tracked jobs are async statuses; the tag only names the kind of job in messages."""

    def load(self, job_id: str) -> AsyncStatus:
        return AsyncStatus.objects.across_tenants().get(pk=int(job_id))

    def create(self, *, tenant, tag, user, message: str | None = None) -> str:
        message = message or f"{tag} queued."
        return str(services.async_status_create(tenant=tenant, message=message, user=user).pk)

    def start(self, job_id: str) -> bool:
        return self.attempt(services.async_status_heartbeat, job_id)

    def report(self, job_id: str, *, completion: float | None, message: str | None) -> bool:
        if message is None and completion is None:
            return self.attempt(services.async_status_heartbeat, job_id)
        text = message if message is not None else f"{int(completion)}% complete."
        return self.attempt(services.async_status_update, job_id, message=text)

    def complete(self, job_id: str, *, results: Any) -> bool:
        message = results if isinstance(results, str) else "Job completed."
        return self.attempt(services.async_status_finish, job_id, succeeded=True, message=message)

    def fail(self, job_id: str, *, message: str) -> bool:
        return self.attempt(services.async_status_finish, job_id, succeeded=False, message=message)

    def attempt(self, transition, job_id: str, **changes: Any) -> bool:
        """Apply a service transition; False if the job had already finished."""
        try:
            transition(self.load(job_id), **changes)
        except services.AsyncStatusNotPending:
            return False
        return True

    def stuck_jobs(self, *, now: datetime) -> list[tuple[str, str]]:
        rows = (
            AsyncStatus.objects.across_tenants()
            .pending()
            .annotate(last_sign=Coalesce("heartbeat_at", "start_time"))
            .filter(last_sign__lt=now - shortest_timeout(NAME))
            .values_list("pk", "last_sign")[:SCAN_LIMIT]
        )
        # Async statuses have no tag: the family's default timeout applies.
        return [(str(pk), "") for pk, last in rows if last < now - stuck_timeout(NAME, "")]

    def finished_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        rows = (
            AsyncStatus.objects.across_tenants()
            .finished()
            .filter(end_time__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        return [str(pk) for pk in rows]

    def purge(self, job_ids: list[str]) -> int:
        return services.async_status_purge(job_ids=[int(pk) for pk in job_ids])


family = AsyncStatusFamily()
