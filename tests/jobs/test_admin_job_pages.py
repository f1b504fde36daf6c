"""Each family's job page shows its timeline and why it failed; lists tell cancels apart."""

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import JobEvent
from tenancy.models import Membership, Role
from tests.factories import UserFactory
from tests.jobs.drivers import drivers, operate_permissions, read_permissions

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(params=drivers(), ids=lambda family: family.name)
def family(request):
    return request.param


@pytest.fixture
def operator_user(tenant, make_member):
    return make_member(
        tenant, "operator", permissions=operate_permissions(), is_staff=True, username="olivia"
    )


@pytest.fixture
def operator(operator_user) -> Client:
    return logged_in(operator_user)


def shown(response) -> set:
    return {row.pk for row in response.context["cl"].result_list}


def test_a_job_page_shows_its_timeline_in_order(family, operator, operator_user, tenant):
    job = family.make(tenant, user=operator_user)
    family.family.start(str(job.pk))
    family.family.complete(str(job.pk), results=None)

    response = operator.get(family.url("change", job))

    assert response.status_code == HTTPStatus.OK
    assert "<h2>Timeline</h2>" in response.text
    assert [event.kind for event in response.context["timeline"]] == [
        JobEvent.Kind.CREATED,
        JobEvent.Kind.STARTED,
        JobEvent.Kind.COMPLETED,
    ]
    assert response.text.count('class="jd-event ') == 3
    assert "olivia" in response.text


def test_a_failed_tracked_jobs_page_shows_the_exception_and_its_traceback(
    family, operator, tenant, fail_tracked_job
):
    job = fail_tracked_job(family, tenant, note="at row 7")

    response = operator.get(family.url("change", job))

    assert 'id="jobdesk-failure"' in response.text
    assert "ConnectionRefusedError" in response.text
    assert "The source refused the connection. at row 7" in response.text
    assert 'id="jobdesk-traceback"' in response.text
    assert "Traceback (most recent call last):" in response.text
    run = response.context["tracked_run"]
    assert run.error_id in response.text
    assert f"tests.jobs.tasks.sample_tasks.fail_as_{family.name}" in response.text
    assert [event.kind for event in response.context["timeline"]][-1] == JobEvent.Kind.FAILED


def test_a_read_member_of_another_tenant_cannot_see_the_traceback(
    family, tenant, other_tenant, make_member, fail_tracked_job
):
    job = fail_tracked_job(family, tenant, note="secret-in-the-traceback")
    outsider = logged_in(
        make_member(other_tenant, "reader", permissions=read_permissions(), is_staff=True)
    )

    response = outsider.get(family.url("change", job))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "secret-in-the-traceback" not in response.text
    assert "Traceback" not in response.text
    assert family.state_of(job) == family.failed


def test_a_member_without_the_familys_read_permission_cannot_see_the_traceback(
    family, tenant, make_member, fail_tracked_job
):
    job = fail_tracked_job(family, tenant, note="secret-in-the-traceback")
    others = [perm for perm in read_permissions() if perm != family.family.read_permission]
    member = logged_in(make_member(tenant, "others", permissions=others, is_staff=True))

    response = member.get(family.url("change", job))

    assert response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND)
    assert "secret-in-the-traceback" not in response.text


def test_a_read_member_of_the_jobs_tenant_sees_the_traceback(
    family, tenant, other_tenant, make_member, fail_tracked_job
):
    job = fail_tracked_job(family, tenant, note="visible-to-readers")
    reader_user = make_member(tenant, "reader", permissions=read_permissions(), is_staff=True)
    Membership.objects.create(
        user=reader_user, tenant=other_tenant, role=Role.objects.create(name="none")
    )

    response = logged_in(reader_user).get(family.url("change", job))

    assert response.status_code == HTTPStatus.OK
    assert "visible-to-readers" in response.text


def test_a_traceback_is_in_no_api_answer(
    family, tenant, fail_tracked_job, make_member, make_token, client
):
    job = fail_tracked_job(family, tenant, note="never-on-the-wire")
    headers = family.headers(make_token(make_member(tenant, "admin"), tenant))

    response = client.get(family.poll_path(family.reload(job)), **headers)

    assert response.status_code == HTTPStatus.OK
    assert "never-on-the-wire" not in response.text
    assert "Traceback" not in response.text


def test_cancelled_jobs_have_their_own_badge_and_filter_apart_from_failures(
    family, operator, operator_user, tenant
):
    cancelled, failed, running = family.make(tenant), family.make(tenant), family.make(tenant)
    for job in (cancelled, failed, running):
        family.family.start(str(job.pk))
    family.family.cancel(family.reload(cancelled), actor=operator_user)
    family.family.fail(str(failed.pk), message="broken")
    url = family.url("changelist")

    everything = operator.get(url)
    only_failed = operator.get(url, {"outcome": "failed"})
    only_cancelled = operator.get(url, {"outcome": "cancelled"})

    assert 'class="jd-badge jd-badge-cancelled"' in everything.text
    assert 'class="jd-badge jd-badge-failed"' in everything.text
    assert shown(only_failed) == {failed.pk}
    assert shown(only_cancelled) == {cancelled.pk}
    assert shown(operator.get(url, {"outcome": "pending"})) == {running.pk}
    detail = operator.get(family.url("change", cancelled))
    assert 'class="jd-badge jd-badge-cancelled"' in detail.text


def test_an_unknown_outcome_filters_nothing(family, operator, tenant):
    job = family.insert(tenant)

    response = operator.get(family.url("changelist"), {"outcome": "exploded"})

    assert shown(response) == {job.pk}


def test_a_finished_job_without_completion_shows_no_busy_bar(operator, tenant):
    family = next(driver for driver in drivers() if driver.name == "progress")
    failed = family.make(tenant)
    family.family.fail(str(failed.pk), message="broken")
    running = family.make(tenant)

    response = operator.get(family.url("changelist"))

    rows = {row.pk: row for row in response.context["cl"].result_list}
    admin = response.context["cl"].model_admin
    assert "<progress" not in admin.completion_bar(rows[failed.pk])
    assert 'class="jd-no-progress"' in admin.completion_bar(rows[failed.pk])
    assert '<progress max="100" title="not reported">' in admin.completion_bar(rows[running.pk])


def test_the_dashboard_is_on_the_admin_index_only(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    index = client.get(reverse("admin:index"))
    app_index = client.get(reverse("admin:app_list", args=["tenancy"]))

    assert 'id="jobdesk-dashboard"' in index.text
    assert app_index.status_code == HTTPStatus.OK
    assert 'id="jobdesk-dashboard"' not in app_index.text
