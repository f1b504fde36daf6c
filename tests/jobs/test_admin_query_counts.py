"""Every job change list and detail page costs the same queries for 5 rows as for 50."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory
from tests.jobs.drivers import drivers, operate_permissions

pytestmark = pytest.mark.django_db

# Session, user, memberships, capped count, page (related rows joined by
# list_select_related), tenant filter choices, and Django's own permission lookups; progress'
# date hierarchy adds two (the first and last creation dates, then the years between).
CHANGE_LIST_MAX_QUERIES = 10
# The asset job page also loads its instance, tenant and the reasons inline; every job page
# then reads its timeline and its tracked run (with the runs it repeats or was repeated by).
DETAIL_MAX_QUERIES = 11


@pytest.fixture(params=drivers(), ids=lambda family: family.name)
def family(request):
    return request.param


@pytest.fixture(params=["operator", "superuser"])
def viewer(request, tenant, make_member) -> Client:
    if request.param == "superuser":
        user = UserFactory(is_staff=True, is_superuser=True)
    else:
        user = make_member(tenant, "operator", permissions=operate_permissions(), is_staff=True)
    client = Client()
    client.force_login(user)
    return client


def queries_for(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured]


def test_change_list_queries_do_not_grow_with_the_rows_on_the_page(
    family, viewer, tenant, other_tenant
):
    family.insert(tenant, count=5)
    family.insert(other_tenant, count=5)
    url = family.url("changelist")
    viewer.get(url)
    few = queries_for(viewer, url)
    family.insert(tenant, count=45)
    family.insert(other_tenant, count=45)

    many = queries_for(viewer, url)

    assert len(many) == len(few)
    assert len(many) <= CHANGE_LIST_MAX_QUERIES
    assert not any("COUNT(*)" in sql and "LIMIT" not in sql for sql in many), "full COUNT(*)"


def test_a_change_list_of_failed_jobs_reads_their_cancellations_in_one_query(
    family, viewer, tenant
):
    family.insert(tenant, family.failed, count=5)
    url = family.url("changelist")
    viewer.get(url)
    few = queries_for(viewer, url)
    family.insert(tenant, family.failed, count=45)

    many = queries_for(viewer, url)

    assert len(many) == len(few)
    assert len(many) <= CHANGE_LIST_MAX_QUERIES + 1
    assert sum("jobs_jobevent" in sql for sql in many) == 1


@pytest.mark.parametrize(
    "params", [{"stuck": "yes"}, {"q": "x"}, {"outcome": "failed"}, {"outcome": "cancelled"}]
)
def test_filtered_change_list_queries_do_not_grow_either(family, viewer, tenant, params):
    family.insert(tenant, count=5)
    url = family.url("changelist") + "?" + "&".join(f"{k}={v}" for k, v in params.items())
    viewer.get(url)
    few = queries_for(viewer, url)
    family.insert(tenant, count=45)

    assert len(queries_for(viewer, url)) == len(few)


def test_detail_page_queries_do_not_grow_with_the_table(family, viewer, tenant):
    job = family.insert(tenant)
    family.insert(tenant, count=4)
    url = family.url("change", job)
    viewer.get(url)
    few = queries_for(viewer, url)
    family.insert(tenant, count=45)

    many = queries_for(viewer, url)

    assert len(many) == len(few)
    assert len(many) <= DETAIL_MAX_QUERIES


def test_cancel_confirmation_queries_do_not_grow_with_the_selection(family, viewer, tenant):
    def confirm(jobs) -> int:
        data = {"action": "cancel_selected", "_selected_action": [job.pk for job in jobs]}
        with CaptureQueriesContext(connection) as captured:
            viewer.post(family.url("changelist"), data)
        return len(captured)

    assert confirm(family.insert(tenant, count=50)) == confirm(family.insert(tenant, count=5))
