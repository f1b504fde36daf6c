"""Async statuses for tests, made and finished through the services like every other writer."""

from __future__ import annotations

from typing import Any

from async_status.models import AsyncStatus
from async_status.services import async_status_create, async_status_finish


def make_async_status(
    tenant,
    status: str = AsyncStatus.State.PENDING,
    *,
    message: str = "Async job has started.",
    **fields: Any,
) -> AsyncStatus:
    """Create a job of `tenant` and, unless `status` is PENDING, finish it in `status`."""
    job = async_status_create(tenant=tenant, message=message, **fields)
    if status != AsyncStatus.State.PENDING:
        succeeded = status == AsyncStatus.State.SUCCEEDED
        async_status_finish(job, succeeded=succeeded, message=f"Job {status}.")
    return job
