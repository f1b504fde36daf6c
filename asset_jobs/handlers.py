"""Which tracked task runs each type of job started through ROMA's import, export and delete.

jobdesk does not hold a ROMA instance's applications and tasks, so a deployment names, per
job type, a tracked task of its own (`JOBDESK_ASSET_JOB_HANDLERS`, e.g. `{"exportAsset":
"myapp.tasks.export_assets"}`) made with `@tracked_task(family="asset_jobs",
tag="exportAsset")`. The route creates the job and enqueues the task, which reports progress
through its `JobHandle`; an export's task returns the zip package (bytes or a File). A type
with no handler is answered ROMA.12002.

The task is called with these keyword arguments: for `exportAsset` and `deleteAsset`, `apps`
and `tasks` (lists of ids); for `importAsset`, `package` (the storage name of the uploaded
zip, in Django's default storage), `type` (`AddNew` or `Merge`), `prefix` and
`datasource_overwrite`.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string
from django_tasks.base import Task

from asset_jobs.models import AssetJob


def job_handler(job_type: str) -> Task | None:
    """Return the tracked task that runs jobs of `job_type`, or None if none is configured."""
    path = settings.JOBDESK_ASSET_JOB_HANDLERS.get(job_type)
    return None if path is None else import_string(path)


def check_handlers(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Each configured handler is a tracked task of this family, tagged with its job type."""
    errors = []
    for job_type, path in settings.JOBDESK_ASSET_JOB_HANDLERS.items():
        problem = handler_problem(job_type, path)
        if problem:
            message = f"JOBDESK_ASSET_JOB_HANDLERS[{job_type!r}]: {problem}"
            errors.append(checks.Error(message, id="asset_jobs.E001"))
    return errors


def handler_problem(job_type: str, path: str) -> str | None:
    if job_type not in AssetJob.Type.values:
        return f"{job_type!r} is not a job type ({', '.join(AssetJob.Type.values)})."
    try:
        handler = import_string(path)
    except ImportError as error:
        return f"cannot import {path!r}: {error}"
    spec = getattr(getattr(handler, "func", None), "tracked", None)
    if spec is None or spec.family != "asset_jobs" or spec.tag != job_type:
        return (
            f"{path!r} must be a task made with "
            f'@tracked_task(family="asset_jobs", tag="{job_type}").'
        )
    return None
