"""On PostgreSQL, the hot list queries are served by the model's indexes."""

import pytest
from django.db import connection
from django.http import QueryDict

from async_status.filters import DEFAULT_LIMIT, AsyncStatusFilter
from async_status.models import AsyncStatus

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def plan(queryset) -> str:
    """Return the plan PostgreSQL picks when it may not scan the whole table."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


@pytest.mark.parametrize(
    ("query", "index"),
    [("status=PENDING", "async_status_tenant_state"), ("", "async_status_tenant_start")],
)
def test_a_tenants_list_page_uses_its_index(tenant, make_job, query, index):
    make_job(tenant)
    jobs = AsyncStatus.objects.for_tenant(tenant).newest_first()
    page = AsyncStatusFilter(QueryDict(query), queryset=jobs).qs[:DEFAULT_LIMIT]

    assert index in plan(page)
