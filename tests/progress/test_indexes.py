"""The hot queries can use their indexes (PostgreSQL plans; sequential scans switched off)."""

import pytest
from django.db import connection

from progress.models import Progress
from tests.progress.factories import make_progress

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def plan(queryset) -> str:
    with connection.cursor() as cursor:
        # A tiny test table is cheaper to scan; forbid that to see which index serves.
        cursor.execute("ANALYZE progress_progress")
        cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


@pytest.fixture
def jobs(tenant, other_tenant):
    for owner in (tenant, other_tenant):
        for state in ("queued", "running", "completed"):
            make_progress(owner, state)


def test_a_tenants_newest_jobs_use_the_tenant_created_index(jobs, tenant):
    queryset = Progress.objects.for_tenant(tenant).newest_first()[:11]

    assert "progress_tenant_created" in plan(queryset)


def test_a_tenants_jobs_in_one_state_use_the_tenant_state_created_index(jobs, tenant):
    queryset = Progress.objects.for_tenant(tenant).filter(workflow_state="running")

    assert "progress_tenant_state_created" in plan(queryset.values("created_at"))


def test_jobs_by_tag_use_the_tag_index(jobs):
    queryset = Progress.objects.across_tenants().filter(tag="course_batch_update")

    assert "progress_tag" in plan(queryset)
