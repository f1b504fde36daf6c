"""The shared job admin, run against each family: scoping, 404s, confirmed cancel, filters."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from jobs import admin as jobs_admin
from jobs.admin import CappedCountPaginator, humanize_duration
from tenancy.models import Membership, Role
from tests.factories import UserFactory
from tests.jobs.drivers import driver, drivers, long_ago, operate_permissions, read_permissions

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
    """A staff member who may read and cancel every family's jobs in `tenant`."""
    return logged_in(operator_user)


@pytest.fixture
def reader(tenant, make_member) -> Client:
    """A staff member who may only read every family's jobs in `tenant`."""
    return logged_in(make_member(tenant, "reader", permissions=read_permissions(), is_staff=True))


@pytest.fixture
def superuser() -> Client:
    return logged_in(UserFactory(is_staff=True, is_superuser=True))


def shown(response) -> set:
    return {row.pk for row in response.context["cl"].result_list}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_change_list_shows_only_the_staff_users_tenants(family, operator, tenant, other_tenant):
    mine, theirs = family.insert(tenant), family.insert(other_tenant)

    response = operator.get(family.url("changelist"))

    assert response.status_code == HTTPStatus.OK
    assert shown(response) == {mine.pk}
    assert theirs.pk not in {row.pk for row in response.context["cl"].queryset}


def test_superuser_sees_every_tenant(family, superuser, tenant, other_tenant):
    jobs = [family.insert(tenant), family.insert(other_tenant)]

    assert shown(superuser.get(family.url("changelist"))) == {job.pk for job in jobs}


@pytest.mark.parametrize("view", ["change", "history", "cancel"])
def test_another_tenants_job_is_404_on_every_page(family, operator, other_tenant, view):
    theirs = family.insert(other_tenant)

    response = operator.get(family.url(view, theirs))

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_posting_a_cancel_of_another_tenants_job_is_404_and_changes_nothing(
    family, operator, other_tenant
):
    theirs = family.insert(other_tenant)

    response = operator.post(family.url("cancel", theirs), {"post": "yes"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert family.state_of(theirs) == family.running


def test_tenant_filter_offers_only_visible_tenants_and_cannot_widen_the_list(
    family, operator, tenant, other_tenant
):
    family.insert(other_tenant)

    response = operator.get(family.url("changelist"), {"tenant": other_tenant.pk})

    tenant_filter = next(f for f in response.context["cl"].filter_specs if f.title == "tenant")
    assert tenant_filter.lookup_choices == [(str(tenant.pk), tenant.name)]
    assert shown(response) == set()


def test_search_finds_nothing_of_another_tenant(family, operator, other_tenant):
    theirs = family.insert(other_tenant)

    response = operator.get(family.url("changelist"), {"q": family.search_for(theirs)})

    assert response.status_code == HTTPStatus.OK
    assert shown(response) == set()


def test_autocomplete_lists_only_the_staff_users_instances(operator, tenant, other_tenant):
    family = driver("asset_jobs")
    mine, theirs = family.insert(tenant), family.insert(other_tenant)
    params = {"app_label": "asset_jobs", "model_name": "assetjob", "field_name": "instance"}

    response = operator.get(reverse("admin:autocomplete"), {**params, "term": "roma"})

    assert response.status_code == HTTPStatus.OK
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {str(mine.instance_id)}
    assert str(theirs.instance_id) not in ids


def test_autocomplete_of_jobs_lists_only_the_staff_users_jobs(operator, tenant, other_tenant):
    family = driver("asset_jobs")
    mine, theirs = family.insert(tenant), family.insert(other_tenant)
    params = {"app_label": "asset_jobs", "model_name": "assetjobreason", "field_name": "job"}

    found = {
        job.pk: operator.get(reverse("admin:autocomplete"), {**params, "term": job.pk}).json()
        for job in [mine, theirs]
    }

    assert [row["id"] for row in found[mine.pk]["results"]] == [mine.pk]
    assert found[theirs.pk]["results"] == []


def test_bulk_cancel_shows_a_confirmation_first_and_changes_nothing(family, operator, tenant):
    running, finished = family.insert(tenant), family.insert(tenant, family.succeeded)
    data = {"action": "cancel_selected", "_selected_action": [running.pk, finished.pk]}

    response = operator.post(family.url("changelist"), data)

    assert response.status_code == HTTPStatus.OK
    assert "admin/jobdesk/cancel_confirmation.html" in [t.name for t in response.templates]
    assert [job.pk for job, _ in response.context["cancellable"]] == [running.pk]
    assert [(job.pk, why) for job, why, _ in response.context["refused"]] == [
        (finished.pk, "already finished")
    ]
    assert 'name="post" value="yes"' in response.text
    assert family.state_of(running) == family.running
    assert not LogEntry.objects.exists()


def test_bulk_cancel_with_post_yes_cancels_reports_counts_and_logs_the_operator(
    family, operator, operator_user, tenant
):
    running, finished = family.insert(tenant), family.insert(tenant, family.succeeded)
    data = {
        "action": "cancel_selected",
        "_selected_action": [running.pk, finished.pk],
        "post": "yes",
    }

    response = operator.post(family.url("changelist"), data)

    assert response.status_code == HTTPStatus.FOUND
    assert family.state_of(running) == family.cancelled
    assert family.state_of(finished) == family.succeeded
    assert messages_of(response) == [
        "Cancelled 1 job(s).",
        "1 job(s) were already finished or not yours to cancel; they are unchanged.",
    ]
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.user, entry.action_flag) == (
        str(running.pk),
        operator_user,
        CHANGE,
    )
    assert entry.get_change_message() == "Cancelled."


def test_confirmation_names_jobs_of_tenants_where_the_user_may_only_read(
    family, operator_user, operator, other_tenant
):
    Membership.objects.create(
        user=operator_user,
        tenant=other_tenant,
        role=Role.objects.create(name="r", permissions=read_permissions()),
    )
    readable = family.insert(other_tenant)
    data = {"action": "cancel_selected", "_selected_action": [readable.pk]}

    confirmation = operator.post(family.url("changelist"), data)
    operator.post(family.url("changelist"), {**data, "post": "yes"})

    assert confirmation.context["cancellable"] == []
    assert [why for _, why, _ in confirmation.context["refused"]] == [
        "you may not cancel jobs of this tenant"
    ]
    assert family.state_of(readable) == family.running
    assert operator.get(family.url("cancel", readable)).status_code == HTTPStatus.FORBIDDEN


def test_bulk_cancel_refuses_an_oversized_selection(family, operator, tenant, monkeypatch):
    monkeypatch.setattr(jobs_admin, "MAX_CANCEL_SELECTION", 2)
    jobs = family.insert(tenant, count=3)
    data = {
        "action": "cancel_selected",
        "_selected_action": [job.pk for job in jobs],
        "post": "yes",
    }

    response = operator.post(family.url("changelist"), data)

    assert "Select at most 2 jobs" in messages_of(response)[0]
    assert {family.state_of(job) for job in jobs} == {family.running}


def test_cancel_button_leads_to_a_confirmation_page_then_cancels(
    family, operator, operator_user, tenant
):
    job = family.insert(tenant)

    detail = operator.get(family.url("change", job))
    confirmation = operator.get(family.url("cancel", job))
    state_while_confirming = family.state_of(job)
    response = operator.post(family.url("cancel", job), {"post": "yes"})

    assert f'href="{family.url("cancel", job)}"' in detail.text
    assert "Are you sure you want to cancel this" in confirmation.text
    assert state_while_confirming == family.running
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == family.url("change", job)
    assert family.state_of(job) == family.cancelled
    assert LogEntry.objects.get(object_id=str(job.pk)).user == operator_user
    history = operator.get(family.url("history", job))
    assert "Cancelled." in history.text
    assert operator_user.username in history.text


def test_cancel_of_a_finished_job_says_so_and_offers_no_button(family, operator, tenant):
    job = family.insert(tenant, family.failed)

    confirmation = operator.get(family.url("cancel", job))

    assert confirmation.context["cancellable"] == []
    assert 'name="post"' not in confirmation.text
    assert (
        'href="{}"'.format(family.url("cancel", job))
        not in operator.get(family.url("change", job)).text
    )


def test_read_only_member_has_no_cancel_action_button_or_page(family, reader, tenant):
    job = family.insert(tenant)

    changelist = reader.get(family.url("changelist"))
    detail = reader.get(family.url("change", job))

    assert changelist.context["action_form"] is None
    assert "cancel_selected" not in changelist.text
    assert detail.context["show_cancel"] is False
    assert family.url("cancel", job) not in detail.text
    assert reader.get(family.url("cancel", job)).status_code == HTTPStatus.FORBIDDEN
    assert reader.post(family.url("cancel", job), {"post": "yes"}).status_code == 403
    assert family.state_of(job) == family.running


def test_pending_jobs_page_refreshes_itself_and_a_finished_ones_does_not(family, operator, tenant):
    pending, finished = family.insert(tenant), family.insert(tenant, family.succeeded)

    pending_page = operator.get(family.url("change", pending))
    finished_page = operator.get(family.url("change", finished))

    assert '<meta http-equiv="refresh" content="5">' in pending_page.text
    assert "http-equiv" not in finished_page.text


def test_change_list_shows_state_badges_and_humanised_durations(family, operator, tenant):
    family.insert(tenant, started=long_ago())

    response = operator.get(family.url("changelist"))

    assert 'class="jd-badge jd-badge-pending"' in response.text
    assert "3 h 0 min so far" in response.text
    assert "jobs/admin.css" in response.text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (45, "45 s"), (192, "3 min 12 s"), (7500, "2 h 5 min"), (273600, "3 d 4 h")],
)
def test_durations_read_the_way_people_say_them(seconds, text):
    assert humanize_duration(timedelta(seconds=seconds)) == text


def test_stuck_filter_lists_unfinished_jobs_past_the_threshold(family, operator, tenant, settings):
    settings.JOBDESK_STUCK_AFTER_MINUTES = 60
    stuck = family.insert(tenant, started=long_ago())
    family.insert(tenant)
    family.insert(tenant, family.failed, started=long_ago())

    response = operator.get(family.url("changelist"), {"stuck": "yes"})

    assert shown(response) == {stuck.pk}


@pytest.mark.parametrize("state_name", ["running", "succeeded", "failed"])
def test_state_filter_filters(family, operator, tenant, state_name):
    jobs = {
        name: family.insert(tenant, getattr(family, name))
        for name in ["running", "succeeded", "failed"]
    }

    response = operator.get(
        family.url("changelist"), {f"{family.state_field}__exact": getattr(family, state_name)}
    )

    assert shown(response) == {jobs[state_name].pk}


def test_date_filters_past_7_days_link_filters(family, operator, tenant):
    recent, old = (
        family.insert(tenant),
        family.insert(tenant, started=long_ago() - timedelta(days=30)),
    )
    page = operator.get(family.url("changelist"))
    date_filter = next(
        spec for spec in page.context["cl"].filter_specs
        if getattr(spec, "field_path", None) == family.started_field
    )  # fmt: skip
    choices = {
        choice["display"]: choice["query_string"]
        for choice in date_filter.choices(page.context["cl"])
    }

    response = operator.get(family.url("changelist") + choices["Past 7 days"])

    assert shown(response) == {recent.pk}
    assert old.pk not in shown(response)


def test_change_list_counts_at_most_the_cap(family, operator, tenant, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "max_count", 3)
    family.insert(tenant, count=6)

    response = operator.get(family.url("changelist"))

    assert response.context["cl"].result_count == 4  # the cap plus one: "more than 3"
    assert response.context["cl"].full_result_count is None
    assert len(response.context["cl"].result_list) == 6
