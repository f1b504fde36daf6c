"""A superuser's job lists, across every tenant, read their order from an index (PostgreSQL).

Tables in tests are tiny, so scans and sorts that avoid an index are switched off, and the
competing index is dropped inside the test's transaction (rolled back afterwards): a Sort left
in the plan would mean no index can deliver the admin's default order.
"""

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory

from tests.factories import UserFactory
from tests.jobs.drivers import drivers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def plan(queryset, *, without: str | None = None) -> str:
    with connection.cursor() as cursor:
        if without is not None:
            cursor.execute(f'DROP INDEX "{without}"')
        cursor.execute(f"ANALYZE {queryset.model._meta.db_table}")
        for method in ("seqscan", "bitmapscan", "sort"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
    return queryset.explain()


@pytest.fixture(params=drivers(), ids=lambda family: family.name)
def family(request, tenant, other_tenant):
    for owner in (tenant, other_tenant):
        for state in ("running", "succeeded", "failed"):
            request.param.insert(owner, getattr(request.param, state), count=3)
    return request.param


@pytest.fixture
def superuser_admin_queryset(family):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    return admin.site.get_model_admin(family.model).get_queryset(request)


def test_the_default_order_across_tenants_comes_from_an_index(family, superuser_admin_queryset):
    explained = plan(superuser_admin_queryset[:100])

    assert family.admin_indexes[0] in explained
    assert "Sort" not in explained


def test_one_state_across_tenants_comes_in_order_from_an_index(family, superuser_admin_queryset):
    in_state = superuser_admin_queryset.filter(**{family.state_field: family.running})

    explained = plan(in_state[:100], without=family.admin_indexes[0])

    assert family.admin_indexes[1] in explained
    assert "Sort" not in explained
