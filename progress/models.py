"""Canvas-style progress of an asynchronous job, owned by one tenant."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from jobs.models import TrackedJob


class Progress(TrackedJob):
    """One asynchronous job's progress, as Canvas' Progress API reports it."""

    class State(models.TextChoices):
        QUEUED = "queued"
        """Created; no worker has picked the job up yet."""
        RUNNING = "running"
        """A worker is processing the job."""
        WAITING_FOR_EXTERNAL_TOOL = "waiting_for_external_tool"
        """The job handed work to an external tool and waits for its answer."""
        COMPLETED = "completed"
        """Finished successfully (terminal); completion is 100."""
        FAILED = "failed"
        """Finished unsuccessfully or cancelled through the API (terminal)."""
        CANCELED = "canceled"
        """Dropped before it started, e.g. replaced by a newer job (terminal)."""

    PENDING_STATES = (State.QUEUED, State.RUNNING, State.WAITING_FOR_EXTERNAL_TOOL)
    FINISHED_STATES = (State.COMPLETED, State.FAILED, State.CANCELED)

    context_type = models.CharField(max_length=255, help_text='e.g. "Account", "Course".')
    context_id = models.BigIntegerField()
    course_id = models.BigIntegerField(
        null=True, blank=True, help_text="The course whose LTI tools may read this job."
    )
    tag = models.CharField(
        max_length=255, help_text='The kind of operation, e.g. "course_batch_update".'
    )
    completion = models.FloatField(null=True, blank=True, help_text="Percent done, 0 to 100.")
    workflow_state = models.CharField(max_length=32, choices=State.choices, default=State.QUEUED)
    message = models.TextField(null=True, blank=True)  # noqa: DJ001 - Canvas reports null, not ""
    results = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "progresses"
        indexes = [
            models.Index(
                fields=["tenant", "workflow_state", "created_at"],
                name="progress_tenant_state_created",
            ),
            models.Index(fields=["tenant", "created_at", "id"], name="progress_tenant_created"),
            models.Index(fields=["tag"], name="progress_tag"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(completion__isnull=True) | Q(completion__gte=0, completion__lte=100),
                name="progress_completion_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tag} #{self.pk} ({self.workflow_state})"

    @property
    def is_pending(self) -> bool:
        """Return True while the job may still change (queued, running or waiting)."""
        return self.workflow_state in self.PENDING_STATES
