"""The admin index's job dashboard: scoped counts that link to change lists that agree."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jobs import dashboard
from jobs.registry import families
from tests.factories import UserFactory
from tests.jobs.drivers import driver, drivers, long_ago, read_permissions

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser() -> Client:
    return logged_in(UserFactory(is_staff=True, is_superuser=True))


@pytest.fixture
def reader(tenant, make_member) -> Client:
    return logged_in(make_member(tenant, "reader", permissions=read_permissions(), is_staff=True))


def make_mix(tenant, scale: int = 1) -> None:
    """Give `tenant` jobs of every family: running, stuck, succeeded and failed."""
    for family in drivers():
        family.insert(tenant, count=2 * scale)
        family.insert(tenant, count=scale, started=long_ago())
        family.insert(tenant, family.succeeded, count=3 * scale)
        family.insert(tenant, family.failed, count=scale)


def panels_of(response) -> list[dashboard.FamilyPanel]:
    return response.context["panels"]


def test_every_family_is_registered_in_the_order_of_its_app():
    assert families.names() == ["progress", "async_status", "asset_jobs", "lro"]


def test_superuser_sees_counts_per_tenant_and_family(superuser, tenant, other_tenant):
    make_mix(tenant)
    make_mix(other_tenant, scale=2)

    response = superuser.get(INDEX)

    assert response.status_code == HTTPStatus.OK
    assert 'id="jobdesk-dashboard"' in response.text
    for panel, family in zip(panels_of(response), drivers(), strict=True):
        rows = {row.tenant: row for row in panel.rows}
        for each, scale in [(tenant, 1), (other_tenant, 2)]:
            counts = dict(
                zip(panel.states, (cell.count for cell in rows[each].states), strict=True)
            )
            assert counts[family.running] == 3 * scale
            assert counts[family.succeeded] == 3 * scale
            assert counts[family.failed] == scale
            assert rows[each].stuck.count == scale
            assert rows[each].total.count == 7 * scale


def test_every_dashboard_number_links_to_a_change_list_showing_that_many(superuser, tenant):
    make_mix(tenant)

    panels = panels_of(superuser.get(INDEX))

    cells = [
        cell
        for panel in panels
        for row in panel.rows
        for cell in [*row.states, row.stuck, row.total]
    ]
    assert len(cells) > 3 * 4
    for cell in cells:
        listed = superuser.get(cell.url)
        assert listed.status_code == HTTPStatus.OK, cell.url
        assert listed.context["cl"].result_count == cell.count, cell.url


def test_staff_sees_only_their_tenants_and_families(reader, tenant, other_tenant):
    make_mix(tenant)
    make_mix(other_tenant)

    panels = panels_of(reader.get(INDEX))

    assert len(panels) == len(drivers())
    for panel in panels:
        assert [row.tenant for row in panel.rows] == [tenant]
        assert {job.tenant for job, _ in panel.failures} == {tenant}


def test_a_family_the_staff_user_may_not_read_is_left_out(client, tenant, make_member):
    client.force_login(make_member(tenant, "read-only", is_staff=True))
    make_mix(tenant)

    titles = [panel.title for panel in panels_of(client.get(INDEX))]

    assert titles == ["Progresses", "Asset jobs", "Long-running operations"]


def test_recent_failures_are_the_newest_failed_jobs_and_link_to_them(superuser, tenant):
    family = driver("async_status")
    old = family.insert(tenant, family.failed, started=long_ago())
    newer = family.insert(tenant, family.failed, count=dashboard.RECENT_FAILURES)

    panel = panels_of(superuser.get(INDEX))[1]

    listed = [job.pk for job, _ in panel.failures]
    assert sorted(listed) == sorted(job.pk for job in newer)
    assert old.pk not in listed
    assert all(url == family.url("change", job) for job, url in panel.failures)


@pytest.mark.parametrize("who", ["superuser", "reader"])
def test_dashboard_queries_do_not_grow_with_the_number_of_jobs(who, request, tenant, other_tenant):
    client = request.getfixturevalue(who)
    make_mix(tenant)
    make_mix(other_tenant)
    client.get(INDEX)
    with CaptureQueriesContext(connection) as few:
        client.get(INDEX)
    make_mix(tenant, scale=10)
    make_mix(other_tenant, scale=10)

    with CaptureQueriesContext(connection) as many:
        client.get(INDEX)

    assert len(many) == len(few)
    # Session, user, two for the app list, memberships, tenants; per family the counts, the
    # recent failures, the unfinished jobs per kind and the stuck jobs; the cancellations and
    # the hourly chart of every family at once; a superuser's workers; recent actions.
    assert len(many) <= 5 + 1 + 4 * len(drivers()) + 2 + 1 + 1
