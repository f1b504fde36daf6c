"""A job's timeline: one event per transition, written in the transition's own transaction.

`jobs.transitions.transition` applies every change through `update_and_record`: the
conditional UPDATE and, when the change is worth a line in the timeline, one INSERT of a
`JobEvent`, committed together. What is recorded:

- a change of state: started, waiting, completed, failed, cancelled (a transition whose
  `event` is "cancel", or into one of the family's cancelled states), reaped (a failure by the
  reaper), or changed (anything else, such as a ROMA export's package being downloaded);
- a running job's first sign of life (its first heartbeat): started, for families whose jobs
  run from the moment they are created;
- progress in coarse steps: each time the job passes another `PROGRESS_STEP` percent. Reports
  in between, heartbeats and message-only updates write no event, so the hot path of
  reporting stays one UPDATE.

Creation is recorded by the family's create service through `insert_new_job`. Who made a
change is whoever the code runs for (`acting`): the request's user (set by
`TimelineActorMiddleware`, an API token's user included), the worker running a tracked task,
or the reaper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast

from jobs.expressions import AtLeast
from jobs.models import JobEvent

if TYPE_CHECKING:
    from jobs.family import JobFamily
    from jobs.models import TrackedJob

Kind = JobEvent.Kind
# A progress event is written each time a job passes another multiple of this many percent.
PROGRESS_STEP = 10
# An event keeps at most this much of the message the change set.
MESSAGE_LIMIT = 1000
TERMINAL_KINDS = (Kind.COMPLETED, Kind.FAILED, Kind.CANCELLED, Kind.REAPED)


@dataclass(frozen=True)
class Actor:
    """Who makes the changes being recorded: a user, a worker, the reaper, or nobody known."""

    user: AbstractBaseUser | None = None
    name: str = ""
    reaper: bool = False

    @classmethod
    def of_user(cls, user: AbstractBaseUser | AnonymousUser | None) -> Actor:
        if user is None or not user.is_authenticated:
            return cls()
        return cls(user=user, name=user.get_username())


REAPER = Actor(name="reap_stuck_jobs", reaper=True)

_actor: ContextVar[Actor | Callable[[], Actor] | None] = ContextVar("jobdesk_actor", default=None)


@contextmanager
def acting(actor: Actor | Callable[[], Actor]) -> Iterator[None]:
    """Record the changes made inside the block as `actor`'s (a callable is asked lazily)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Actor:
    """Return who the changes made now are recorded for."""
    actor = _actor.get()
    if callable(actor):
        actor = actor()
    return actor or Actor()


class TimelineActorMiddleware:
    """Record the changes a request makes as its user's (DRF's token user included).

    The user is read only when an event is written: DRF authenticates inside the view and
    sets the user on the Django request then.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with acting(lambda: Actor.of_user(getattr(request, "user", None))):
            return self.get_response(request)


def update_and_record(
    family: JobFamily, job: TrackedJob, *, event: str, condition: dict, changes: dict
) -> int:
    """Apply a transition's UPDATE and write its event in one transaction; return rows updated."""
    rows = family.jobs().filter(pk=job.pk, **condition)
    allowed = list(condition.get(f"{family.state_field}__in", ()))
    entry = event_for(family, job, event=event, allowed=allowed, changes=changes)
    if entry is None:
        return rows.update(**changes)
    # Without a savepoint: inside a caller's transaction this adds no query, and a failed
    # INSERT rolls the caller back with it, so a job never changes without its event.
    with transaction.atomic(savepoint=False):
        updated = rows.update(**changes)
        if updated and moved_the_job(family, job, entry, changes):
            entry.save(force_insert=True)
    return updated


def moved_the_job(family: JobFamily, job: TrackedJob, entry: JobEvent, changes: Mapping) -> bool:
    """Tell whether a progress step really happened: a report that arrived after a higher one
    (which `AtLeast` ignores) must not record a step backwards. Only such a report, when it
    passes a step, costs a read."""
    change = changes.get(family.progress_field) if family.progress_field else None
    if entry.kind != Kind.PROGRESS or not isinstance(change, AtLeast):
        return True
    stored = family.jobs().filter(pk=job.pk).values_list(family.progress_field, flat=True).get()
    return stored == change.floor


def event_for(
    family: JobFamily, job: TrackedJob, *, event: str, allowed: list[str], changes: Mapping
) -> JobEvent | None:
    """Return the (unsaved) event a change of `job` makes, or None if it is not recorded.

    `job` still holds the values the writer read; with a single allowed state, the job was in
    that one if the UPDATE applies.
    """
    before = family.state_of(job)
    if before not in allowed and len(allowed) == 1:
        before = allowed[0]
    after = changes.get(family.state_field, before)
    percent = reported_percent(family, job, changes)
    if after != before:
        kind = state_change_kind(family, event, before, after)
    elif first_sign_of_life(family, job, before, changes):
        kind = Kind.STARTED
    elif passed_a_step(family.percent_of(job), percent):
        kind = Kind.PROGRESS
    else:
        return None
    message = changes.get(family.message_field) if family.message_field else None
    at = changes.get("updated_at")
    return new_event(family, job, kind, before, after, percent, message=message, at=at)


def state_change_kind(family: JobFamily, event: str, before: str, after: str) -> str:
    """Return what a change of state from `before` to `after` means."""
    outcome = family.outcome(after)
    if outcome == "pending":
        if family.is_running_state(after) and not family.is_running_state(before):
            return Kind.STARTED
        return Kind.WAITING if family.is_running_state(before) else Kind.CHANGED
    if family.outcome(before) != "pending":
        return Kind.CHANGED
    if outcome == "cancelled" or event == "cancel":
        return Kind.CANCELLED
    if outcome == "failed":
        return Kind.REAPED if current_actor().reaper else Kind.FAILED
    return Kind.COMPLETED if outcome == "succeeded" else Kind.CHANGED


def first_sign_of_life(family: JobFamily, job: TrackedJob, state: str, changes: Mapping) -> bool:
    """Tell whether this change is the first heartbeat of a job in a running state."""
    return "heartbeat_at" in changes and job.heartbeat_at is None and family.is_running_state(state)


def reported_percent(family: JobFamily, job: TrackedJob, changes: Mapping) -> float | None:
    """Return the job's percent done after `changes`, or None when it is unknown."""
    if family.progress_field is None:
        return None
    change = changes.get(family.progress_field, getattr(job, family.progress_field))
    if isinstance(change, AtLeast):
        current = getattr(job, family.progress_field)
        change = change.floor if current is None else max(current, change.floor)
    if isinstance(change, bool) or not isinstance(change, int | float):
        return None
    return family.as_percent(change)


def passed_a_step(before: float | None, after: float | None) -> bool:
    """Tell whether progress passed another multiple of `PROGRESS_STEP` percent."""
    if after is None:
        return False
    return int(after // PROGRESS_STEP) > int((before or 0) // PROGRESS_STEP)


def new_event(
    family: JobFamily,
    job: TrackedJob,
    kind: str,
    before: str,
    after: str,
    percent: float | None,
    *,
    message: Any = None,
    at: datetime | None = None,
) -> JobEvent:
    """Return an unsaved event of `job`, made by the current actor."""
    actor = current_actor()
    user = actor.user
    if kind == Kind.CREATED and user is None and job.user_id is not None:
        user = job.user
    event = JobEvent(
        tenant_id=job.tenant_id,
        family=family.name,
        job_id=str(job.pk),
        kind=kind,
        from_state=before,
        to_state=after,
        progress=percent,
        message=message[:MESSAGE_LIMIT] if isinstance(message, str) else "",
        actor=user,
        actor_name=(user.get_username() if user is not None else actor.name)[:200],
    )
    if at is not None:
        event.at = at
    return event


def insert_new_job(job: TrackedJob, *, message: str | None = None) -> TrackedJob:
    """Insert a new job and its "created" event in one transaction (for create services)."""
    family = _family_of(job)
    with transaction.atomic(savepoint=False):
        job.save(force_insert=True)
        state, percent = family.state_of(job), family.percent_of(job)
        event = new_event(family, job, Kind.CREATED, "", state, percent, message=message)
        event.save(force_insert=True)
    return job


def events_of(family: JobFamily, job: TrackedJob):
    """Return `job`'s events, oldest first."""
    events = JobEvent.objects.for_tenant(job.tenant_id)
    return events.filter(family=family.name, job_id=str(job.pk)).order_by("at", "pk")


def cancelled_ids(family: JobFamily, jobs: list[TrackedJob]) -> set[str]:
    """Return the ids (as text) of those `jobs` that were cancelled: in a cancelled state, or
    in a failed state with a cancellation in their timeline (at most one query)."""
    cancelled = {str(job.pk) for job in jobs if family.state_of(job) in family.cancelled_states}
    failed = [str(job.pk) for job in jobs if family.state_of(job) in family.failed_states]
    if not failed:
        return cancelled
    rows = JobEvent.objects.across_tenants().filter(
        family=family.name, kind=Kind.CANCELLED, job_id__in=failed
    )
    return cancelled | set(rows.values_list("job_id", flat=True))


def was_cancelled(family: JobFamily) -> Exists:
    """Return a condition on a family's jobs: a cancellation is in their timeline."""
    job_id = OuterRef("pk")
    if family.model._meta.pk.get_internal_type() != "CharField":
        job_id = Cast(job_id, output_field=CharField())
    cancellations = JobEvent.objects.across_tenants().filter(
        family=family.name, kind=Kind.CANCELLED, job_id=job_id
    )
    return Exists(cancellations)


def outcome_condition(family: JobFamily, outcome: str) -> Q:
    """Return the condition of a family's jobs that ended as `outcome`, cancellations apart."""
    state = f"{family.state_field}__in"
    failed = Q(**{state: family.failed_states})
    cancelled = was_cancelled(family)
    return {
        "pending": Q(**{state: family.pending_states}),
        "succeeded": Q(**{state: family.succeeded_states}),
        "failed": failed & ~cancelled,
        "cancelled": Q(**{state: family.cancelled_states}) | (failed & cancelled),
    }[outcome]


def forget(family: JobFamily, job_ids: list[str]) -> None:
    """Delete the timeline of these (purged) jobs."""
    ids = [str(job_id) for job_id in job_ids]
    JobEvent.objects.across_tenants().filter(family=family.name, job_id__in=ids).delete()


def _family_of(job: TrackedJob) -> JobFamily:
    from jobs.registry import families

    return families.for_model(type(job))
