"""Writes to progresses: every state change goes through one function here.

The state machine is Canvas' (`app/models/progress.rb`):

    queued  --start-->                  running
    queued  --fail / cancel (API)-->    failed
    queued  --supersede-->              canceled
    running --wait_for_external_tool--> waiting_for_external_tool
    running | waiting_for_external_tool --complete--> completed (completion 100)
    running | waiting_for_external_tool --fail / cancel (API)--> failed

Each transition is one conditional UPDATE on the current state (`jobs.transitions`), so
concurrent callers (a worker completing, a user cancelling) leave exactly one winner; finished
states are terminal, and completion never goes backwards. Every change also replaces the
job's poll snapshot, so polls never read a body older than the last commit.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from jobs.expressions import AtLeast
from jobs.timeline import insert_new_job
from jobs.transitions import TransitionRefused, transition
from progress.models import Progress
from tenancy.models import Tenant

logger = logging.getLogger(__name__)

State = Progress.State


class InvalidCompletion(ValueError):
    """A completion is not a finite number from 0 to 100."""


def progress_create(
    *,
    tenant: Tenant,
    tag: str,
    context_type: str,
    context_id: int,
    user: AbstractBaseUser | None = None,
    course_id: int | None = None,
    message: str | None = None,
) -> Progress:
    """Record a new queued job of `tenant` (completion null until reported, as in Canvas)."""
    progress = Progress(
        tenant=tenant,
        tag=tag,
        context_type=context_type,
        context_id=context_id,
        user=user,
        course_id=course_id,
        message=message,
    )
    progress.full_clean()
    return insert_new_job(progress, message=message)


def progress_start(progress: Progress) -> Progress:
    """Move a queued job to running."""
    return transition(
        progress,
        event="start",
        allowed=[State.QUEUED],
        to=State.RUNNING,
        heartbeat_at=timezone.now(),
    )


def progress_wait_for_external_tool(progress: Progress) -> Progress:
    """Mark a running job as waiting for an external tool's answer."""
    return transition(
        progress,
        event="wait_for_external_tool",
        allowed=[State.RUNNING],
        to=State.WAITING_FOR_EXTERNAL_TOOL,
    )


def progress_update(
    progress: Progress, *, completion: float | None = None, message: str | None = None
) -> Progress:
    """Report a pending job's completion and/or message.

    A completion lower than the stored one is ignored (the stored value is kept), so reports
    arriving out of order from parallel workers never move a job backwards.
    """
    changes: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if completion is not None:
        value = validated_completion(completion)
        changes["completion"] = AtLeast("completion", value)
    if message is not None:
        changes["message"] = message
    return transition(progress, event="update", allowed=Progress.PENDING_STATES, **changes)


def progress_calculate_completion(progress: Progress, *, current: int, total: int) -> Progress:
    """Report a pending job's completion as `current` of `total` items done."""
    return progress_update(progress, completion=completion_percent(current, total))


def progress_complete(
    progress: Progress, *, results: Any = None, message: str | None = None
) -> Progress:
    """Finish a running (or waiting) job successfully: completion becomes 100."""
    changes: dict[str, Any] = {"completion": 100.0}
    if results is not None:
        changes["results"] = results
    if message is not None:
        changes["message"] = message
    allowed = [State.RUNNING, State.WAITING_FOR_EXTERNAL_TOOL]
    return transition(progress, event="complete", allowed=allowed, to=State.COMPLETED, **changes)


def progress_fail(
    progress: Progress, *, message: str | None = None, results: Any = None
) -> Progress:
    """Finish a pending job unsuccessfully, keeping its message unless a new one is given."""
    changes: dict[str, Any] = {}
    if results is not None:
        changes["results"] = results
    if message is not None:
        changes["message"] = message
    return transition(
        progress, event="fail", allowed=Progress.PENDING_STATES, to=State.FAILED, **changes
    )


def progress_cancel(
    progress: Progress, *, actor: AbstractBaseUser | AnonymousUser, message: str | None = None
) -> bool:
    """Cancel a pending job the Canvas way (it becomes failed with `message`).

    Return True if this call cancelled it. A finished job is left exactly as it is (Canvas would
    flip a completed job to failed; jobdesk never loses a result), and False is returned. The
    instance is refreshed either way. As in Canvas, the message is replaced by `message`, even
    when that is None, so a client can tell its own cancellation from a failure.
    """
    try:
        transition(
            progress,
            event="cancel",
            allowed=Progress.PENDING_STATES,
            to=State.FAILED,
            message=message,
        )
    except TransitionRefused:
        return False
    logger.info("Progress %s cancelled by %s.", progress.pk, actor)
    return True


def progress_supersede(progress: Progress) -> Progress:
    """Drop a queued job that a newer one replaces (Canvas' `cancel` event: it becomes canceled)."""
    return transition(progress, event="supersede", allowed=[State.QUEUED], to=State.CANCELED)


# The event that finished a job in each state a producer may report.
FINISHING_EVENTS = {State.COMPLETED: "complete", State.FAILED: "fail"}


def check_repeated_finish(progress: Progress, **report: Any) -> None:
    """Refuse (409) a report naming the job's finished state with other content than it holds.

    Answering it 200 would drop the content silently: a producer whose completion lost a race,
    or who reports on a job an operator cancelled, must learn that its data was not stored.
    """
    if any(
        value is not None and value != getattr(progress, field) for field, value in report.items()
    ):
        raise TransitionRefused(
            family="progress",
            job_id=progress.pk,
            event=FINISHING_EVENTS[progress.workflow_state],
            state=progress.workflow_state,
        )


def progress_report(
    progress: Progress,
    *,
    workflow_state: str | None = None,
    completion: float | None = None,
    message: str | None = None,
    results: Any = None,
) -> Progress:
    """Apply a producer's report: its completion and message, then the state it asks for.

    `workflow_state` maps onto a transition (running: start, completed: complete, failed:
    fail, waiting_for_external_tool: wait); asking for the state the job is in changes no state.
    Asking for the finished state the job is in is a retry: it must repeat what the job holds.
    """
    finished = progress.workflow_state in FINISHING_EVENTS
    if finished and workflow_state == progress.workflow_state:
        check_repeated_finish(progress, completion=completion, message=message, results=results)
        return progress
    if workflow_state == progress.workflow_state:
        workflow_state = None
    if workflow_state == State.COMPLETED:
        return progress_complete(progress, results=results, message=message)
    if completion is not None or (message is not None and workflow_state != State.FAILED):
        progress_update(progress, completion=completion, message=message)
    if workflow_state == State.FAILED:
        return progress_fail(progress, message=message, results=results)
    if workflow_state is not None:
        PRODUCER_TRANSITIONS[workflow_state](progress)
    return progress


def validated_completion(value: object) -> float:
    """Return `value` as a float percent, refusing NaN, infinities and values outside 0..100."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCompletion(f"Completion must be a number from 0 to 100, not {value!r}.")
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= 100:
        raise InvalidCompletion(f"Completion must be a number from 0 to 100, not {value!r}.")
    return number


def completion_percent(current: int, total: int) -> float:
    """Return `current` of `total` as a percent; an empty job (total 0) is 100 % done."""
    if total < 0 or not 0 <= current <= total:
        raise InvalidCompletion(f"Cannot compute completion of {current} out of {total}.")
    if total == 0:
        return 100.0
    return validated_completion(100.0 * current / total)


# How a producer's requested workflow_state (other than completed and failed) is reached.
PRODUCER_TRANSITIONS = {
    State.RUNNING: progress_start,
    State.WAITING_FOR_EXTERNAL_TOOL: progress_wait_for_external_tool,
}
