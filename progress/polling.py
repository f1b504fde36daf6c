"""Poll snapshots of progresses (see `tenancy.polling`)."""

from __future__ import annotations

from django.urls import get_script_prefix, reverse

from progress.models import Progress
from progress.serializers import ProgressSerializer
from tenancy.polling import JobSnapshots, retry_after


def load(pk: int) -> Progress | None:
    return Progress.objects.across_tenants().filter(pk=pk).first()


def describe(progress: Progress) -> tuple:
    """Return the job's tenant, request-independent JSON, Retry-After and LTI course and path.

    URLs are kept relative to the script prefix, which is the polling request's to add (a
    snapshot replaced by a worker has none).
    """
    wait = retry_after("progress", progress.tag) if progress.is_pending else None
    prefix = get_script_prefix()
    data = dict(ProgressSerializer(progress, context={}).data)
    data["url"] = data["url"].removeprefix(prefix)
    lti_path = None
    if progress.course_id is not None:
        kwargs = {"course_id": progress.course_id, "pk": progress.pk}
        lti_path = reverse("progress:lti-show", kwargs=kwargs).removeprefix(prefix)
    return progress.tenant_id, data, wait, (progress.course_id, lti_path)


snapshots = JobSnapshots("progress", load=load, describe=describe)
