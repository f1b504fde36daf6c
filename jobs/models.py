"""The abstract tracked job every family's job model extends, and its fail-closed manager; the
timeline of any family's job, the tracked runs behind jobs made by tracked tasks, and the
workers seen running them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenancy.models import TenantOwnedManager, TenantOwnedModel, TenantOwnedQuerySet

if TYPE_CHECKING:
    from jobs.family import JobFamily


class JobQuerySet(TenantOwnedQuerySet):
    """State queries of any family's jobs, read from its registered description."""

    @property
    def family(self) -> JobFamily:
        from jobs.registry import families

        return families.for_model(self.model)

    def pending(self) -> JobQuerySet:
        """Return jobs that have not finished yet."""
        return self.filter(**{f"{self.family.state_field}__in": self.family.pending_states})

    def finished(self) -> JobQuerySet:
        """Return jobs in a terminal state."""
        return self.exclude(**{f"{self.family.state_field}__in": self.family.pending_states})

    def in_states(self, states: tuple[str, ...]) -> JobQuerySet:
        return self.filter(**{f"{self.family.state_field}__in": states})

    def newest_first(self) -> JobQuerySet:
        """Return jobs newest first, with the id breaking ties so pages are stable."""
        return self.order_by(f"-{self.family.started_field}", "-pk")


class JobManager(TenantOwnedManager.from_queryset(JobQuerySet)):
    """The fail-closed tenant manager (see `TenantOwnedManager`) with the state queries."""


class TrackedJob(TenantOwnedModel):
    """One asynchronous job of a tenant: who started it, when it last changed, its heartbeat.

    A family's model adds its own state field and wire fields, and is described by the
    family's `JobFamily`; every write goes through `jobs.transitions.transition`.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who started the job.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="When its worker last showed a sign of life."
    )

    objects = JobManager()

    class Meta:
        abstract = True


class JobEvent(TenantOwnedModel):
    """One step in a job's life, of any family: written by the transition that made it.

    The job is named generically (its family and its id as text), so one table holds every
    family's timeline; the tenant scopes it like the job. Retention deletes a job's events
    with the job.
    """

    class Kind(models.TextChoices):
        CREATED = "created"
        """The job was recorded (queued, or running from the start)."""
        STARTED = "started"
        """A worker picked it up: it entered a running state, or showed its first sign of life."""
        PROGRESS = "progress"
        """It passed another step of `PROGRESS_STEP` percent (not every report is recorded)."""
        WAITING = "waiting"
        """It left its running state to wait, e.g. for an external tool."""
        COMPLETED = "completed"
        """It finished successfully."""
        FAILED = "failed"
        """It finished unsuccessfully."""
        CANCELLED = "cancelled"
        """It was cancelled (its wire state may say failed, as Canvas' and Traffic Ops' do)."""
        REAPED = "reaped"
        """The reaper failed it: its worker stopped showing signs of life."""
        CHANGED = "changed"
        """Another change of state, e.g. a ROMA export whose package was downloaded."""

    family = models.CharField(max_length=32)
    job_id = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32)
    progress = models.FloatField(null=True, blank=True, help_text="Percent done, 0 to 100.")
    message = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The user who made the change, when one did.",
    )
    actor_name = models.CharField(
        max_length=200, blank=True, help_text="Who or what made the change: a user or a worker."
    )

    class Meta:
        indexes = [
            # A job's events in order, and retention's delete of a job's events.
            models.Index(fields=["family", "job_id", "at"], name="job_event_job_at"),
            # The dashboard: finishes per hour, cancellations, by family.
            models.Index(fields=["family", "kind", "at"], name="job_event_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.family} job {self.job_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class TrackedRunQuerySet(TenantOwnedQuerySet):
    def of_job(self, family: str, job_id: object) -> TrackedRunQuerySet:
        return self.filter(family=family, job_id=str(job_id))


class TrackedRun(TenantOwnedModel):
    """How a tracked job was enqueued (its task and arguments), and why it failed, if it did.

    Written by `enqueue_tracked` and by the worker running it (its heartbeat, and why the job
    failed); read by the admin and the reaper.
    The traceback is private: no API, wire body or snapshot shows it.
    """

    family = models.CharField(max_length=32)
    job_id = models.CharField(max_length=64)
    task_path = models.CharField(max_length=255)
    backend = models.CharField(max_length=32, blank=True)
    queue_name = models.CharField(max_length=32, blank=True)
    priority = models.IntegerField(default=0)
    arguments = models.JSONField(
        null=True, blank=True, help_text='{"args": [...], "kwargs": {...}}; null: not JSON.'
    )
    rerun_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rerun",
        help_text="The run this one repeats (each run is run again at most once).",
    )
    enqueued_at = models.DateTimeField(default=timezone.now)
    failed_at = models.DateTimeField(null=True, blank=True)
    error_id = models.CharField(max_length=32, blank=True)
    exception_type = models.CharField(max_length=255, blank=True)
    exception_message = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    task_result_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=64, blank=True)
    beat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its worker last showed a sign of life while running it (empty after).",
    )

    objects = TenantOwnedManager.from_queryset(TrackedRunQuerySet)()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["family", "job_id"], name="tracked_run_per_job")
        ]
        indexes = [
            # The reaper's look for lost workers: only runs being run have a beat.
            models.Index(
                fields=["beat_at"],
                name="tracked_run_beat_at",
                condition=models.Q(beat_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_path} as {self.family} job {self.job_id}"

    @property
    def args(self) -> list:
        return (self.arguments or {}).get("args", [])

    @property
    def kwargs(self) -> dict:
        return (self.arguments or {}).get("kwargs", {})


class TaskWorker(models.Model):
    """A task worker seen running tracked tasks, and when it last showed a sign of life."""

    backend = models.CharField(max_length=32, help_text="The task backend's alias.")
    name = models.CharField(max_length=64, help_text="The worker's id.")
    last_seen = models.DateTimeField()
    running = models.CharField(max_length=120, blank=True, help_text="The job it runs now.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["backend", "name"], name="task_worker_per_backend")
        ]
        indexes = [models.Index(fields=["last_seen"], name="task_worker_last_seen")]

    def __str__(self) -> str:
        return f"{self.backend} worker {self.name}"
