"""Demo handlers of ROMA's import, export and delete: what `make run` configures.

jobdesk holds no ROMA assets; a deployment names its own handlers in
JOBDESK_ASSET_JOB_HANDLERS (`asset_jobs.handlers`). These stand in for real work, reporting
progress step by step so it can be watched, and the export returns a real zip listing what
was asked for.
"""

from __future__ import annotations

import io
import json
import time
import zipfile

from django.core.files.storage import default_storage

from jobs.tasks import JobHandle, tracked_task

# What `make run` sets JOBDESK_ASSET_JOB_HANDLERS to (the Makefile's DEMO_ASSET_JOB_HANDLERS).
DEMO_HANDLERS = {
    "importAsset": "asset_jobs.tasks.demo_import_assets",
    "exportAsset": "asset_jobs.tasks.demo_export_assets",
    "deleteAsset": "asset_jobs.tasks.demo_delete_assets",
}
# Seconds each step takes, so a poller sees the job run.
STEP_SECONDS = 1.0
STEPS = 4


def work(job: JobHandle, what: str) -> None:
    """Take STEPS steps of STEP_SECONDS, reporting progress after each."""
    for step in range(1, STEPS + 1):
        time.sleep(STEP_SECONDS)
        job.report(completion=100 * step / STEPS, message=f"{what}: step {step} of {STEPS}.")


@tracked_task(family="asset_jobs", tag="exportAsset")
def demo_export_assets(job: JobHandle, *, apps: list[str], tasks: list[str]) -> bytes:
    """Export the named applications and tasks: a zip with a manifest and one file each."""
    work(job, "Exporting")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps({"apps": apps, "tasks": tasks}, indent=2))
        for app in apps:
            archive.writestr(f"apps/{app}.json", json.dumps({"id": app}))
        for task in tasks:
            archive.writestr(f"tasks/{task}.json", json.dumps({"id": task}))
    return buffer.getvalue()


@tracked_task(family="asset_jobs", tag="importAsset")
def demo_import_assets(
    job: JobHandle, *, package: str, type: str, prefix: str, datasource_overwrite: bool
) -> None:
    """Read the uploaded package's entries (nothing is imported anywhere)."""
    with default_storage.open(package, "rb") as stored, zipfile.ZipFile(stored) as archive:
        entries = len(archive.infolist())
    work(job, f"Importing {entries} entries ({type})")


@tracked_task(family="asset_jobs", tag="deleteAsset")
def demo_delete_assets(job: JobHandle, *, apps: list[str], tasks: list[str]) -> None:
    """Delete the named applications and tasks (nothing is deleted anywhere)."""
    work(job, f"Deleting {len(apps)} applications and {len(tasks)} tasks")
