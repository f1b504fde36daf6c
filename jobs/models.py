"""The abstract tracked job every family's job model extends, and its fail-closed manager."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

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
