from http import HTTPStatus

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

from jobs.admin import CappedCountPaginator
from progress.family import ADMIN_CANCEL_MESSAGE
from progress.models import Progress
from tests.factories import UserFactory
from tests.progress.factories import make_progress

pytestmark = pytest.mark.django_db

State = Progress.State
CHANGELIST = reverse("admin:progress_progress_changelist")


def change_url(progress) -> str:
    return reverse("admin:progress_progress_change", args=[progress.pk])


def cancel_url(progress) -> str:
    return reverse("admin:progress_progress_cancel", args=[progress.pk])


def logged_in(user) -> Client:
    user.save()  # store the factory's password, which the session hash is derived from
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(tenant, make_member):
    """A staff user with the operations role in `tenant` (may cancel there)."""
    return logged_in(make_member(tenant, "operations", is_staff=True))


@pytest.fixture
def reader_staff(tenant, make_member):
    """A staff user with the read-only role in `tenant`."""
    return logged_in(make_member(tenant, "read-only", is_staff=True))


@pytest.fixture
def superuser():
    return logged_in(UserFactory(is_staff=True, is_superuser=True))


def test_changelist_shows_the_columns_and_a_completion_bar(staff, job):
    response = staff.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert '<progress max="100" value="50"' in content
    assert f"Course {job.context_id}" in content
    assert "course_batch_update" in content


def test_changelist_is_scoped_to_the_staff_users_memberships(staff, job, other_job):
    response = staff.get(CHANGELIST)

    shown = {row.pk for row in response.context["cl"].result_list}
    assert shown == {job.pk}


def test_superuser_sees_every_tenants_jobs(superuser, job, other_job):
    response = superuser.get(CHANGELIST)

    assert {row.pk for row in response.context["cl"].result_list} == {job.pk, other_job.pk}


def test_tenant_filter_offers_only_visible_tenants(staff, job, other_job, tenant, other_tenant):
    response = staff.get(CHANGELIST)

    spec = next(f for f in response.context["cl"].filter_specs if f.parameter_name == "tenant")
    assert [value for value, _ in spec.lookup_choices] == [str(tenant.pk)]


@pytest.mark.parametrize(
    ("query", "found"), [("batch", True), ("31337", True), ("3133", False), ("abc", False)]
)
def test_search_matches_tag_or_exact_context_id_and_never_errors(staff, tenant, query, found):
    job = make_progress(tenant, tag="course_batch_update", context_id=31337)

    response = staff.get(CHANGELIST, {"q": query})

    assert response.status_code == HTTPStatus.OK
    shown = {row.pk for row in response.context["cl"].result_list}
    assert shown == ({job.pk} if found else set())


@pytest.mark.parametrize(
    "params", [{"workflow_state__exact": "running"}, {"tag": "x"}, {"created_at__year": "2026"}]
)
def test_filters_and_date_hierarchy_answer(staff, job, params):
    assert staff.get(CHANGELIST, params).status_code == HTTPStatus.OK


def test_detail_is_read_only_with_a_cancel_button(staff, job):
    response = staff.get(change_url(job))

    assert response.status_code == HTTPStatus.OK
    assert response.context["show_cancel"] is True
    assert cancel_url(job) in response.content.decode()
    assert 'name="_save"' not in response.content.decode()


def test_detail_of_another_tenants_job_is_404(staff, other_job):
    assert staff.get(change_url(other_job)).status_code == HTTPStatus.NOT_FOUND


def test_cancel_button_confirms_then_cancels_a_running_job_and_logs_it(staff, job):
    confirmation = staff.get(cancel_url(job))
    response = staff.post(cancel_url(job), {"post": "yes"})

    assert confirmation.status_code == HTTPStatus.OK
    assert [obj.pk for obj, _ in confirmation.context["cancellable"]] == [job.pk]
    assert response.status_code == HTTPStatus.FOUND
    row = Progress.objects.across_tenants().get(pk=job.pk)
    assert (row.workflow_state, row.message) == (State.FAILED, ADMIN_CANCEL_MESSAGE)
    entry = LogEntry.objects.get(object_id=str(job.pk))
    assert (entry.action_flag, entry.change_message) == (CHANGE, "Cancelled.")


def test_bulk_action_cancels_pending_jobs_and_skips_finished_ones(staff, tenant, job):
    completed = make_progress(tenant, State.COMPLETED, results={"id": 1})

    response = staff.post(
        CHANGELIST,
        {"action": "cancel_selected", "_selected_action": [job.pk, completed.pk], "post": "yes"},
    )

    assert response.status_code == HTTPStatus.FOUND
    states = dict(Progress.objects.across_tenants().values_list("pk", "workflow_state"))
    assert states == {job.pk: State.FAILED, completed.pk: State.COMPLETED}
    assert list(LogEntry.objects.values_list("object_id", flat=True)) == [str(job.pk)]


def test_bulk_action_cannot_reach_another_tenants_job(staff, other_job, snapshot):
    before = snapshot(other_job)

    staff.post(
        CHANGELIST,
        {"action": "cancel_selected", "_selected_action": [other_job.pk], "post": "yes"},
    )

    assert snapshot(other_job) == before


def test_cancel_url_of_another_tenants_job_is_404(staff, other_job, snapshot):
    before = snapshot(other_job)

    response = staff.post(cancel_url(other_job), {"post": "yes"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert snapshot(other_job) == before


def test_read_only_member_gets_no_cancel_action_nor_button(reader_staff, job):
    changelist = reader_staff.get(CHANGELIST)
    detail = reader_staff.get(change_url(job))

    assert changelist.status_code == HTTPStatus.OK
    assert "cancel_selected" not in changelist.content.decode()
    assert detail.context["show_cancel"] is False


def test_read_only_member_is_403_on_the_cancel_url(reader_staff, job, snapshot):
    before = snapshot(job)

    response = reader_staff.post(cancel_url(job), {"post": "yes"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot(job) == before


def test_finished_job_has_no_cancel_button(staff, tenant):
    completed = make_progress(tenant, State.COMPLETED)

    assert staff.get(change_url(completed)).context["show_cancel"] is False


def test_changelist_queries_do_not_grow_with_rows(staff, tenant, django_assert_max_num_queries):
    for _ in range(30):
        make_progress(tenant, State.RUNNING, user=UserFactory())
    staff.get(CHANGELIST)

    with django_assert_max_num_queries(12):
        response = staff.get(CHANGELIST)

    assert len(response.context["cl"].result_list) == 30


def test_changelist_counts_at_most_the_cap(staff, tenant, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "max_count", 3)
    for _ in range(6):
        make_progress(tenant)

    response = staff.get(CHANGELIST)

    assert response.context["cl"].result_count == 4  # the cap plus one: "more than 3"
    assert len(response.context["cl"].result_list) == 6  # the page itself is not cut


def test_date_hierarchy_links_years_and_drills_into_them(staff, tenant):
    job = make_progress(tenant, tag="course_batch_update")
    year = str(job.created_at.year)

    listing = staff.get(CHANGELIST)
    drilled = staff.get(CHANGELIST, {"created_at__year": year})

    assert listing.context["cl"].date_hierarchy == "created_at"
    assert f"created_at__year={year}" in listing.text or "created_at__month=" in listing.text
    assert len(drilled.context["cl"].result_list) == 1


def test_search_leaves_out_the_date_hierarchy_links(staff, tenant):
    make_progress(tenant, tag="course_batch_update")

    response = staff.get(CHANGELIST, {"q": "course"})

    assert len(response.context["cl"].result_list) == 1
    assert response.context["cl"].date_hierarchy is None
    assert "created_at__month=" not in response.text
