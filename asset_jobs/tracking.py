"""ROMA asset jobs as a tracked job family (see `tenancy.tracking.TrackedFamily`).

The tag is the job type (`importAsset`, `exportAsset`, `deleteAsset`); `enqueue_tracked`
needs `job={"instance": instance}`. An export task may return its zip package as bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models.functions import Coalesce

from asset_jobs import services
from asset_jobs.models import REASON_FIELD_MAX_LENGTH, AssetJob
from tenancy.reaping import shortest_timeout, stuck_timeout

NAME = "asset_jobs"
SCAN_LIMIT = 1000
FAILED_ERROR_CODE = "ROMA.JOBDESK.FAILED"


class AssetJobFamily:
    """Tracked jobs are asset jobs, Running from creation."""

    def load(self, job_id: str) -> AssetJob:
        return AssetJob.objects.across_tenants().get(pk=job_id)

    def create(self, *, tenant, tag, user, instance) -> str:
        if instance.tenant_id != tenant.pk:
            raise ValidationError({"instance": "The instance belongs to another tenant."})
        return services.asset_job_create(instance=instance, type=tag, user=user).pk

    def start(self, job_id: str) -> bool:
        return self.attempt(services.asset_job_heartbeat, job_id)

    def report(self, job_id: str, *, completion: float | None, message: str | None) -> bool:
        if completion is None:
            return self.attempt(services.asset_job_heartbeat, job_id)
        job = self.load(job_id)
        fraction = max(completion / 100, job.progress_percent)
        return self.attempt(services.asset_job_update, job_id, progress_percent=fraction)

    def complete(self, job_id: str, *, results: Any) -> bool:
        archive = results if isinstance(results, bytes) else None
        return self.attempt(services.asset_job_succeed, job_id, archive=archive)

    def fail(self, job_id: str, *, message: str) -> bool:
        job = self.load(job_id)
        reason = {
            "resource_type": "task",
            "resource_name": job.type,
            "error_code": FAILED_ERROR_CODE,
            "error_msg": message[:REASON_FIELD_MAX_LENGTH],
        }
        return self.attempt(services.asset_job_fail, job_id, reasons=[reason])

    def attempt(self, transition, job_id: str, **changes: Any) -> bool:
        """Apply a service transition; False if the job is no longer running."""
        try:
            transition(self.load(job_id), **changes)
        except services.AssetJobStateError:
            return False
        return True

    def stuck_jobs(self, *, now: datetime) -> list[tuple[str, str]]:
        rows = (
            AssetJob.objects.across_tenants()
            .running()
            .annotate(last_sign=Coalesce("heartbeat_at", "begin_time"))
            .filter(last_sign__lt=now - shortest_timeout(NAME))
            .values_list("pk", "type", "last_sign")[:SCAN_LIMIT]
        )
        return [(pk, kind) for pk, kind, last in rows if last < now - stuck_timeout(NAME, kind)]

    def finished_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        return list(
            AssetJob.objects.across_tenants()
            .finished()
            .filter(end_time__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )

    def purge(self, job_ids: list[str]) -> int:
        return services.asset_job_purge(job_ids=job_ids)


family = AssetJobFamily()
