"""Traffic Ops async statuses as the shared job tests drive them (see tests/jobs/drivers.py)."""

from django.utils import timezone

from async_status import services
from async_status.models import AsyncStatus
from tests.jobs.drivers import FamilyDriver


class AsyncStatusDriver(FamilyDriver):
    name = "async_status"
    error_key = "alerts"
    finishing_report = {"status": "SUCCEEDED", "message": "done"}
    refinish_with = {"message": "other"}
    accepts = (None, "*/*", "text/html")  # Traffic Ops answers JSON whatever is asked
    search_term = "Nightly"
    negotiates_accept = False
    body_reads = ("login",)
    admin_indexes = ("async_status_admin_start", "async_status_admin_state_start")

    def make(self, tenant, **fields) -> AsyncStatus:
        return services.async_status_create(tenant=tenant, message="started", **fields)

    def build(self, tenant, state: str) -> AsyncStatus:
        ended = None if state == AsyncStatus.State.PENDING else timezone.now()
        return AsyncStatus(tenant=tenant, status=state, message="Nightly export.", end_time=ended)

    def poll_path(self, job: AsyncStatus) -> str:
        return f"/api/5.0/async_status/{job.pk}"

    def writes(self) -> dict:
        return {
            "update": lambda job: services.async_status_update(job, message="half way"),
            "succeed": lambda job: services.async_status_finish(
                job, succeeded=True, message="done"
            ),
            "fail": lambda job: services.async_status_finish(job, succeeded=False, message="no"),
            "cancel": lambda job: services.async_status_cancel(job, actor=None),
        }

    def body_endpoints(self, job: AsyncStatus) -> dict:
        return {
            "create": ("POST", "/api/5.0/async_status", {"message": "started"}),
            "update": ("PUT", self.poll_path(job), {"status": "SUCCEEDED", "message": "done"}),
            "login": ("POST", "/api/5.0/user/login", {"u": "nobody", "p": "wrong"}),
        }

    def finish(self, job: AsyncStatus) -> None:
        services.async_status_finish(job, succeeded=True, message="done")


driver = AsyncStatusDriver()
