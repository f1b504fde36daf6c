"""Progress rows for tests, made through the services like every other writer."""

from __future__ import annotations

from itertools import count
from typing import Any

from progress import services
from progress.models import Progress

State = Progress.State
_context_ids = count(1000)


def make_progress(
    tenant,
    state: str = State.QUEUED,
    *,
    completion: float | None = None,
    results: Any = None,
    **fields: Any,
) -> Progress:
    """Create a job of `tenant` and drive it through the services into `state`."""
    fields.setdefault("tag", "course_batch_update")
    fields.setdefault("context_type", "Course")
    fields.setdefault("context_id", next(_context_ids))
    progress = services.progress_create(tenant=tenant, **fields)
    if state == State.CANCELED:
        return services.progress_supersede(progress)
    if state == State.QUEUED:
        return (
            progress
            if completion is None
            else services.progress_update(progress, completion=completion)
        )
    if state == State.FAILED and completion is None:
        return services.progress_fail(progress, results=results)
    services.progress_start(progress)
    if completion is not None:
        services.progress_update(progress, completion=completion)
    if state == State.WAITING_FOR_EXTERNAL_TOOL:
        services.progress_wait_for_external_tool(progress)
    elif state == State.COMPLETED:
        services.progress_complete(progress, results=results)
    elif state == State.FAILED:
        services.progress_fail(progress, results=results)
    return progress
