"""`Idempotency-Key` for producer creates: a retried create returns the first create's job.

The key is stored with the job it made, unique per (tenant, family, key), in the same
transaction as the job: a concurrent retry blocks on the unique index, then loses with an
IntegrityError and returns the winner's job. Keys expire after `JOBDESK_IDEMPOTENCY_KEY_TTL`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenancy.models import IdempotencyKey, Tenant

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255


class InvalidIdempotencyKey(ValueError):
    """The header is empty, too long, or not printable ASCII."""


class IdempotencyKeyReused(Exception):
    """The key was already used for a different request; `job_id` is the job it made."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__("This Idempotency-Key was already used with a different request.")


@dataclass(frozen=True)
class Outcome:
    """The job a create made (or had made before, `created` False on a retry)."""

    job_id: str
    created: bool


def key_from(meta: dict) -> str | None:
    """Return the request's `Idempotency-Key`, None if absent; refuse malformed keys."""
    key = meta.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        )
    return key


def fingerprint(*parts: object) -> str:
    """Return a digest of what identifies a create request (path, body)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def ttl() -> timedelta:
    """Return how long a key is remembered."""
    return timedelta(seconds=settings.JOBDESK_IDEMPOTENCY_KEY_TTL)


def create_once(
    *, tenant: Tenant, family: str, key: str | None, digest: str, create: Callable[[], str]
) -> Outcome:
    """Run `create` (returning the new job id) unless `key` already made a job."""
    if key is None:
        return Outcome(create(), created=True)
    expire(tenant=tenant, family=family, key=key)
    previous = remembered(tenant=tenant, family=family, key=key, digest=digest)
    if previous is not None:
        return previous
    try:
        with transaction.atomic():
            job_id = create()
            IdempotencyKey.objects.create(
                tenant=tenant, family=family, key=key, fingerprint=digest, job_id=job_id
            )
    except IntegrityError:
        previous = remembered(tenant=tenant, family=family, key=key, digest=digest)
        if previous is None:
            raise
        return previous
    return Outcome(job_id, created=True)


def remembered(*, tenant: Tenant, family: str, key: str, digest: str) -> Outcome | None:
    """Return the job `key` made, raising if it was made by a different request."""
    row = IdempotencyKey.objects.filter(tenant=tenant, family=family, key=key).first()
    if row is None:
        return None
    if row.fingerprint != digest:
        raise IdempotencyKeyReused(row.job_id)
    return Outcome(row.job_id, created=False)


def expire(*, tenant: Tenant, family: str, key: str) -> None:
    """Forget `key` if it is older than the TTL, so it can be used again."""
    cutoff = timezone.now() - ttl()
    IdempotencyKey.objects.filter(
        tenant=tenant, family=family, key=key, created_at__lt=cutoff
    ).delete()


def purge_expired(*, batch_size: int = 1000) -> int:
    """Delete expired keys in batches of `batch_size`; return how many were deleted."""
    cutoff = timezone.now() - ttl()
    deleted = 0
    while True:
        ids = list(
            IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]
