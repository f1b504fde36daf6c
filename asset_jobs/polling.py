"""Poll snapshots of asset jobs (see `tenancy.polling`)."""

from __future__ import annotations

from asset_jobs.models import AssetJob
from asset_jobs.serializers import AssetJobSerializer
from tenancy.polling import JobSnapshots, retry_after


def load(pk: str) -> AssetJob | None:
    jobs = AssetJob.objects.across_tenants().select_related("instance")
    return jobs.prefetch_related("reasons").filter(pk=pk).first()


def describe(job: AssetJob) -> tuple:
    """Return the job's tenant, its body, Retry-After (by job type) and its instance id."""
    wait = retry_after("asset_jobs", job.type) if job.status == AssetJob.State.RUNNING else None
    data = dict(AssetJobSerializer(job).data)
    data["reasons"] = [dict(reason) for reason in data["reasons"]]
    return job.tenant_id, data, wait, (job.instance.instance_id,)


snapshots = JobSnapshots("asset_jobs", load=load, describe=describe)
