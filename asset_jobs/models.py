"""ROMA Connect instances and their asset jobs (import, export, delete), with failure reasons."""

from __future__ import annotations

import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from jobs.models import JobManager, JobQuerySet, TrackedJob
from tenancy.models import TenantOwnedModel

# Patterns for `re.fullmatch`: a `$` anchor would also accept a trailing newline.
ROMA_ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"
HEX_ID_PATTERN = r"[0-9a-f]{32}"
REASON_FIELD_MAX_LENGTH = 64
MAX_REASONS_PER_JOB = 10
ARCHIVE_DIRECTORY = "asset_archives"
IMPORT_DIRECTORY = "asset_imports"
# ROMA lets one import or export, and one deletion, run at a time.
TRANSFER_TYPES = ["importAsset", "exportAsset"]

instance_id_validator = RegexValidator(
    rf"\A{ROMA_ID_PATTERN}\Z", "Use 1 to 64 letters, digits, '-' or '_'."
)


def new_hex_id() -> str:
    """Return a fresh ROMA-style id: 32 lowercase hex characters."""
    return uuid.uuid4().hex


class Instance(TenantOwnedModel):
    """A ROMA Connect instance: the scope `/v2/{project_id}/instances/{instance_id}/`."""

    class StatusSpelling(models.TextChoices):
        CLASSIC = "classic", "Running, Success, Failed, Finished (ROMA's 2022 API reference)"
        """The spelling of ROMA Connect's 2022 "Obtaining Job Progress" page."""
        CURRENT = "current", "RUNNING, SUCCEEDED, FAILED (ROMA's current API reference and SDKs)"
        """The spelling of ROMA Connect's current API reference and SDK enums."""

    instance_id = models.CharField(max_length=64, validators=[instance_id_validator])
    name = models.CharField(max_length=200)
    status_spelling = models.CharField(
        max_length=16,
        choices=StatusSpelling.choices,
        default=StatusSpelling.CLASSIC,
        help_text="How this instance's jobs spell their status for API clients.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "instance_id"], name="instance_id_per_tenant")
        ]
        ordering = ["instance_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.instance_id})"


def spelled_status(status: str, spelling: str) -> str:
    """Return a stored status as an instance with `spelling` shows it."""
    if spelling == Instance.StatusSpelling.CURRENT:
        return CURRENT_SPELLING[status]
    return status


class AssetJobQuerySet(JobQuerySet):
    def downloadable(self) -> AssetJobQuerySet:
        """Return successful exports whose package has not been downloaded yet."""
        return self.filter(status=AssetJob.State.SUCCESS, archive_id__isnull=False)


class AssetJob(TrackedJob):
    """An asynchronous asset import, export or deletion in one instance."""

    class Type(models.TextChoices):
        IMPORT = "importAsset", "Import assets"
        """Import applications and tasks from a package."""
        EXPORT = "exportAsset", "Export assets"
        """Export applications and tasks into a downloadable package."""
        DELETE = "deleteAsset", "Delete assets"
        """Delete applications and tasks in bulk."""

    class State(models.TextChoices):
        RUNNING = "Running", "Running"
        """The job is being executed."""
        SUCCESS = "Success", "Success"
        """The job succeeded; an export's package can be downloaded once."""
        FAILED = "Failed", "Failed"
        """The job failed (or was cancelled); its reasons say why."""
        FINISHED = "Finished", "Finished"
        """A successful export whose package has been downloaded."""

    id = models.CharField(primary_key=True, max_length=32, default=new_hex_id, editable=False)
    # No index of its own: the (instance, status) index below serves instance lookups.
    instance = models.ForeignKey(
        Instance, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    type = models.CharField(max_length=16, choices=Type.choices)
    status = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    progress_percent = models.FloatField(default=0.0, help_text="A fraction from 0 to 1.")
    archive_id = models.CharField(max_length=32, unique=True, null=True, blank=True)
    archive = models.FileField(upload_to=ARCHIVE_DIRECTORY, max_length=255, null=True, blank=True)
    upload = models.FileField(
        upload_to=IMPORT_DIRECTORY,
        max_length=255,
        null=True,
        blank=True,
        help_text="The package an import was started with (deleted with the job).",
    )
    exclusive = models.BooleanField(
        default=False,
        help_text="Started through ROMA's import, export or delete API: one import or export, "
        "and one deletion, runs per instance at a time.",
    )
    begin_time = models.DateTimeField(default=timezone.now)
    end_time = models.DateTimeField(null=True, blank=True)

    objects = JobManager.from_queryset(AssetJobQuerySet)()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress_percent__gte=0.0, progress_percent__lte=1.0),
                name="asset_job_progress_is_a_fraction",
            ),
            models.CheckConstraint(
                condition=models.Q(status="Running", end_time__isnull=True)
                | (~models.Q(status="Running") & models.Q(end_time__isnull=False)),
                name="asset_job_end_time_iff_done",
            ),
            models.CheckConstraint(
                condition=models.Q(archive_id__isnull=True)
                | models.Q(status="Success", type="exportAsset"),
                name="asset_job_archive_only_on_successful_export",
            ),
            models.UniqueConstraint(
                fields=["instance"],
                condition=models.Q(exclusive=True, status="Running", type__in=TRANSFER_TYPES),
                name="asset_job_one_running_transfer_per_instance",
            ),
            models.UniqueConstraint(
                fields=["instance"],
                condition=models.Q(exclusive=True, status="Running", type="deleteAsset"),
                name="asset_job_one_running_deletion_per_instance",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "begin_time"], name="asset_job_tenant_status"),
            models.Index(fields=["instance", "status"], name="asset_job_instance_status"),
        ]
        ordering = ["-begin_time", "id"]

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.status})"

    @property
    def is_downloadable(self) -> bool:
        """Return True while the job's package can still be downloaded."""
        return self.status == self.State.SUCCESS and self.archive_id is not None


class AssetJobReason(models.Model):
    """Why an asset job failed, for one application or task."""

    class ResourceType(models.TextChoices):
        APPLICATION = "application", "Application"
        """The failure concerns an application."""
        TASK = "task", "Task"
        """The failure concerns a task (or the job itself)."""

    job = models.ForeignKey(AssetJob, on_delete=models.CASCADE, related_name="reasons")
    resource_type = models.CharField(max_length=16, choices=ResourceType.choices)
    resource_name = models.CharField(max_length=REASON_FIELD_MAX_LENGTH)
    error_code = models.CharField(max_length=REASON_FIELD_MAX_LENGTH)
    error_msg = models.CharField(max_length=REASON_FIELD_MAX_LENGTH)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.error_code} on {self.resource_type} {self.resource_name}"


# The current spelling has no Finished: a downloaded export is still SUCCEEDED (without
# `archive_id`, as in the classic spelling).
CURRENT_SPELLING = {
    AssetJob.State.RUNNING: "RUNNING",
    AssetJob.State.SUCCESS: "SUCCEEDED",
    AssetJob.State.FAILED: "FAILED",
    AssetJob.State.FINISHED: "SUCCEEDED",
}
