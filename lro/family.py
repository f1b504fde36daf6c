"""Google long-running operations as a job family: what the core needs to know, declared once.

A tracked task's report writes `progressPercent` and `statusMessage` into the operation's
metadata (the names Google's own operation metadata uses); a returned JSON object is the
response (any other value is wrapped as `{"result": value}`); an exception fails the
operation with code 13 INTERNAL. The task's tag names nothing on the wire.
"""

from __future__ import annotations

from typing import Any

from jobs.family import JobFamily, wire_data
from jobs.models import JobQuerySet
from jobs.registry import register
from lro import services
from lro.models import Operation
from lro.serializers import OperationSerializer

State = Operation.State

OPERATION_READ = "OPERATION:READ"
OPERATION_CANCEL = "OPERATION:CANCEL"
OPERATION_WRITE = "OPERATION:WRITE"
# google.rpc.Code INTERNAL: what a task that raised, or a lost worker, ends with.
INTERNAL = 13


class OperationFamily(JobFamily):
    """Google's long-running operations; the URL names the operation's project too."""

    name = "lro"
    title = "long-running operations"
    description = "Google long-running operations (AIP-151, google.longrunning.Operations)."
    model = Operation
    state_field = "state"
    pending_states = (State.RUNNING,)
    succeeded_states = (State.SUCCEEDED,)
    failed_states = (State.FAILED,)
    cancelled_states = (State.CANCELLED,)
    # A failed operation's google.rpc.Status message is what its timeline says.
    message_field = "error_message"
    started_field = "created_at"
    ended_field = "ended_at"
    read_permission = OPERATION_READ
    cancel_permission = OPERATION_CANCEL
    write_permission = OPERATION_WRITE
    refused_message = "Cannot {event} operation {job_id}: it is {state}."
    read_view = "lro.views.OperationResourceView"
    openapi_enums = {
        "GoogleRpcCode": "lro.schema.CANONICAL_CODES",
        "StructAnyType": "lro.serializers.STRUCT_TYPES",
    }

    # The operation's name holds its tenant's project id.
    revision_fields = (*JobFamily.revision_fields, "tenant__project_id")

    def wire_jobs(self) -> JobQuerySet:
        return self.jobs().select_related("tenant")

    def describe(self, op: Operation) -> tuple[dict, str]:
        """Return the Operation JSON and the project its URL must name."""
        return wire_data(OperationSerializer, op), op.tenant.project_id

    def create(self, *, tenant, tag, user, metadata: dict | None = None) -> str:
        return str(services.operation_create(tenant=tenant, user=user, metadata=metadata).pk)

    def start(self, job_id: str) -> bool:
        return self.attempt(services.operation_heartbeat, job_id)

    def report(self, job_id: str, *, completion: float | None, message: str | None) -> bool:
        if completion is None and message is None:
            return self.attempt(services.operation_heartbeat, job_id)
        try:
            metadata = dict(self.load(job_id).metadata)
        except Operation.DoesNotExist:  # deleted by a client meanwhile
            return False
        if completion is not None:
            metadata["progressPercent"] = completion
        if message is not None:
            metadata["statusMessage"] = message
        return self.attempt(services.operation_update, job_id, metadata=metadata)

    def complete(self, job_id: str, *, results: Any) -> bool:
        response = results if isinstance(results, dict | None) else {"result": results}
        return self.attempt(services.operation_finish, job_id, response=response)

    def fail(self, job_id: str, *, message: str) -> bool:
        return self.attempt(services.operation_fail, job_id, code=INTERNAL, message=message)

    def cancel(self, op: Operation, *, actor) -> bool:
        return services.operation_cancel(op, actor=actor)


family = register(OperationFamily())
