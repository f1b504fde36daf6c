"""Canvas progress as a job family: what the core needs to know, declared once."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.urls import get_script_prefix, reverse

from jobs.family import JobFamily, wire_data
from jobs.registry import register
from progress import services
from progress.models import Progress
from progress.serializers import ProgressSerializer

State = Progress.State

PROGRESS_READ = "PROGRESS:READ"
PROGRESS_CANCEL = "PROGRESS:CANCEL"
PROGRESS_WRITE = "PROGRESS:WRITE"
# Canvas' LTI Advantage scope for reading progress; a token must carry it explicitly.
LTI_PROGRESS_SHOW_SCOPE = "https://canvas.instructure.com/lti-ags/progress/scope/show"
ADMIN_CANCEL_MESSAGE = "Canceled by an operator."


class ProgressScope(NamedTuple):
    """What a poll URL may name besides the id: the LTI route's course, and that route."""

    course_id: int | None
    lti_path: str | None


class ProgressFamily(JobFamily):
    """Canvas' Progress objects; a tracked task's `tag` is the progress tag."""

    name = "progress"
    title = "Canvas progress"
    description = "Canvas LMS-compatible Progress API."
    model = Progress
    state_field = "workflow_state"
    pending_states = Progress.PENDING_STATES
    succeeded_states = (State.COMPLETED,)
    # Canvas' API cancel makes a job failed; `canceled` is a job superseded before it ran.
    failed_states = (State.FAILED,)
    cancelled_states = (State.CANCELED,)
    # Queued jobs have no worker yet, and a waiting job waits on an external tool.
    running_states = (State.RUNNING,)
    started_field = "created_at"
    kind_field = "tag"
    progress_field = "completion"
    read_permission = PROGRESS_READ
    cancel_permission = PROGRESS_CANCEL
    write_permission = PROGRESS_WRITE
    token_scopes = frozenset({LTI_PROGRESS_SHOW_SCOPE})
    # Canvas' JSON shows `updated_at`: only a heartbeat leaves the body as it was.
    unshown_fields = frozenset({"heartbeat_at"})
    refused_message = "Cannot {event} progress {job_id}: it is {state}."
    read_view = "progress.views.ProgressDetailView"
    openapi_enums = {"CanvasErrorStatus": "progress.schema.ERROR_STATUSES"}

    def describe(self, progress: Progress) -> tuple[dict, ProgressScope]:
        """Return Canvas' JSON without the request's parts, and the job's LTI course and path.

        URLs are kept relative to the script prefix, which is the polling request's to add (a
        snapshot replaced by a worker has none).
        """
        prefix = get_script_prefix()
        data = wire_data(ProgressSerializer, progress)
        data["url"] = data["url"].removeprefix(prefix)
        lti_path = None
        if progress.course_id is not None:
            kwargs = {"course_id": progress.course_id, "pk": progress.pk}
            lti_path = reverse("progress:lti-show", kwargs=kwargs).removeprefix(prefix)
        return data, ProgressScope(progress.course_id, lti_path)

    def create(self, *, tenant, tag, user, **fields: Any) -> str:
        fields.setdefault("context_type", "Account")
        fields.setdefault("context_id", tenant.pk)
        return str(services.progress_create(tenant=tenant, tag=tag, user=user, **fields).pk)

    def start(self, job_id: str) -> bool:
        return self.attempt(services.progress_start, job_id)

    def report(self, job_id: str, *, completion: float | None, message: str | None) -> bool:
        return self.attempt(
            services.progress_update, job_id, completion=completion, message=message
        )

    def complete(self, job_id: str, *, results: Any) -> bool:
        return self.attempt(services.progress_complete, job_id, results=results)

    def fail(self, job_id: str, *, message: str) -> bool:
        return self.attempt(services.progress_fail, job_id, message=message)

    def cancel(self, job: Progress, *, actor) -> bool:
        return services.progress_cancel(job, actor=actor, message=ADMIN_CANCEL_MESSAGE)

    def rerun_fields(self, job: Progress) -> dict[str, Any]:
        return {
            "context_type": job.context_type,
            "context_id": job.context_id,
            "course_id": job.course_id,
        }


family = register(ProgressFamily())
