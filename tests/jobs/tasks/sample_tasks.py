"""Tracked tasks the integration tests enqueue (module level, so workers can import them)."""

import os
import time
from pathlib import Path

from jobs.tasks import JobHandle, tracked_task
from progress.models import Progress
from progress.services import progress_cancel
from tests.asset_jobs.factories import make_zip
from tests.jobs.drivers import drivers


def note(path: str, line: str) -> None:
    """Append `line` to the file at `path`: how a test sees what the function did."""
    with Path(path).open("a") as file:
        file.write(line + "\n")


@tracked_task(family="progress", tag="count")
def count_to(job: JobHandle, steps: int, trail: str) -> dict:
    for step in range(1, steps + 1):
        job.report(completion=100 * step / steps, message=f"step {step}")
        note(trail, f"step {step}")
    return {"counted": steps}


@tracked_task(family="progress", tag="explode")
def explode(job: JobHandle) -> None:
    job.report(completion=10)
    raise RuntimeError("secret connection string")


@tracked_task(family="progress", tag="cancel_midway")
def cancelled_midway(job: JobHandle, steps: int, cancel_at: int, trail: str) -> dict:
    for step in range(1, steps + 1):
        if step == cancel_at:
            # An operator cancels while the function runs.
            progress = Progress.objects.across_tenants().get(pk=int(job.job_id))
            progress_cancel(progress, actor=None, message="Stopped by an operator.")
        job.report(completion=100 * step / steps)
        note(trail, f"step {step}")
    return {"counted": steps}


@tracked_task(family="async_status", tag="renewal")
def renew(job: JobHandle) -> str:
    job.report(completion=50)
    return "Renewal complete."


@tracked_task(family="asset_jobs", tag="exportAsset")
def export(job: JobHandle, manifest: str) -> bytes:
    job.report(completion=50)
    return make_zip({"manifest.json": manifest})


@tracked_task(family="progress", tag="hang")
def hang(job: JobHandle) -> None:
    job.report(completion=1, message="Working.")
    # Simulates endless work: the test kills the worker running this.
    while True:
        time.sleep(0.05)


@tracked_task(family="progress", tag="stopped")
def stopped_by_signal(job: JobHandle, signum: int, trail: str) -> dict:
    """Stand in for a worker told to stop (Ctrl-C, SIGTERM) while this function runs."""
    job.report(completion=30, message="Working.")
    try:
        os.kill(os.getpid(), signum)
        note(trail, "went on after the signal")
    finally:
        note(trail, "cleaned up")
    return {"done": True}


@tracked_task(family="progress", tag="forced")
def forced_exit(job: JobHandle) -> None:
    """Stand in for a worker whose second signal forces it out with SystemExit."""
    job.report(completion=30)
    raise SystemExit(1)


def failing_task_of(name: str, tag: str):
    """Return a tracked task of family `name` that reports 10 %, then raises."""

    def fail(job: JobHandle, note: str = "") -> None:
        job.report(completion=10, message="Importing.")
        raise ConnectionRefusedError(f"The source refused the connection. {note}".strip())

    # Module level under its own name, so workers import it as tests...sample_tasks.<name>.
    fail.__name__ = fail.__qualname__ = f"fail_as_{name}"
    globals()[fail.__name__] = tracked_task(family=name, tag=tag)(fail)
    return globals()[fail.__name__]


# One failing task per registered family: the shared tests fail a tracked job of each.
FAILING = {driver.name: failing_task_of(driver.name, driver.tracked_tag) for driver in drivers()}
