"""Google long-running operations as the shared job tests drive them (tests/jobs/drivers.py)."""

from http import HTTPStatus

from django.utils import timezone

from lro import services
from lro.models import CANCELLED_CODE, Operation
from tests.jobs.drivers import FamilyDriver

State = Operation.State
ABORTED = 10


class OperationDriver(FamilyDriver):
    name = "lro"
    error_key = "error"
    finishing_report = {"response": {"rows": 1}}
    refinish_with = {"response": {"rows": 2}}
    search_term = "quota"
    negotiates_accept = False  # Google's APIs answer JSON whatever is asked
    accepts = (None, "*/*", "application/json", "text/html")
    body_reads = ("wait",)
    admin_indexes = ("lro_admin_created", "lro_admin_state_created")
    cancelled = State.CANCELLED
    body_too_large_status = HTTPStatus.BAD_REQUEST
    length_required_status = HTTPStatus.BAD_REQUEST

    def make(self, tenant, **fields) -> Operation:
        return services.operation_create(tenant=tenant, metadata={"step": "started"}, **fields)

    def build(self, tenant, state: str) -> Operation:
        ended = None if state == State.RUNNING else timezone.now()
        error_code = {State.FAILED: ABORTED, State.CANCELLED: CANCELLED_CODE}.get(state)
        return Operation(
            tenant=tenant,
            state=state,
            metadata={"step": "import"},
            response={} if state == State.SUCCEEDED else None,
            error_code=error_code,
            error_message="The import quota is used up." if error_code else "",
            ended_at=ended,
        )

    def poll_path(self, op: Operation) -> str:
        return f"/v1/projects/{op.tenant.project_id}/operations/{op.pk}"

    def writes(self) -> dict:
        return {
            "update": lambda op: services.operation_update(op, metadata={"step": "half way"}),
            "finish": lambda op: services.operation_finish(op, response={"rows": 3}),
            "fail": lambda op: services.operation_fail(op, code=ABORTED, message="Aborted."),
            "cancel": lambda op: services.operation_cancel(op),
        }

    def body_endpoints(self, op: Operation) -> dict:
        path = self.poll_path(op)
        name = path.removeprefix("/v1/")
        return {
            "create": ("POST", path.rsplit("/", 1)[0], {"metadata": {"step": "one"}}),
            "update": ("PATCH", path, {"metadata": {"step": "two"}, "response": {"rows": 1}}),
            "cancel": ("POST", f"{path}:cancel", {"name": name}),
            "wait": ("POST", f"{path}:wait", {"name": name, "timeout": "0s"}),
        }

    def finish(self, op: Operation) -> None:
        services.operation_finish(op, response={"rows": 3})


driver = OperationDriver()
