"""Demo tracked tasks: what `manage.py demo_tasks` (and `make run`) puts on the queue.

Each sleeps to stand in for real work, so the progress can be watched in the API and admin.
"""

from __future__ import annotations

import time

from jobs.tasks import JobHandle, tracked_task
from progress.models import Progress
from progress.services import progress_cancel


@tracked_task(family="progress", tag="demo_course_copy")
def demo_course_copy(job: JobHandle, *, items: int, seconds_per_item: float) -> dict:
    """Copy `items` course items, reporting after each one."""
    for done in range(1, items + 1):
        time.sleep(seconds_per_item)
        job.report(completion=100 * done / items, message=f"Copied {done} of {items} items.")
    return {"copied": items}


@tracked_task(family="progress", tag="demo_import_that_fails")
def demo_import_that_fails(job: JobHandle, *, seconds: float) -> None:
    """Get a third of the way, then hit an error (the job fails with an error id)."""
    time.sleep(seconds)
    job.report(completion=33, message="Importing.")
    raise ConnectionError("The source system refused the connection.")


@tracked_task(family="progress", tag="demo_export_cancelled")
def demo_export_cancelled(job: JobHandle, *, steps: int, seconds_per_step: float) -> dict:
    """Run until an operator cancels it: here, the demo cancels it itself at step 3."""
    for step in range(1, steps + 1):
        time.sleep(seconds_per_step)
        if step == 3:
            progress = Progress.objects.across_tenants().get(pk=int(job.job_id))
            progress_cancel(progress, actor=None, message="Cancelled by the demo operator.")
        job.report(completion=100 * step / steps, message=f"Exported part {step}.")
    return {"parts": steps}
