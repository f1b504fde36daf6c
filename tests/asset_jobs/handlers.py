"""Tracked tasks the ROMA operation tests configure as handlers (module level, for workers)."""

import io
import json
import zipfile

from django.core.files.storage import default_storage

from jobs.tasks import JobHandle, tracked_task

HANDLERS = {
    "exportAsset": "tests.asset_jobs.handlers.export_assets",
    "importAsset": "tests.asset_jobs.handlers.import_assets",
    "deleteAsset": "tests.asset_jobs.handlers.delete_assets",
}


@tracked_task(family="asset_jobs", tag="exportAsset")
def export_assets(job: JobHandle, *, apps: list[str], tasks: list[str]) -> bytes:
    job.report(completion=50)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"apps": apps, "tasks": tasks}))
    return buffer.getvalue()


@tracked_task(family="asset_jobs", tag="importAsset")
def import_assets(
    job: JobHandle, *, package: str, type: str, prefix: str, datasource_overwrite: bool
) -> None:
    with default_storage.open(package, "rb") as stored, zipfile.ZipFile(stored) as archive:
        names = archive.namelist()
    # What the handler saw, for the test to read back.
    default_storage.save(
        f"seen/{job.job_id}.json",
        io.BytesIO(json.dumps([names, type, prefix, datasource_overwrite]).encode()),
    )


@tracked_task(family="asset_jobs", tag="deleteAsset")
def delete_assets(job: JobHandle, *, apps: list[str], tasks: list[str]) -> None:
    job.report(completion=100)


@tracked_task(family="progress", tag="exportAsset")
def not_an_asset_job(job: JobHandle) -> None:
    """A tracked task of another family: not a valid handler."""
