"""Traffic Ops async statuses: one row per asynchronous job, owned by a tenant."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models import TrackedJob


class AsyncStatus(TrackedJob):
    """The status of one asynchronous job, as Traffic Ops' `async_status` table holds it."""

    class State(models.TextChoices):
        PENDING = "PENDING"
        """The job is running; only its message may change."""
        SUCCEEDED = "SUCCEEDED"
        """The job finished well (terminal)."""
        FAILED = "FAILED"
        """The job finished badly or was cancelled (terminal)."""

    status = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    message = models.TextField(blank=True)
    start_time = models.DateTimeField(default=timezone.now)
    end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "async status"
        verbose_name_plural = "async statuses"
        constraints = [
            # end_time is set exactly when the job finishes; this also pins the status values.
            models.CheckConstraint(
                condition=Q(status="PENDING", end_time__isnull=True)
                | Q(status__in=["SUCCEEDED", "FAILED"], end_time__isnull=False),
                name="async_status_end_time_iff_finished",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "start_time"], name="async_status_tenant_state"
            ),
            models.Index(fields=["tenant", "start_time"], name="async_status_tenant_start"),
        ]

    def __str__(self) -> str:
        return f"async status {self.pk} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.State.PENDING
