"""Google long-running operations (AIP-151): one row per operation, owned by a tenant.

The wire resource `google.longrunning.Operation` is `{name, metadata, done, error | response}`;
the row keeps what it needs to render one: the state (running, or how it ended), the
producer's metadata and response (the values of `google.protobuf.Struct`s), and the
`google.rpc.Status` of a failed or cancelled operation.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models import TrackedJob

# google.rpc.Code: 1 CANCELLED ... 16 UNAUTHENTICATED; 0 (OK) is not an error.
CANCELLED_CODE = 1
MAX_ERROR_CODE = 16


class Operation(TrackedJob):
    """One long-running operation of a tenant; `name` is its resource name."""

    class State(models.TextChoices):
        RUNNING = "RUNNING"
        """Not done yet: only its metadata may change."""
        SUCCEEDED = "SUCCEEDED"
        """Done with a `response` (terminal)."""
        FAILED = "FAILED"
        """Done with an `error` the producer reported (terminal)."""
        CANCELLED = "CANCELLED"
        """Done with `error.code` 1 CANCELLED (terminal)."""

    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    metadata = models.JSONField(default=dict, blank=True, help_text="The producer's metadata.")
    response = models.JSONField(null=True, blank=True, help_text="The result, once succeeded.")
    error_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="google.rpc.Code of a failed or cancelled operation."
    )
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "long-running operation"
        constraints = [
            models.CheckConstraint(
                condition=Q(state="RUNNING", ended_at__isnull=True)
                | Q(state__in=["SUCCEEDED", "FAILED", "CANCELLED"], ended_at__isnull=False),
                name="lro_ended_at_iff_done",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["RUNNING", "SUCCEEDED"], error_code__isnull=True)
                | Q(state="FAILED", error_code__gte=1, error_code__lte=MAX_ERROR_CODE)
                | Q(state="CANCELLED", error_code=CANCELLED_CODE),
                name="lro_error_code_iff_failed",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "created_at"], name="lro_tenant_state"),
            models.Index(fields=["tenant", "created_at"], name="lro_tenant_created"),
            # A superuser's admin list spans every tenant: these serve its order and filter.
            models.Index(fields=["created_at", "id"], name="lro_admin_created"),
            models.Index(fields=["state", "created_at", "id"], name="lro_admin_state_created"),
        ]

    def __str__(self) -> str:
        return f"operation {self.pk} ({self.state})"

    @property
    def name(self) -> str:
        """The resource name, `projects/<project_id>/operations/<id>` (reads the tenant)."""
        return operation_name(self.tenant.project_id, self.pk)

    @property
    def done(self) -> bool:
        return self.state != self.State.RUNNING


def operation_name(project_id: str, operation_id: object) -> str:
    """Return the resource name of operation `operation_id` of project `project_id`."""
    return f"projects/{project_id}/operations/{operation_id}"
