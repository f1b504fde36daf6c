"""The one way a job changes: a conditional UPDATE on its current state.

`transition` applies changes only if the job is (still) in one of the `allowed` states, in a
single `UPDATE ... WHERE pk = ... AND state IN (...)`. Two callers racing (a worker completing,
an operator cancelling) leave exactly one winner, a finished job is never rewritten, and no
row lock is held. The loser gets `TransitionRefused`, carrying the state the job is really in.

Every change a poll could see replaces the job's poll snapshot (`JobSnapshots.changed`); a
change of bookkeeping fields only (the family's `unshown_fields`, such as a heartbeat) does not.
The job's timeline event is written with the UPDATE, in the same transaction
(`jobs.timeline.update_and_record`).
Those changes are also published to watchers once they commit (`jobs.watch`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from jobs import watch
from jobs.registry import families
from jobs.timeline import update_and_record

if TYPE_CHECKING:
    from jobs.models import TrackedJob


class TransitionRefused(Exception):
    """The job's current state does not allow the change; `state` is None if the job is gone."""

    def __init__(self, *, family: str, job_id: object, event: str, state: str | None) -> None:
        self.family = family
        self.job_id = job_id
        self.event = event
        self.state = state
        text = families[family].refused_message.format(event=event, job_id=job_id, state=state)
        super().__init__(text)


def transition(
    job: TrackedJob,
    *,
    event: str,
    allowed: Iterable[str],
    to: str | None = None,
    extra_filter: Mapping[str, Any] | None = None,
    **changes: Any,
) -> TrackedJob:
    """Apply `changes` (and the state `to`) to `job` iff it is in an `allowed` state; return it.

    `event` names the change in the refusal ("complete", "download the package of").
    `extra_filter` narrows the condition further (e.g. progress that never goes backwards).
    On success the instance holds the new values; on refusal it is reloaded from the database.
    """
    family = families.for_model(type(job))
    if to is not None:
        changes[family.state_field] = to
    changes["updated_at"] = timezone.now()
    condition = {f"{family.state_field}__in": list(allowed), **(extra_filter or {})}
    updated = update_and_record(family, job, event=event, condition=condition, changes=changes)
    if not updated:
        raise TransitionRefused(
            family=family.name, job_id=job.pk, event=event, state=reloaded_state(job)
        )
    if set(changes) - family.unshown_fields:
        family.snapshots.changed(job.pk)
        watch.job_changed(job, allowed=allowed, to=to)
    computed = [name for name, value in changes.items() if hasattr(value, "resolve_expression")]
    for name, value in changes.items():
        if name not in computed:
            setattr(job, name, value)
    if computed:
        job.refresh_from_db(fields=computed)
    return job


def reloaded_state(job: TrackedJob) -> str | None:
    """Reload `job` from the database and return its state (None if it no longer exists)."""
    try:
        job.refresh_from_db()
    except type(job).DoesNotExist:
        return None
    return families.for_model(type(job)).state_of(job)
