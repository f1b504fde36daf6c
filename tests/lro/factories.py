"""Operations for tests, made and finished through the services like every other writer."""

from __future__ import annotations

from lro.models import Operation
from lro.services import operation_cancel, operation_create, operation_fail, operation_finish

State = Operation.State
ABORTED = 10


def make_operation(tenant, state: str = State.RUNNING, **metadata) -> Operation:
    """Create an operation of `tenant` with `metadata` and, unless RUNNING, end it in `state`."""
    op = operation_create(tenant=tenant, metadata=metadata or {"step": "started"})
    if state == State.SUCCEEDED:
        operation_finish(op, response={"rows": 3})
    elif state == State.FAILED:
        operation_fail(op, code=ABORTED, message="Lost a race.")
    elif state == State.CANCELLED:
        operation_cancel(op)
    return Operation.objects.across_tenants().select_related("tenant").get(pk=op.pk)
