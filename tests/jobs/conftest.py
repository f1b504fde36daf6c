"""Fixtures of the shared job tests: a failed tracked job of any family."""

from collections.abc import Callable

import pytest

from jobs.tasks import enqueue_tracked
from tests.jobs.tasks.sample_tasks import FAILING

IMMEDIATE_BACKEND = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def fail_tracked_job(settings, django_capture_on_commit_callbacks) -> Callable:
    """Return a function running a failing tracked task of `family` in `tenant` (inline, with
    Django's immediate task backend) and returning the failed job."""
    settings.TASKS = IMMEDIATE_BACKEND

    def fail(family, tenant, *, note: str = "", user=None):
        with django_capture_on_commit_callbacks(execute=True):
            job_id = enqueue_tracked(
                FAILING[family.name],
                note,
                tenant=tenant,
                user=user,
                job=family.tracked_fields(tenant),
            )
        return family.family.load(job_id)

    return fail
