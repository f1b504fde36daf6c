"""Factories for ROMA instances and asset jobs; jobs reach their states through the services."""

import io
import zipfile

import factory

from asset_jobs.models import AssetJob, Instance
from asset_jobs.services import (
    asset_archive_claim,
    asset_job_create,
    asset_job_fail,
    asset_job_succeed,
    asset_job_update,
    instance_create,
)
from tests.factories import TenantFactory

State = AssetJob.State

REASON = {
    "resource_type": "application",
    "resource_name": "myApp",
    "error_code": "ROMA.00000101",
    "error_msg": "some error details here",
}


class InstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instance

    tenant = factory.SubFactory(TenantFactory)
    instance_id = factory.Sequence(lambda n: f"instance-{n}")
    name = factory.LazyAttribute(lambda instance: f"ROMA {instance.instance_id}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return instance_create(**kwargs)


def make_zip(files: dict[str, str] | None = None) -> bytes:
    """Return a small, real zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (files or {"manifest.json": '{"apps": ["myApp"]}'}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def make_job(
    instance: Instance,
    state: str = State.RUNNING,
    *,
    type: str | None = None,
    user=None,
    progress: float | None = None,
    archive: bytes | None = None,
) -> AssetJob:
    """Return a job of `instance` brought to `state` through the services."""
    default_type = (
        AssetJob.Type.EXPORT if state in (State.SUCCESS, State.FINISHED) else AssetJob.Type.IMPORT
    )
    job = asset_job_create(instance=instance, type=type or default_type, user=user)
    if progress is not None:
        asset_job_update(job, progress_percent=progress)
    if state == State.FAILED:
        asset_job_fail(job, reasons=[REASON])
    elif state == State.SUCCESS:
        asset_job_succeed(job, archive=archive)
    elif state == State.FINISHED:
        asset_job_succeed(job, archive=archive or make_zip())
        asset_archive_claim(job=job).file.close()
    return job


def make_export_with_package(instance: Instance, content: bytes | None = None) -> AssetJob:
    """Return a successful export whose package is waiting to be downloaded."""
    return make_job(
        instance, State.SUCCESS, type=AssetJob.Type.EXPORT, archive=content or make_zip()
    )


def reload(job: AssetJob) -> AssetJob:
    """Return a fresh copy of `job` from the database."""
    return AssetJob.objects.across_tenants().get(pk=job.pk)
