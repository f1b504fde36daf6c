"""Canvas progress as the shared job tests drive it (see tests/jobs/drivers.py)."""

from progress import services
from progress.models import Progress
from tests.jobs.drivers import FamilyDriver


class ProgressDriver(FamilyDriver):
    name = "progress"
    error_key = "errors"
    finishing_report = {"workflow_state": "completed", "results": {"k": "v"}}
    refinish_with = {"results": {"k": "other"}}
    accepts = (None, "*/*", "application/json", "application/json+canvas-string-ids")
    search_term = "nightly_export"
    body_names_the_host = True
    negotiates_accept = False  # Canvas answers JSON whatever `Accept` says
    admin_indexes = ("progress_admin_created", "progress_admin_state_created")

    def make(self, tenant, **fields) -> Progress:
        return services.progress_create(
            tenant=tenant, tag="course_batch_update", context_type="Course", context_id=7, **fields
        )

    def build(self, tenant, state: str) -> Progress:
        return Progress(
            tenant=tenant, context_type="Course", context_id=1, tag="nightly_export",
            workflow_state=state, completion=50,
        )  # fmt: skip

    def poll_path(self, job: Progress) -> str:
        return f"/api/v1/progress/{job.pk}"

    def writes(self) -> dict:
        return {
            "start": services.progress_start,
            "update": lambda job: (
                services.progress_start(job),
                services.progress_update(job, completion=42.5, message="half way"),
            ),
            "wait": lambda job: (
                services.progress_start(job),
                services.progress_wait_for_external_tool(job),
            ),
            "complete": lambda job: (
                services.progress_start(job),
                services.progress_complete(job, results={"done": 3}),
            ),
            "fail": lambda job: services.progress_fail(job, message="broken"),
            "cancel": lambda job: services.progress_cancel(job, actor=None, message="stop"),
            "supersede": services.progress_supersede,
        }

    def body_endpoints(self, job: Progress) -> dict:
        path = self.poll_path(job)
        return {
            "create": (
                "POST",
                "/api/v1/progress",
                {"tag": "t", "context_type": "Course", "context_id": 1},
            ),
            "update": (
                "PUT",
                path,
                {
                    "workflow_state": "completed",
                    "completion": 90,
                    "message": "m",
                    "results": {"k": "v"},
                },
            ),
            "cancel": ("POST", f"{path}/cancel", {"message": "stop"}),
        }

    def finish(self, job: Progress) -> None:
        services.progress_fail(job, message="over")


driver = ProgressDriver()
