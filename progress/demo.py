"""Demo progresses: one job in every state for each demo tenant, and ready `curl` lines."""

from __future__ import annotations

from collections.abc import Callable

from jobs.demo import DemoContext
from progress import services
from progress.models import Progress
from tenancy.models import Tenant

State = Progress.State
DEMO_COURSE_ID = 101
TAG_PREFIX = "demo_"


def _queued(progress: Progress) -> None:
    """Leave the job queued."""


def _running(progress: Progress) -> None:
    services.progress_start(progress)
    services.progress_calculate_completion(progress, current=17, total=40)


def _waiting(progress: Progress) -> None:
    _running(progress)
    services.progress_wait_for_external_tool(progress)


def _completed(progress: Progress) -> None:
    services.progress_start(progress)
    services.progress_complete(progress, results={"id": 123}, message="17 courses processed")


def _failed(progress: Progress) -> None:
    services.progress_start(progress)
    services.progress_fail(progress, message="Unexpected error, ID: unknown")


def _canceled(progress: Progress) -> None:
    services.progress_supersede(progress)


DRIVERS: dict[str, Callable[[Progress], None]] = {
    State.QUEUED: _queued,
    State.RUNNING: _running,
    State.WAITING_FOR_EXTERNAL_TOOL: _waiting,
    State.COMPLETED: _completed,
    State.FAILED: _failed,
    State.CANCELED: _canceled,
}


def demo_progress(tenant: Tenant, state: str, user) -> Progress:
    """Return the tenant's demo job in `state`, creating it the first time (tag per state)."""
    tag = f"{TAG_PREFIX}{state}"
    existing = Progress.objects.for_tenant(tenant).filter(tag=tag).first()
    if existing is not None:
        return existing
    progress = services.progress_create(
        tenant=tenant,
        tag=tag,
        context_type="Course",
        context_id=DEMO_COURSE_ID,
        course_id=DEMO_COURSE_ID,
        user=user,
    )
    DRIVERS[state](progress)
    return progress


def seed(context: DemoContext) -> list[str]:
    """Create the demo progresses and return `curl` lines against acme's running job."""
    jobs = {
        slug: {
            state: demo_progress(tenant, state, context.users[slug, "operations"])
            for state in DRIVERS
        }
        for slug, tenant in context.tenants.items()
    }
    running, queued = jobs["acme"][State.RUNNING], jobs["acme"][State.QUEUED]
    auth = f'-H "Authorization: Bearer {context.keys["acme", "operations"]}"'
    base = f"{context.base_url}/api/v1/progress"
    return [
        "Canvas progress (acme, operations key):",
        f"  curl {auth} {base}/{running.pk}",
        f"  {list_line(context)}",
        f"  curl -X POST {auth} -d message='user cancelled' {base}/{queued.pk}/cancel",
        f"  curl '{base}/{running.pk}?access_token={context.keys['acme', 'operations']}'"
        "   # the key as Canvas' access_token parameter",
    ]


def list_line(context: DemoContext) -> str:
    """Return a curl command listing acme's running progresses (it changes nothing)."""
    auth = f'-H "Authorization: Bearer {context.keys["acme", "operations"]}"'
    return f"curl {auth} '{context.base_url}/api/v1/progress?workflow_state=running&per_page=5'"
