"""The three job families, described once so the shared admin tests run against each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from asset_jobs.family import ASSET_JOB_CANCEL, ASSET_JOB_READ
from asset_jobs.models import AssetJob, Instance
from async_status.family import ASYNC_STATUS_READ, ASYNC_STATUS_WRITE
from async_status.models import AsyncStatus
from progress.family import PROGRESS_CANCEL, PROGRESS_READ
from progress.models import Progress


@dataclass(frozen=True)
class JobFamily:
    """One family's job model, its admin URLs and the state values the tests need."""

    name: str
    model: type[Model]
    state_field: str
    started_field: str
    running: str
    succeeded: str
    failed: str

    def url(self, view: str, job: Model | None = None) -> str:
        opts = self.model._meta
        args = [] if job is None else [job.pk]
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)

    def make(
        self, tenant, state: str | None = None, count: int = 1, started: datetime | None = None
    ):
        """Insert `count` jobs of `tenant` in `state` (running by default), oldest first."""
        state = state or self.running
        rows = self.model.objects.bulk_create(
            [self.build(tenant, state) for _ in range(count)], batch_size=500
        )
        if started is not None:
            pks = [row.pk for row in rows]
            self.model.objects.across_tenants().filter(pk__in=pks).update(
                **{self.started_field: started}
            )
        return rows[0] if count == 1 else rows

    def build(self, tenant, state: str) -> Model:
        now = timezone.now()
        ended = None if state == self.running else now
        if self.model is Progress:
            return Progress(
                tenant=tenant, context_type="Course", context_id=1, tag="nightly_export",
                workflow_state=state, completion=50,
            )  # fmt: skip
        if self.model is AsyncStatus:
            return AsyncStatus(tenant=tenant, status=state, message="Nightly export.",
                               end_time=ended)  # fmt: skip
        instance, _ = Instance.objects.across_tenants().get_or_create(
            tenant=tenant, instance_id=f"roma-{tenant.slug}", defaults={"name": "ROMA"}
        )
        return AssetJob(tenant=tenant, instance=instance, type=AssetJob.Type.IMPORT,
                        status=state, end_time=ended, progress_percent=0.5)  # fmt: skip

    def reload(self, job: Model) -> Model:
        return self.model.objects.across_tenants().get(pk=job.pk)

    def state_of(self, job: Model) -> str:
        return getattr(self.reload(job), self.state_field)


FAMILIES = [
    JobFamily("progress", Progress, "workflow_state", "created_at", "running", "completed",
              "failed"),
    JobFamily("async_status", AsyncStatus, "status", "start_time", "PENDING", "SUCCEEDED",
              "FAILED"),
    JobFamily("asset_jobs", AssetJob, "status", "begin_time", "Running", "Success", "Failed"),
]  # fmt: skip

READ = [PROGRESS_READ, ASYNC_STATUS_READ, ASSET_JOB_READ]
# async_status cancels with WRITE (the catalogue has no ASYNC-STATUS:CANCEL).
OPERATE = [*READ, PROGRESS_CANCEL, ASYNC_STATUS_WRITE, ASSET_JOB_CANCEL]


def long_ago() -> datetime:
    return timezone.now() - timedelta(hours=3)
