"""ROMA Connect asset jobs as a job family: what the core needs to know, declared once.

A tracked task's tag is the job type (`importAsset`, `exportAsset`, `deleteAsset`);
`enqueue_tracked` needs `job={"instance": instance}`. An export task may return its zip
package as bytes or a Django File. ROMA's import, export and delete routes start jobs run by
the tracked tasks named in JOBDESK_ASSET_JOB_HANDLERS (`asset_jobs.handlers`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File

from asset_jobs import services
from asset_jobs.models import REASON_FIELD_MAX_LENGTH, AssetJob, AssetJobReason
from asset_jobs.serializers import AssetJobSerializer
from jobs.family import JobFamily, wire_data
from jobs.models import JobQuerySet
from jobs.registry import register

State = AssetJob.State

ASSET_JOB_READ = "ASSET-JOB:READ"
ASSET_JOB_CANCEL = "ASSET-JOB:CANCEL"
ASSET_JOB_WRITE = "ASSET-JOB:WRITE"
FAILED_ERROR_CODE = "ROMA.JOBDESK.FAILED"


class AssetJobFamily(JobFamily):
    """ROMA's asset jobs, Running from creation; the URL names the job's instance too."""

    name = "asset_jobs"
    title = "ROMA asset jobs"
    description = "ROMA Connect-compatible asset jobs."
    model = AssetJob
    state_field = "status"
    pending_states = (State.RUNNING,)
    # Finished is a successful export whose package was downloaded.
    succeeded_states = (State.SUCCESS, State.FINISHED)
    failed_states = (State.FAILED,)
    started_field = "begin_time"
    ended_field = "end_time"
    kind_field = "type"
    progress_field = "progress_percent"
    progress_full = 1.0
    read_permission = ASSET_JOB_READ
    cancel_permission = ASSET_JOB_CANCEL
    write_permission = ASSET_JOB_WRITE
    refused_message = "Cannot {event} asset job {job_id}: its status is {state}."
    read_view = "asset_jobs.views.AssetJobViewSet"

    # The body spells its status as its instance says, and the URL names the instance; its
    # reasons come with the failure.
    revision_fields = (
        *JobFamily.revision_fields,
        "instance__status_spelling",
        "instance__instance_id",
    )

    def wire_jobs(self) -> JobQuerySet:
        return self.jobs().select_related("instance").prefetch_related("reasons")

    def describe(self, job: AssetJob) -> tuple[dict, str]:
        """Return the job's body and the id of the instance its URL must name."""
        data = wire_data(AssetJobSerializer, job)
        data["reasons"] = [dict(reason) for reason in data["reasons"]]
        return data, job.instance.instance_id

    def create(self, *, tenant, tag, user, instance, exclusive=False, upload=None) -> str:
        if instance.tenant_id != tenant.pk:
            raise ValidationError({"instance": "The instance belongs to another tenant."})
        return services.asset_job_create(
            instance=instance, type=tag, user=user, exclusive=exclusive, upload=upload
        ).pk

    def start(self, job_id: str) -> bool:
        return self.attempt(services.asset_job_heartbeat, job_id)

    def report(self, job_id: str, *, completion: float | None, message: str | None) -> bool:
        if completion is None:
            return self.attempt(services.asset_job_heartbeat, job_id)
        job = self.load(job_id)
        fraction = max(completion / 100, job.progress_percent)
        try:
            return self.attempt(services.asset_job_update, job_id, progress_percent=fraction)
        except ValidationError:
            if self.load(job_id).progress_percent < fraction:
                raise  # a bad value, not a report overtaken by a concurrent one
            # Another report got further since the job was read: as Canvas' reports do, this
            # one keeps the progress stored, and still counts as a sign of life.
            return self.attempt(services.asset_job_heartbeat, job_id)

    def complete(self, job_id: str, *, results: Any) -> bool:
        archive = results if isinstance(results, bytes | File) else None
        return self.attempt(services.asset_job_succeed, job_id, archive=archive)

    def fail(self, job_id: str, *, message: str) -> bool:
        job = self.load(job_id)
        reason = {
            "resource_type": AssetJobReason.ResourceType.TASK,
            "resource_name": job.type,
            "error_code": FAILED_ERROR_CODE,
            "error_msg": message[:REASON_FIELD_MAX_LENGTH],
        }
        return self.attempt(services.asset_job_fail, job_id, reasons=[reason])

    def cancel(self, job: AssetJob, *, actor) -> bool:
        return services.asset_job_cancel(job, actor=actor)

    def rerun_fields(self, job: AssetJob) -> dict[str, Any]:
        return {"instance": job.instance}

    def purge(self, job_ids: list[str]) -> int:
        """Delete these finished jobs, their reasons and their stored packages."""
        return services.asset_job_purge(job_ids=job_ids)


family = register(AssetJobFamily())
