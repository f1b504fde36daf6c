"""Poll snapshots of async statuses (see `tenancy.polling`)."""

from __future__ import annotations

from async_status.models import AsyncStatus
from async_status.serializers import AsyncStatusSerializer
from tenancy.polling import JobSnapshots, retry_after


def load(pk: int) -> AsyncStatus | None:
    return AsyncStatus.objects.across_tenants().filter(pk=pk).first()


def describe(job: AsyncStatus) -> tuple:
    """Return the job's tenant, its `{"response": ...}` body and Retry-After."""
    wait = retry_after("async_status", None) if job.status == AsyncStatus.State.PENDING else None
    return job.tenant_id, {"response": dict(AsyncStatusSerializer(job).data)}, wait, ()


snapshots = JobSnapshots("async_status", load=load, describe=describe)
