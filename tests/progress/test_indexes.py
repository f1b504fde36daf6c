"""The hot queries can use their indexes (PostgreSQL plans).

Tables in tests are tiny, so the planner would rather scan them, and may pick either of two
indexes on `tenant`. So scans and sorts that avoid an index are switched off and the competing
index is dropped inside the test's transaction (rolled back afterwards): a Sort left in the
plan would mean the index cannot deliver the order.
"""

import pytest
from django.db import connection

from progress.models import Progress
from tests.progress.factories import make_progress

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def plan(queryset, *, without: str | None = None) -> str:
    with connection.cursor() as cursor:
        if without is not None:
            cursor.execute(f'DROP INDEX "{without}"')
        cursor.execute("ANALYZE progress_progress")
        for method in ("seqscan", "bitmapscan", "sort"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
    return queryset.explain()


@pytest.fixture
def jobs(tenant, other_tenant):
    for owner in (tenant, other_tenant):
        for state in ("queued", "running", "completed"):
            make_progress(owner, state)


def test_a_tenants_newest_jobs_are_read_in_order_from_the_tenant_created_index(jobs, tenant):
    queryset = Progress.objects.for_tenant(tenant).newest_first()[:11]

    explained = plan(queryset, without="progress_tenant_state_created")

    assert "progress_tenant_created" in explained
    assert "Sort" not in explained


def test_a_tenants_jobs_in_one_state_use_the_tenant_state_created_index(jobs, tenant):
    queryset = Progress.objects.for_tenant(tenant).filter(workflow_state="running")

    explained = plan(queryset.order_by("-created_at")[:11], without="progress_tenant_created")

    assert "progress_tenant_state_created" in explained
    assert "Sort" not in explained


def test_jobs_by_tag_use_the_tag_index(jobs):
    queryset = Progress.objects.across_tenants().filter(tag="course_batch_update")

    assert "progress_tag" in plan(queryset)
