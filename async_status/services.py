"""The only writers of async status rows: create, update the message, finish, cancel.

Every transition is one conditional UPDATE on a PENDING row, so concurrent writers (a job
finishing while an operator cancels it) leave exactly one winner and a finished job is never
rewritten. Every change to what a poll shows replaces the job's poll snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from async_status.models import AsyncStatus
from async_status.polling import snapshots
from tenancy.models import Tenant

State = AsyncStatus.State
# Changes to these alone leave the wire body as it was: no new poll snapshot.
UNSHOWN_FIELDS = frozenset({"heartbeat_at", "updated_at"})


class AsyncStatusNotPending(Exception):
    """The job has already finished; `status` is the state it finished in."""

    def __init__(self, job: AsyncStatus, status: str) -> None:
        self.job = job
        self.status = status
        super().__init__(f"{job} has already finished as {status}.")


def _check_message(message: object) -> str:
    if not isinstance(message, str):
        raise TypeError(f"message must be a string, not {type(message).__name__}.")
    return message


def _transition(job: AsyncStatus, **changes) -> AsyncStatus:
    """Apply `changes` to `job` if it is still PENDING, in one conditional UPDATE."""
    changes["updated_at"] = timezone.now()
    updated = (
        AsyncStatus.objects.across_tenants()
        .filter(pk=job.pk, status=State.PENDING)
        .update(**changes)
    )
    if not updated:
        job.refresh_from_db(fields=["status", "message", "end_time", "updated_at"])
        raise AsyncStatusNotPending(job, job.status)
    if set(changes) - UNSHOWN_FIELDS:
        snapshots.changed(job.pk)
    for field, value in changes.items():
        setattr(job, field, value)
    return job


def async_status_create(
    *, tenant: Tenant, message: str, user: AbstractBaseUser | None = None
) -> AsyncStatus:
    """Record a new PENDING job in `tenant`."""
    job = AsyncStatus(tenant=tenant, message=_check_message(message), user=user)
    job.save(force_insert=True)
    return job


def async_status_update(job: AsyncStatus, *, message: str) -> AsyncStatus:
    """Replace a PENDING job's message (progress report); it stays PENDING."""
    return _transition(job, message=_check_message(message), heartbeat_at=timezone.now())


def async_status_heartbeat(job: AsyncStatus) -> AsyncStatus:
    """Record that a PENDING job's worker is alive (raises AsyncStatusNotPending otherwise)."""
    return _transition(job, heartbeat_at=timezone.now())


def async_status_finish(job: AsyncStatus, *, succeeded: bool, message: str) -> AsyncStatus:
    """Finish a PENDING job as SUCCEEDED or FAILED, stamping its end time."""
    return _transition(
        job,
        status=State.SUCCEEDED if succeeded else State.FAILED,
        message=_check_message(message),
        end_time=timezone.now(),
    )


def cancel_message(actor: AbstractBaseUser, when: datetime, message: str | None) -> str:
    """Return the message a cancelled job keeps: who cancelled it, when, and why."""
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"Cancelled by {actor.get_username()} at {stamp}."
    return f"{text} {message}" if message else text


def async_status_cancel(
    job: AsyncStatus, *, actor: AbstractBaseUser, message: str | None = None
) -> AsyncStatus:
    """Cancel a PENDING job: it becomes FAILED with a message naming `actor` and the time."""
    if message is not None:
        _check_message(message)
    now = timezone.now()
    return _transition(
        job, status=State.FAILED, message=cancel_message(actor, now, message), end_time=now
    )


def async_status_purge(*, job_ids: list[int]) -> int:
    """Delete these jobs if they have finished (retention); return how many were deleted."""
    finished = AsyncStatus.objects.across_tenants().finished().filter(pk__in=job_ids)
    deleted = finished.delete()[0]
    snapshots.changed(*job_ids)
    return deleted
