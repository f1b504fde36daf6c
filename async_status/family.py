"""Traffic Ops async statuses as a job family: what the core needs to know, declared once.

An async status has no completion or results: a tracked task's report without a message
writes "N% complete.", and a string returned by the task becomes the final message.
"""

from __future__ import annotations

from typing import Any

from async_status import services
from async_status.models import AsyncStatus
from async_status.serializers import AsyncStatusSerializer
from jobs.family import JobFamily, wire_data
from jobs.registry import register

State = AsyncStatus.State

ASYNC_STATUS_READ = "ASYNC-STATUS:READ"
ASYNC_STATUS_WRITE = "ASYNC-STATUS:WRITE"


class AsyncStatusFamily(JobFamily):
    """Traffic Ops' async statuses; a tracked task's tag only names the job in messages."""

    name = "async_status"
    title = "Traffic Ops async statuses"
    description = "Traffic Ops-compatible asynchronous job status (API 4.0, 4.1, 5.0)."
    model = AsyncStatus
    state_field = "status"
    pending_states = (State.PENDING,)
    succeeded_states = (State.SUCCEEDED,)
    failed_states = (State.FAILED,)
    started_field = "start_time"
    ended_field = "end_time"
    read_permission = ASYNC_STATUS_READ
    # The catalogue has no ASYNC-STATUS:CANCEL; cancelling rewrites the job, which is WRITE.
    cancel_permission = ASYNC_STATUS_WRITE
    write_permission = ASYNC_STATUS_WRITE
    # As the seed document says: async status is for admin and operations only.
    role_grants = {"operations": (ASYNC_STATUS_READ,)}
    refused_message = "async status {job_id} has already finished as {state}."
    read_view = "async_status.views.AsyncStatusResourceView"
    openapi_enums = {"TrafficOpsAlertLevel": "async_status.schema.ALERT_LEVELS"}

    def describe(self, job: AsyncStatus) -> tuple[dict, None]:
        """Return the job's `{"response": ...}` body."""
        return {"response": wire_data(AsyncStatusSerializer, job)}, None

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

    def cancel(self, job: AsyncStatus, *, actor) -> bool:
        return services.async_status_cancel(job, actor=actor)


family = register(AsyncStatusFamily())
