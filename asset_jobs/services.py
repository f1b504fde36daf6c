"""Writes to instances and asset jobs: every state change goes through one function here.

Each transition is one conditional UPDATE on the job's current status, so concurrent callers
(a worker finishing, an operator cancelling, two clients downloading) leave exactly one
winner; finished states are terminal and progress never goes backwards. Every change to what a poll
shows replaces the job's poll snapshot.
"""

from __future__ import annotations

import io
import math
import shutil
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from asset_jobs.models import (
    ARCHIVE_DIRECTORY,
    MAX_REASONS_PER_JOB,
    REASON_FIELD_MAX_LENGTH,
    AssetJob,
    AssetJobReason,
    Instance,
    new_hex_id,
)
from asset_jobs.polling import snapshots
from tenancy.models import Tenant

REASON_FIELDS = ("resource_type", "resource_name", "error_code", "error_msg")
CANCELLED_ERROR_CODE = "ROMA.JOBDESK.CANCELLED"
# Packages up to this size are buffered in memory while being handed out; larger ones spill
# to a temporary file, so a big export never has to fit in RAM.
SPOOL_MAX_MEMORY = 8 * 1024 * 1024
COPY_CHUNK_SIZE = 64 * 1024

State = AssetJob.State
# Changes to these alone leave the wire body as it was: no new poll snapshot.
UNSHOWN_FIELDS = frozenset({"heartbeat_at", "updated_at"})


class AssetJobStateError(Exception):
    """The job's current status does not allow the requested transition."""

    def __init__(self, job_id: str, status: str | None, action: str) -> None:
        self.job_id = job_id
        self.status = status
        self.action = action
        super().__init__(f"Cannot {action} asset job {job_id}: its status is {status}.")


class AssetArchiveUnavailable(AssetJobStateError):
    """The job has no package to hand out: never made, already downloaded, or lost."""


@dataclass(frozen=True)
class ArchivePackage:
    """A claimed package: its bytes (positioned at the start), file name and size."""

    file: IO[bytes]
    filename: str
    size: int


def instance_create(*, tenant: Tenant, instance_id: str, name: str) -> Instance:
    """Create a ROMA instance in `tenant`; `instance_id` is unique within the tenant."""
    instance = Instance(tenant=tenant, instance_id=instance_id, name=name)
    instance.full_clean(validate_constraints=False)
    duplicate = ValidationError({"instance_id": f"{tenant} already has an instance {instance_id}."})
    if Instance.objects.for_tenant(tenant).filter(instance_id=instance_id).exists():
        raise duplicate
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:  # a concurrent create won between the check and the insert
        raise duplicate from None
    return instance


def asset_job_create(
    *, instance: Instance, type: str, user: AbstractBaseUser | None = None
) -> AssetJob:
    """Start a Running job of `type` in `instance`, owned by the instance's tenant."""
    if type not in AssetJob.Type.values:
        choices = ", ".join(AssetJob.Type.values)
        raise ValidationError({"type": f"Unknown job type {type!r}; use one of {choices}."})
    return AssetJob.objects.across_tenants().create(
        tenant_id=instance.tenant_id, instance=instance, type=type, user=user
    )


def asset_job_update(job: AssetJob, *, progress_percent: float) -> AssetJob:
    """Report a running job's progress (a fraction 0..1 that never goes backwards)."""
    value = validated_fraction(progress_percent)
    now = timezone.now()
    updated = (
        AssetJob.objects.across_tenants()
        .filter(pk=job.pk, status=State.RUNNING, progress_percent__lte=value)
        .update(progress_percent=value, updated_at=now, heartbeat_at=now)
    )
    if not updated:
        current = current_row(job)
        if current is None or current["status"] != State.RUNNING:
            raise AssetJobStateError(job.pk, current and current["status"], "update")
        raise ValidationError(
            {"progress_percent": f"Progress never goes backwards: it is {current['progress']}."}
        )
    snapshots.changed(job.pk)
    job.progress_percent, job.updated_at = value, now
    return job


def asset_job_heartbeat(job: AssetJob) -> AssetJob:
    """Record that a running job's worker is alive (raises AssetJobStateError otherwise)."""
    transition(job, allowed=State.RUNNING, action="report on", heartbeat_at=timezone.now())
    return job


def asset_job_succeed(job: AssetJob, *, archive: bytes | File | None = None) -> AssetJob:
    """Finish a running job successfully; an export may carry its zip package."""
    archive_id = stored_name = None
    if archive is not None:
        if job.type != AssetJob.Type.EXPORT:
            raise ValidationError({"archive": "Only exportAsset jobs produce a package."})
        archive_id = new_hex_id()
        stored_name = default_storage.save(
            f"{ARCHIVE_DIRECTORY}/{archive_id}.zip", zip_content(archive)
        )
    try:
        transition(
            job,
            allowed=State.RUNNING,
            action="succeed",
            status=State.SUCCESS,
            progress_percent=1.0,
            end_time=timezone.now(),
            archive_id=archive_id,
            archive=stored_name,
        )
    except AssetJobStateError:
        if stored_name is not None:
            default_storage.delete(stored_name)
        raise
    return job


@transaction.atomic
def asset_job_fail(job: AssetJob, *, reasons: Sequence[Mapping[str, str]]) -> AssetJob:
    """Fail a running job with 1 to 10 reasons (each field 1 to 64 characters)."""
    rows = validated_reasons(reasons)
    now = timezone.now()
    transition(job, allowed=State.RUNNING, action="fail", status=State.FAILED, end_time=now)
    AssetJobReason.objects.bulk_create(AssetJobReason(job_id=job.pk, **row) for row in rows)
    return job


def asset_job_cancel(job: AssetJob, *, actor: AbstractBaseUser | None) -> bool:
    """Fail a running job with a reason saying who cancelled it; False if it had finished."""
    try:
        asset_job_fail(job, reasons=[cancellation_reason(job, actor)])
    except AssetJobStateError:
        return False
    return True


def asset_archive_claim(*, job: AssetJob) -> ArchivePackage:
    """Hand out `job`'s package exactly once: the job becomes Finished, the package is deleted.

    The bytes are copied out of storage before the claim, so the package is never lost to a
    failed read, and object storage (which cannot keep a deleted object open) works too.
    """
    if not job.is_downloadable:
        raise AssetArchiveUnavailable(job.pk, job.status, "download the package of")
    stored_name, archive_id = job.archive.name, job.archive_id
    package = read_package(job, stored_name)
    try:
        transition(
            job,
            allowed=State.SUCCESS,
            action="download the package of",
            extra_filter={"archive_id": archive_id},
            status=State.FINISHED,
            archive_id=None,
            archive=None,
        )
    except AssetJobStateError as error:
        package.file.close()
        raise AssetArchiveUnavailable(job.pk, error.status, error.action) from None
    default_storage.delete(stored_name)
    return package


def transition(
    job: AssetJob,
    *,
    allowed: str,
    action: str,
    extra_filter: Mapping[str, object] | None = None,
    **changes: object,
) -> None:
    """Apply `changes` iff the job is still `allowed`, in one conditional UPDATE."""
    changes["updated_at"] = timezone.now()
    updated = (
        AssetJob.objects.across_tenants()
        .filter(pk=job.pk, status=allowed, **(extra_filter or {}))
        .update(**changes)
    )
    if not updated:
        current = current_row(job)
        raise AssetJobStateError(job.pk, current and current["status"], action)
    if set(changes) - UNSHOWN_FIELDS:
        snapshots.changed(job.pk)
    for field, value in changes.items():
        setattr(job, field, value)


def current_row(job: AssetJob) -> dict | None:
    """Return the job's stored status and progress (None if it no longer exists)."""
    return (
        AssetJob.objects.across_tenants()
        .filter(pk=job.pk)
        .values("status", progress=F("progress_percent"))
        .first()
    )


def validated_fraction(value: object) -> float:
    """Return `value` as a float in 0..1, refusing NaN, infinities, booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError({"progress_percent": "Give a number from 0 to 1."})
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValidationError({"progress_percent": f"{value!r} is not a fraction from 0 to 1."})
    return float(value)


def validated_reasons(reasons: object) -> list[dict[str, str]]:
    """Return the reasons as clean rows, or raise a ValidationError saying what is wrong."""
    if isinstance(reasons, str | bytes | Mapping) or not isinstance(reasons, Sequence):
        raise ValidationError({"reasons": "Give a list of reasons."})
    if not 1 <= len(reasons) <= MAX_REASONS_PER_JOB:
        raise ValidationError(
            {"reasons": f"Give 1 to {MAX_REASONS_PER_JOB} reasons, not {len(reasons)}."}
        )
    return [validated_reason(index, reason) for index, reason in enumerate(reasons)]


def validated_reason(index: int, reason: object) -> dict[str, str]:
    """Return one reason as a clean row, or raise a ValidationError naming its problem."""
    if not isinstance(reason, Mapping) or set(reason) != set(REASON_FIELDS):
        raise ValidationError(
            {"reasons": f"Reason {index}: give exactly {', '.join(REASON_FIELDS)}."}
        )
    for field in REASON_FIELDS:
        value = reason[field]
        if not isinstance(value, str) or not 1 <= len(value) <= REASON_FIELD_MAX_LENGTH:
            raise ValidationError(
                {"reasons": f"Reason {index}: {field} must be 1 to 64 characters."}
            )
    if reason["resource_type"] not in AssetJobReason.ResourceType.values:
        raise ValidationError(
            {"reasons": f"Reason {index}: resource_type must be application or task."}
        )
    return {field: reason[field] for field in REASON_FIELDS}


def cancellation_reason(job: AssetJob, actor: AbstractBaseUser | None) -> dict[str, str]:
    """Return the reason recorded on a cancelled job."""
    who = actor.get_username() if actor is not None else "jobdesk"
    message = f"Cancelled by {who}."
    if len(message) > REASON_FIELD_MAX_LENGTH:
        message = message[: REASON_FIELD_MAX_LENGTH - 2] + "…."
    return {
        "resource_type": AssetJobReason.ResourceType.TASK,
        "resource_name": job.type,
        "error_code": CANCELLED_ERROR_CODE,
        "error_msg": message,
    }


def zip_content(archive: bytes | File) -> File:
    """Return the package as a Django File, refusing anything that is not a zip archive."""
    if isinstance(archive, bytes | bytearray):
        archive = ContentFile(bytes(archive))
    if not isinstance(archive, File):
        raise ValidationError({"archive": "Give the package as bytes or a Django File."})
    archive.seek(0)
    is_zip = zipfile.is_zipfile(archive)
    archive.seek(0)
    if not is_zip:
        raise ValidationError({"archive": "The package must be a .zip archive."})
    return archive


def read_package(job: AssetJob, stored_name: str) -> ArchivePackage:
    """Copy a stored package into a spooled temporary file."""
    # Not a `with` block: the file outlives this function; the response closes it.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115
    try:
        with default_storage.open(stored_name, "rb") as source:
            shutil.copyfileobj(source, spool, COPY_CHUNK_SIZE)
    except OSError:
        # Usually a concurrent download won and deleted it; report the status it left.
        spool.close()
        current = current_row(job)
        raise AssetArchiveUnavailable(
            job.pk, current and current["status"], "download the package of"
        ) from None
    size = spool.tell()
    spool.seek(0, io.SEEK_SET)
    return ArchivePackage(file=spool, filename=f"{job.archive_id}.zip", size=size)


def asset_job_purge(*, job_ids: list[str]) -> int:
    """Delete these finished jobs, their reasons and stored packages; return how many jobs."""
    jobs = AssetJob.objects.across_tenants().finished().filter(pk__in=job_ids)
    packages = [name for name in jobs.values_list("archive", flat=True) if name]
    with transaction.atomic():
        AssetJobReason.objects.filter(job__in=jobs).delete()
        deleted = jobs.delete()[0]
        snapshots.changed(*job_ids)
    for name in packages:
        default_storage.delete(name)
    return deleted
