"""Helpers shared by the async status tests."""

from async_status.models import AsyncStatus

VERSIONS = ["4.0", "4.1", "5.0"]


def snapshot(job: AsyncStatus) -> tuple:
    """Return what a request must never change about `job`."""
    row = AsyncStatus.objects.across_tenants().get(pk=job.pk)
    return row.status, row.message, row.end_time, row.updated_at
