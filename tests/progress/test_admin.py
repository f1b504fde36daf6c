from http import HTTPStatus

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

from progress.family import ADMIN_CANCEL_MESSAGE
from progress.models import Progress
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


def test_changelist_shows_the_columns_and_a_completion_bar(staff, job):
    response = staff.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert '<progress max="100" value="50"' in content
    assert f"Course {job.context_id}" in content
    assert "course_batch_update" in content


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
