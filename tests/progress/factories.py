"""Progress rows for tests, made through the services like every other writer."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import Any

from progress import services
from progress.models import Progress

State = Progress.State
_context_ids = count(1000)


# The transitions that lead from queued to each state; `results` is for the finishing ones.
PATHS: dict[str, list[Callable[[Progress, Any], Any]]] = {
    State.QUEUED: [],
    State.RUNNING: [lambda p, _: services.progress_start(p)],
    State.WAITING_FOR_EXTERNAL_TOOL: [
        lambda p, _: services.progress_start(p),
        lambda p, _: services.progress_wait_for_external_tool(p),
    ],
    State.COMPLETED: [
        lambda p, _: services.progress_start(p),
        lambda p, results: services.progress_complete(p, results=results),
    ],
    State.FAILED: [
        lambda p, _: services.progress_start(p),
        lambda p, results: services.progress_fail(p, results=results),
    ],
    State.CANCELED: [lambda p, _: services.progress_supersede(p)],
}


def make_progress(
    tenant,
    state: str = State.QUEUED,
    *,
    completion: float | None = None,
    results: Any = None,
    **fields: Any,
) -> Progress:
    """Create a job of `tenant`, report `completion`, and drive it into `state`."""
    fields.setdefault("tag", "course_batch_update")
    fields.setdefault("context_type", "Course")
    fields.setdefault("context_id", next(_context_ids))
    progress = services.progress_create(tenant=tenant, **fields)
    if completion is not None:
        services.progress_update(progress, completion=completion)
    for step in PATHS[state]:
        step(progress, results)
    return progress
