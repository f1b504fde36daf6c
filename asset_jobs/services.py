"""Writes to instances and asset jobs: every state change goes through one function here.

Each transition is one conditional UPDATE on the job's current status (`jobs.transitions`),
so concurrent callers (a worker finishing, an operator cancelling, two clients downloading)
leave exactly one winner; finished states are terminal and progress never goes backwards.
Every change to what a poll shows replaces the job's poll snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks.base import Task

from asset_jobs.archives import ArchivePackage, read_package, zip_content
from asset_jobs.models import (
    ARCHIVE_DIRECTORY,
    IMPORT_DIRECTORY,
    MAX_REASONS_PER_JOB,
    REASON_FIELD_MAX_LENGTH,
    TRANSFER_TYPES,
    AssetJob,
    AssetJobReason,
    Instance,
    new_hex_id,
)
from jobs import watch
from jobs.registry import families
from jobs.tasks import enqueue_tracked
from jobs.timeline import insert_new_job
from jobs.transitions import TransitionRefused, transition
from tenancy.models import Tenant

REASON_FIELDS = ("resource_type", "resource_name", "error_code", "error_msg")
CANCELLED_ERROR_CODE = "ROMA.JOBDESK.CANCELLED"
DOWNLOAD = "download the package of"

State = AssetJob.State
RUNNING = [State.RUNNING]


class AssetJobBusy(Exception):
    """An import or export (or a deletion) already runs in the instance (ROMA.10012)."""

    def __init__(self, instance: Instance, type: str) -> None:
        kind = "deletion" if type == AssetJob.Type.DELETE else "import or export"
        super().__init__(f"An asset {kind} job is already running in {instance.instance_id}.")


class AssetArchiveUnavailable(TransitionRefused):
    """The job has no package to hand out: never made, already downloaded, or lost."""

    def __init__(self, job: AssetJob, status: str | None) -> None:
        super().__init__(family="asset_jobs", job_id=job.pk, event=DOWNLOAD, state=status)


def instance_create(
    *, tenant: Tenant, instance_id: str, name: str, status_spelling: str | None = None
) -> Instance:
    """Create a ROMA instance in `tenant`; `instance_id` is unique within the tenant."""
    instance = Instance(tenant=tenant, instance_id=instance_id, name=name)
    if status_spelling is not None:
        instance.status_spelling = status_spelling
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


@transaction.atomic
def instance_set_status_spelling(*, instance: Instance, status_spelling: str) -> Instance:
    """Make `instance`'s jobs spell their status this way from the next poll on."""
    if status_spelling not in Instance.StatusSpelling.values:
        choices = ", ".join(Instance.StatusSpelling.values)
        raise ValidationError(
            {"status_spelling": f"Unknown spelling {status_spelling!r}; use one of {choices}."}
        )
    Instance.objects.for_tenant(instance.tenant).filter(pk=instance.pk).update(
        status_spelling=status_spelling
    )
    instance.status_spelling = status_spelling
    # Every job's wire body (and ETag) shows the spelling: no cached snapshot may outlive it.
    job_ids = AssetJob.objects.for_tenant(instance.tenant).filter(instance=instance)
    families.for_model(AssetJob).snapshots.invalidate(job_ids.values_list("pk", flat=True))
    return instance


def asset_job_create(
    *,
    instance: Instance,
    type: str,
    user: AbstractBaseUser | None = None,
    exclusive: bool = False,
    upload: str | None = None,
) -> AssetJob:
    """Start a Running job of `type` in `instance`, owned by the instance's tenant.

    An `exclusive` job (one started through ROMA's import, export or delete API) is refused
    with AssetJobBusy while another of its kind runs in the instance: the database's unique
    index decides, so two racing creates leave exactly one job.
    """
    if type not in AssetJob.Type.values:
        choices = ", ".join(AssetJob.Type.values)
        raise ValidationError({"type": f"Unknown job type {type!r}; use one of {choices}."})
    try:
        with transaction.atomic():
            job = AssetJob(
                tenant_id=instance.tenant_id,
                instance=instance,
                type=type,
                user=user,
                exclusive=exclusive,
                upload=upload,
            )
            return insert_new_job(job)
    except IntegrityError:
        if exclusive:
            raise AssetJobBusy(instance, type) from None
        raise


def asset_job_launch(
    *,
    instance: Instance,
    type: str,
    handler: Task,
    user: AbstractBaseUser | None = None,
    arguments: Mapping[str, Any] | None = None,
    package: File | None = None,
) -> AssetJob:
    """Start a job of `type` that the tracked task `handler` runs (ROMA's import, export, delete).

    The job is exclusive (see `asset_job_create`). An import's `package` is stored first and
    handed to the handler by its storage name, as `package`; the handler is enqueued once the
    transaction commits and reports through the job.
    """
    if running_exclusive(instance, type).exists():
        raise AssetJobBusy(instance, type)
    arguments = dict(arguments or {})
    stored = None
    if package is not None:
        stored = default_storage.save(f"{IMPORT_DIRECTORY}/{new_hex_id()}.zip", package)
        arguments["package"] = stored
    try:
        job_id = enqueue_tracked(
            handler,
            tenant=instance.tenant,
            user=user,
            job={"instance": instance, "exclusive": True, "upload": stored},
            **arguments,
        )
    except BaseException:
        if stored is not None:
            default_storage.delete(stored)
        raise
    return AssetJob.objects.for_tenant(instance.tenant).select_related("instance").get(pk=job_id)


def running_exclusive(instance: Instance, type: str):
    """Return the running exclusive jobs that a new exclusive job of `type` would wait for."""
    kinds = TRANSFER_TYPES if type in TRANSFER_TYPES else [type]
    return AssetJob.objects.for_tenant(instance.tenant).filter(
        instance=instance, exclusive=True, status=State.RUNNING, type__in=kinds
    )


def asset_job_update(job: AssetJob, *, progress_percent: float) -> AssetJob:
    """Report a running job's progress (a fraction 0..1 that never goes backwards)."""
    value = validated_fraction(progress_percent)
    try:
        return transition(
            job,
            event="update",
            allowed=RUNNING,
            extra_filter={"progress_percent__lte": value},
            progress_percent=value,
            heartbeat_at=timezone.now(),
        )
    except TransitionRefused as refused:
        if refused.state != State.RUNNING:
            raise
    raise ValidationError(
        {"progress_percent": f"Progress never goes backwards: it is {job.progress_percent}."}
    )


def asset_job_heartbeat(job: AssetJob) -> AssetJob:
    """Record that a running job's worker is alive (TransitionRefused once it finished)."""
    return transition(job, event="report on", allowed=RUNNING, heartbeat_at=timezone.now())


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
            event="succeed",
            allowed=RUNNING,
            to=State.SUCCESS,
            progress_percent=1.0,
            end_time=timezone.now(),
            archive_id=archive_id,
            archive=stored_name,
        )
    except TransitionRefused:
        if stored_name is not None:
            default_storage.delete(stored_name)
        raise
    return job


def asset_job_fail(job: AssetJob, *, reasons: Sequence[Mapping[str, str]]) -> AssetJob:
    """Fail a running job with 1 to 10 reasons (each field 1 to 64 characters)."""
    return _fail_with_reasons(job, reasons=reasons, event="fail")


def asset_job_cancel(job: AssetJob, *, actor: AbstractBaseUser | None) -> bool:
    """Fail a running job with a reason saying who cancelled it; False if it had finished."""
    try:
        _fail_with_reasons(job, reasons=[cancellation_reason(job, actor)], event="cancel")
    except TransitionRefused:
        return False
    return True


@transaction.atomic
def _fail_with_reasons(job: AssetJob, *, reasons: Sequence[Mapping[str, str]], event: str):
    """Make a running job Failed with its reasons; `event` tells a cancel from a failure."""
    rows = validated_reasons(reasons)
    now = timezone.now()
    transition(job, event=event, allowed=RUNNING, to=State.FAILED, end_time=now)
    AssetJobReason.objects.bulk_create(AssetJobReason(job_id=job.pk, **row) for row in rows)
    return job


def asset_archive_claim(*, job: AssetJob) -> ArchivePackage:
    """Hand out `job`'s package exactly once: the job becomes Finished, the package is deleted.

    The bytes are copied out of storage before the claim, so the package is never lost to a
    failed read, and object storage (which cannot keep a deleted object open) works too.
    """
    if not job.is_downloadable:
        raise AssetArchiveUnavailable(job, job.status)
    stored_name, archive_id = job.archive.name, job.archive_id
    try:
        package = read_package(stored_name, f"{archive_id}.zip")
    except OSError:
        # Usually a concurrent download won and deleted it; report the status it left.
        job.refresh_from_db(fields=["status"])
        raise AssetArchiveUnavailable(job, job.status) from None
    try:
        transition(
            job,
            event=DOWNLOAD,
            allowed=[State.SUCCESS],
            extra_filter={"archive_id": archive_id},
            to=State.FINISHED,
            archive_id=None,
            archive=None,
        )
    except TransitionRefused as refused:
        package.file.close()
        raise AssetArchiveUnavailable(job, refused.state) from None
    default_storage.delete(stored_name)
    return package


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


def asset_job_purge(*, job_ids: list[str]) -> int:
    """Delete these finished jobs, their reasons, packages and uploads; return how many jobs."""
    jobs = AssetJob.objects.across_tenants().finished().filter(pk__in=job_ids)
    rows = list(jobs.values_list("pk", "tenant_id", "archive", "upload"))
    packages = [name for *_, archive, upload in rows for name in (archive, upload) if name]
    family = families.for_model(AssetJob)
    with transaction.atomic():
        deleted = (
            jobs.filter(pk__in=[row[0] for row in rows]).delete()[1].get(AssetJob._meta.label, 0)
        )
        family.snapshots.changed(*job_ids)
        watch.jobs_gone(family, [(pk, tenant_id) for pk, tenant_id, *_ in rows])
    for name in packages:
        default_storage.delete(name)
    return deleted
