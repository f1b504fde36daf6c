"""Fixtures of the progress API tests: jobs in two tenants and authenticated clients."""

from collections.abc import Callable

import pytest

from progress.family import LTI_PROGRESS_SHOW_SCOPE, PROGRESS_READ
from tests.progress.factories import make_progress

LTI_SCOPES = [LTI_PROGRESS_SHOW_SCOPE, PROGRESS_READ]


@pytest.fixture
def job(tenant):
    """A running job of the `tenant` (acme), half done, of course 42."""
    return make_progress(tenant, "running", completion=50.0, course_id=42)


@pytest.fixture
def other_job(other_tenant):
    """A running job of the other tenant (globex), of the same course number."""
    return make_progress(other_tenant, "running", completion=50.0, course_id=42)


@pytest.fixture
def reader(bearer, tenant) -> dict:
    """Headers of a read-only member of `tenant`."""
    return bearer(tenant, "read-only")


@pytest.fixture
def operator(bearer, tenant) -> dict:
    """Headers of an operations member of `tenant` (may cancel any job there)."""
    return bearer(tenant, "operations")


@pytest.fixture
def lti_tool(bearer, tenant) -> dict:
    """Headers of an LTI tool's token in `tenant`: the LTI scope plus PROGRESS:READ."""
    return bearer(tenant, "read-only", scopes=LTI_SCOPES)


@pytest.fixture
def snapshot() -> Callable:
    """Return a function capturing every column of a job, to prove it was left unchanged."""
    from progress.models import Progress

    def take(progress) -> dict:
        return Progress.objects.across_tenants().filter(pk=progress.pk).values().get()

    return take
