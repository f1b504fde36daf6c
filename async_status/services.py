"""The only writers of async status rows: create, update the message, finish, cancel.

Every transition is one conditional UPDATE on a PENDING row (`jobs.transitions`), so
concurrent writers (a job finishing while an operator cancels it) leave exactly one winner and
a finished job is never rewritten. Every change to what a poll shows replaces the job's poll
snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from async_status.models import AsyncStatus
from jobs.timeline import insert_new_job
from jobs.transitions import TransitionRefused, transition
from tenancy.models import Tenant

State = AsyncStatus.State
PENDING = [State.PENDING]


def _check_message(message: object) -> str:
    if not isinstance(message, str):
        raise TypeError(f"message must be a string, not {type(message).__name__}.")
    return message


def async_status_create(
    *, tenant: Tenant, message: str, user: AbstractBaseUser | None = None
) -> AsyncStatus:
    """Record a new PENDING job in `tenant`."""
    job = AsyncStatus(tenant=tenant, message=_check_message(message), user=user)
    return insert_new_job(job, message=message)


def async_status_update(job: AsyncStatus, *, message: str) -> AsyncStatus:
    """Replace a PENDING job's message (progress report); it stays PENDING."""
    return transition(
        job,
        event="update",
        allowed=PENDING,
        message=_check_message(message),
        heartbeat_at=timezone.now(),
    )


def async_status_heartbeat(job: AsyncStatus) -> AsyncStatus:
    """Record that a PENDING job's worker is alive (TransitionRefused once it finished)."""
    return transition(job, event="report on", allowed=PENDING, heartbeat_at=timezone.now())


def async_status_finish(job: AsyncStatus, *, succeeded: bool, message: str) -> AsyncStatus:
    """Finish a PENDING job as SUCCEEDED or FAILED, stamping its end time."""
    return transition(
        job,
        event="finish",
        allowed=PENDING,
        to=State.SUCCEEDED if succeeded else State.FAILED,
        message=_check_message(message),
        end_time=timezone.now(),
    )


def cancel_message(actor: AbstractBaseUser | None, when: datetime, message: str | None) -> str:
    """Return the message a cancelled job keeps: who cancelled it, when, and why."""
    who = actor.get_username() if actor is not None else "jobdesk"
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"Cancelled by {who} at {stamp}."
    return f"{text} {message}" if message else text


def async_status_cancel(
    job: AsyncStatus, *, actor: AbstractBaseUser | None, message: str | None = None
) -> bool:
    """Cancel a PENDING job: it becomes FAILED with a message naming `actor` and the time.

    Return True if this call cancelled it; False (the job unchanged) if it had finished.
    """
    if message is not None:
        _check_message(message)
    now = timezone.now()
    try:
        transition(
            job,
            event="cancel",
            allowed=PENDING,
            to=State.FAILED,
            message=cancel_message(actor, now, message),
            end_time=now,
        )
    except TransitionRefused:
        return False
    return True
