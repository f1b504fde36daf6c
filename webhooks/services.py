"""Writes to webhook endpoints and deliveries. Views, the admin, tasks and tests call these.

The write path of jobs only ever reaches `deliveries_enqueue`, after its commit (through
`jobs.watch.change_published`): it records one delivery per subscribed endpoint and enqueues
their first attempt, in a constant number of queries; the HTTP requests happen in a task
worker (`webhooks.tasks.deliver`), never in the request or transaction that changed the job.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs.registry import families
from jobs.watch import JobChange
from tenancy import secrets as stored_secrets
from tenancy.models import Tenant
from webhooks import bodies, sending
from webhooks.models import EVENTS, Delivery, DeliveryAttempt, Endpoint
from webhooks.signing import new_secret

logger = logging.getLogger(__name__)

# A claimed attempt that never reported back (its worker died) is due again this much after
# its request would have timed out.
LEASE_MARGIN_SECONDS = 60
# The sweep (`manage.py requeue_webhooks`, run by the scheduler) enqueues again the attempts
# overdue by this long, at most this many at a time.
SWEEP_GRACE_SECONDS = 60
SWEEP_LIMIT = 1000


def endpoint_create(
    *,
    tenant: Tenant,
    url: str,
    families: list[str],
    events: list[str],
    description: str = "",
    is_active: bool = True,
) -> tuple[Endpoint, str]:
    """Register an endpoint; return it with its signing secret, which is stored only encrypted.

    The caller has validated `url`, `families` and `events` (the serializer or the admin form).
    """
    secret = new_secret()
    endpoint = Endpoint.objects.create(
        tenant=tenant,
        url=url,
        families=families,
        events=events,
        description=description,
        is_active=is_active,
        encrypted_secret=stored_secrets.encrypt(secret),
        secret_prefix=secret[:12],
    )
    return endpoint, secret


def endpoint_update(endpoint: Endpoint, **changes) -> Endpoint:
    """Change an endpoint; turning it on again clears why it was disabled."""
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if changes.get("is_active"):
        endpoint.consecutive_failures, endpoint.disabled_at, endpoint.disabled_reason = 0, None, ""
    endpoint.save()
    return endpoint


def endpoint_secrets_reencrypt() -> int:
    """Encrypt every endpoint's secret again with the first credentials key; return how many."""
    done = 0
    rows = Endpoint.objects.across_tenants().order_by("pk").values_list("pk", "encrypted_secret")
    for pk, stored in list(rows):
        Endpoint.objects.across_tenants().filter(pk=pk, encrypted_secret=stored).update(
            encrypted_secret=stored_secrets.reencrypt(stored)
        )
        done += 1
    return done


def endpoint_delete(endpoint: Endpoint) -> None:
    """Remove an endpoint and its delivery log."""
    endpoint.delete()


# -- Enqueueing, after a job's change commits ------------------------------------------------


def deliveries_enqueue(change: JobChange) -> list[int]:
    """Record a delivery of `change` to each endpoint of its tenant that wants it; enqueue them.

    One query when no endpoint wants it; otherwise a constant number whatever the endpoints.
    """
    if change.kind not in EVENTS or change.tenant_id is None or change.family not in families:
        return []
    endpoints = [
        endpoint
        for endpoint in Endpoint.objects.across_tenants().filter(
            tenant_id=change.tenant_id, is_active=True
        )
        if endpoint.wants(change.family, change.kind)
    ]
    if not endpoints:
        return []
    family = families[change.family]
    snapshot = bodies.snapshot_of(family, change.job_id)
    if snapshot is None or snapshot.tenant_id != change.tenant_id:
        return []  # deleted since; a job never reaches another tenant's endpoints
    body = bodies.wire_body(family, snapshot)
    now = timezone.now()
    deliveries = Delivery.objects.across_tenants().bulk_create(
        Delivery(
            tenant_id=change.tenant_id,
            endpoint=endpoint,
            family=change.family,
            job_id=change.job_id,
            event=change.kind,
            body=body,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
    )
    ids = [delivery.pk for delivery in deliveries]
    enqueue_attempts(ids)
    return ids


def enqueue_attempts(delivery_ids: list[int], *, run_after: datetime | None = None) -> None:
    """Enqueue the attempts of these deliveries (at `run_after`), once the transaction commits.

    A backend that cannot defer a task (`immediate`) runs it in the caller, which would send
    from the write path: the sweep sends those deliveries instead.
    """
    from webhooks.tasks import deliver

    if not deliver.get_backend().supports_defer:
        return
    task = deliver if run_after is None else deliver.using(run_after=run_after)
    transaction.on_commit(lambda: task.enqueue(delivery_ids))


def deliveries_requeue_overdue(*, limit: int = SWEEP_LIMIT) -> int:
    """Enqueue attempts due longer ago than the grace period, now; return how many.

    Their tasks were lost (a worker killed during an attempt, an enqueue that failed after
    the deliveries were recorded) or never enqueued (a backend that cannot defer tasks); a
    task that is merely late finds its attempt taken and sends nothing twice.
    """
    from webhooks.tasks import deliver

    cutoff = timezone.now() - timedelta(seconds=SWEEP_GRACE_SECONDS)
    overdue = Delivery.objects.across_tenants().due(cutoff).order_by("next_attempt_at")
    ids = list(overdue.values_list("pk", flat=True)[:limit])
    if ids:
        transaction.on_commit(lambda: deliver.enqueue(ids))
    return len(ids)


def deliveries_purge(*, now: datetime | None = None) -> int:
    """Delete the deliveries that ended over `JOBDESK_WEBHOOKS_RETENTION_DAYS` ago, with their
    attempts; return how many. Pending deliveries are kept whatever their age."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.JOBDESK_WEBHOOKS_RETENTION_DAYS)
    ended = Delivery.objects.across_tenants().exclude(status=Delivery.Status.PENDING)
    _, deleted = ended.filter(finished_at__lt=cutoff).delete()
    return deleted.get(Delivery._meta.label, 0)


# -- Attempting a delivery, in a worker -------------------------------------------------------


def delivery_attempt(delivery_id: int) -> Delivery | None:
    """Make the delivery's due attempt; return it, or None if it was not due (or is done).

    The attempt is claimed by one conditional UPDATE, so two workers (a retried task, the
    sweep) never send the same attempt twice.
    """
    delivery = claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return finish(delivery, Delivery.Status.FAILED, error="The endpoint is not active.")
    try:
        outcome = sending.send(delivery, stored_secrets.decrypt(endpoint.encrypted_secret))
    except stored_secrets.SecretUnreadable as unreadable:
        outcome = sending.Outcome(error=f"Not sent: {unreadable}")
    if outcome.ok:
        return delivered(delivery, outcome)
    return failed_attempt(delivery, outcome)


def claim(delivery_id: int) -> Delivery | None:
    """Take the delivery's due attempt for this worker; None if it is not due or not pending."""
    now = timezone.now()
    lease = now + timedelta(
        seconds=settings.JOBDESK_WEBHOOKS_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS
    )
    deliveries = Delivery.objects.across_tenants()
    if (
        not deliveries.due(now)
        .filter(pk=delivery_id)
        .update(attempts=F("attempts") + 1, next_attempt_at=lease)
    ):
        return None
    return deliveries.select_related("endpoint").get(pk=delivery_id)


def delivered(delivery: Delivery, outcome: sending.Outcome) -> Delivery:
    log_attempt(delivery, outcome, next_attempt_at=None)
    Endpoint.objects.across_tenants().filter(pk=delivery.endpoint_id).update(consecutive_failures=0)
    return finish(delivery, Delivery.Status.DELIVERED, status_code=outcome.status_code)


def failed_attempt(delivery: Delivery, outcome: sending.Outcome) -> Delivery:
    """Schedule the next attempt, or give the delivery up after the last one."""
    if delivery.attempts >= settings.JOBDESK_WEBHOOKS_MAX_ATTEMPTS:
        log_attempt(delivery, outcome, next_attempt_at=None)
        finish(
            delivery,
            Delivery.Status.FAILED,
            status_code=outcome.status_code,
            error=outcome.error,
        )
        endpoint_failed(delivery.endpoint)
        return delivery
    next_at = timezone.now() + timedelta(seconds=retry_delay(delivery.attempts, outcome))
    log_attempt(delivery, outcome, next_attempt_at=next_at)
    Delivery.objects.across_tenants().filter(pk=delivery.pk).update(
        next_attempt_at=next_at, last_status_code=outcome.status_code, last_error=outcome.error
    )
    delivery.next_attempt_at = next_at
    delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
    enqueue_attempts([delivery.pk], run_after=next_at)
    return delivery


def retry_delay(attempts: int, outcome: sending.Outcome) -> float:
    """Seconds until the next attempt: the receiver's Retry-After, else doubling from the base."""
    ceiling = settings.JOBDESK_WEBHOOKS_RETRY_MAX_SECONDS
    if outcome.retry_after is not None:
        return min(outcome.retry_after, ceiling)
    return min(settings.JOBDESK_WEBHOOKS_RETRY_BASE_SECONDS * 2 ** (attempts - 1), ceiling)


def log_attempt(
    delivery: Delivery, outcome: sending.Outcome, *, next_attempt_at: datetime | None
) -> None:
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        status_code=outcome.status_code,
        response_excerpt=outcome.excerpt,
        error=outcome.error,
        next_attempt_at=next_attempt_at,
    )


def finish(
    delivery: Delivery, status: str, *, status_code: int | None = None, error: str = ""
) -> Delivery:
    """Mark the delivery done (delivered or given up): it is never attempted again."""
    changes = {
        "status": status,
        "next_attempt_at": None,
        "finished_at": timezone.now(),
        "last_status_code": status_code,
        "last_error": error,
    }
    Delivery.objects.across_tenants().filter(pk=delivery.pk).update(**changes)
    for name, value in changes.items():
        setattr(delivery, name, value)
    return delivery


def endpoint_failed(endpoint: Endpoint) -> None:
    """Count a delivery that failed for good; disable the endpoint after too many in a row."""
    endpoints = Endpoint.objects.across_tenants().filter(pk=endpoint.pk)
    endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
    limit = settings.JOBDESK_WEBHOOKS_DISABLE_AFTER
    reason = f"Disabled after {limit} deliveries in a row failed every attempt."
    disabled = endpoints.filter(is_active=True, consecutive_failures__gte=limit).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason
    )
    if disabled:
        logger.warning(
            "Webhook endpoint %s of tenant %s disabled: %s", endpoint.pk, endpoint.tenant_id, reason
        )
