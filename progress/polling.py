"""Poll snapshots of progresses (see `tenancy.polling`)."""

from __future__ import annotations

from progress.models import Progress
from progress.serializers import ProgressSerializer
from tenancy.polling import JobSnapshots, retry_after


def load(pk: int) -> Progress | None:
    return Progress.objects.across_tenants().filter(pk=pk).first()


def describe(progress: Progress) -> tuple:
    """Return the job's tenant, request-independent JSON, Retry-After and LTI course."""
    wait = retry_after("progress", progress.tag) if progress.is_pending else None
    data = dict(ProgressSerializer(progress, context={}).data)
    return progress.tenant_id, data, wait, (progress.course_id,)


snapshots = JobSnapshots("progress", load=load, describe=describe)
