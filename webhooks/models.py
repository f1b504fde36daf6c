"""A tenant's webhook endpoints, and the log of what was delivered to them."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from tenancy.models import TenantOwnedManager, TenantOwnedModel, TenantOwnedQuerySet

# What an endpoint may subscribe to: the kinds of change (`jobs.watch.JobChange.kind`) that
# carry a job's new wire body.
EVENTS = ("progress", "finished", "failed", "cancelled")
# How much of a receiver's answer the delivery log keeps.
RESPONSE_EXCERPT_CHARS = 1000


class Endpoint(TenantOwnedModel):
    """A URL of a tenant's that receives the changes of its jobs, signed with its own secret."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    families = models.JSONField(help_text="The job families whose changes it receives.")
    events = models.JSONField(help_text="The kinds of change it receives.")
    is_active = models.BooleanField(default=True)
    encrypted_secret = models.TextField(
        editable=False, help_text="The signing secret, encrypted with JOBDESK_CREDENTIALS_KEYS."
    )
    secret_prefix = models.CharField(
        max_length=16, editable=False, help_text="The secret's first characters."
    )
    consecutive_failures = models.PositiveIntegerField(
        default=0, editable=False, help_text="Deliveries that failed in a row (every attempt)."
    )
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhook_endpoint_active")]

    def __str__(self) -> str:
        return self.url

    def wants(self, family: str, event: str) -> bool:
        """Return True if this endpoint receives `event` changes of `family`'s jobs."""
        return self.is_active and family in self.families and event in self.events


class DeliveryQuerySet(TenantOwnedQuerySet):
    def due(self, now) -> DeliveryQuerySet:
        """Return deliveries waiting for an attempt that is due by `now`."""
        return self.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)


class Delivery(TenantOwnedModel):
    """One change of a job sent to one endpoint: the body, and how its attempts went."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        """Waiting for its first or next attempt."""
        DELIVERED = "delivered", "Delivered"
        """The endpoint answered 2xx."""
        FAILED = "failed", "Failed"
        """Every attempt failed, or the endpoint was disabled or removed meanwhile."""

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="+")
    family = models.CharField(max_length=32)
    job_id = models.CharField(max_length=64)
    event = models.CharField(max_length=16)
    body = models.BinaryField(help_text="The job's wire body, as its family's read returned it.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantOwnedManager.from_queryset(DeliveryQuerySet)()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["tenant", "-created_at"], name="webhook_delivery_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.event} of {self.family} job {self.job_id} to {self.endpoint_id}"


class DeliveryAttempt(models.Model):
    """One POST of a delivery: when, what the endpoint answered, or why it could not."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
