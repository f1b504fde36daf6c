"""Run again, from a job's page or in bulk, through a confirmation like the cancel's."""

from http import HTTPStatus

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobs.models import TrackedRun
from jobs.registry import families
from jobs.tasks import enqueue_tracked
from tests.jobs.drivers import drivers, operate_permissions, read_permissions
from tests.jobs.tasks.sample_tasks import FAILING

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def write_permissions() -> list[str]:
    """Return every family's READ and WRITE permissions: who may run jobs again."""
    return [*read_permissions(), *(family.write_permission for family in families)]


@pytest.fixture(params=drivers(), ids=lambda family: family.name)
def family(request):
    return request.param


@pytest.fixture
def writer_user(tenant, make_member):
    return make_member(
        tenant, "writer", permissions=write_permissions(), is_staff=True, username="wanda"
    )


@pytest.fixture
def writer(writer_user) -> Client:
    return logged_in(writer_user)


def run_of(family, job) -> TrackedRun:
    return TrackedRun.objects.across_tenants().of_job(family.name, job.pk).get()


def jobs_of(family, tenant) -> set:
    return set(family.family.jobs().filter(tenant=tenant).values_list("pk", flat=True))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_bulk_action_confirms_first_and_changes_nothing(
    family, writer, tenant, fail_tracked_job
):
    failed = fail_tracked_job(family, tenant)
    finished = family.insert(tenant, family.succeeded)
    running = family.insert(tenant)
    before = jobs_of(family, tenant)
    data = {"action": "rerun_selected", "_selected_action": [failed.pk, finished.pk, running.pk]}

    response = writer.post(family.url("changelist"), data)

    assert response.status_code == HTTPStatus.OK
    assert "admin/jobdesk/rerun_confirmation.html" in [t.name for t in response.templates]
    assert [job.pk for job, _ in response.context["rerunnable"]] == [failed.pk]
    assert {job.pk: why for job, why, _ in response.context["refused"]} == {
        finished.pk: "it did not fail and was not cancelled",
        running.pk: "not finished yet",
    }
    assert 'name="post" value="yes"' in response.text
    assert 'value="rerun_selected"' in response.text
    assert jobs_of(family, tenant) == before
    assert not LogEntry.objects.exists()


def test_the_bulk_action_with_post_yes_runs_failed_jobs_again_linked_both_ways(
    family, writer, writer_user, tenant, fail_tracked_job
):
    failed = fail_tracked_job(family, tenant, note="first")
    untracked = family.insert(tenant, family.failed)
    data = {
        "action": "rerun_selected",
        "_selected_action": [failed.pk, untracked.pk],
        "post": "yes",
    }

    response = writer.post(family.url("changelist"), data)

    assert response.status_code == HTTPStatus.FOUND
    assert messages_of(response) == [
        "Ran 1 job(s) again.",
        "1 job(s) could not be run again; they are unchanged.",
    ]
    old_run = run_of(family, failed)
    new_run = old_run.rerun
    assert (new_run.task_path, new_run.arguments) == (old_run.task_path, old_run.arguments)
    new = family.family.load(new_run.job_id)
    assert (new.tenant, new.user) == (tenant, writer_user)
    entries = {(entry.object_id, entry.action_flag) for entry in LogEntry.objects.all()}
    assert entries == {(str(failed.pk), CHANGE), (str(new.pk), ADDITION)}
    old_page, new_page = (
        writer.get(family.url("change", failed)),
        writer.get(family.url("change", new)),
    )
    assert f'href="{family.url("change", new)}" id="jobdesk-rerun"' in old_page.text
    assert f'href="{family.url("change", failed)}" id="jobdesk-rerun-of"' in new_page.text


def test_the_button_confirms_then_runs_the_job_again_and_shows_the_new_one(
    family, writer, tenant, fail_tracked_job
):
    failed = fail_tracked_job(family, tenant)

    detail = writer.get(family.url("change", failed))
    confirmation = writer.get(family.url("rerun", failed))
    unchanged = jobs_of(family, tenant)
    response = writer.post(family.url("rerun", failed), {"post": "yes"})

    assert f'href="{family.url("rerun", failed)}"' in detail.text
    assert "Are you sure you want to run this" in confirmation.text
    assert unchanged == {failed.pk}
    new_id = run_of(family, failed).rerun.job_id
    assert response["Location"] == family.url("change", family.family.load(new_id))
    history = writer.get(family.url("history", failed))
    assert f"Ran again as job {new_id}." in history.text
    assert "wanda" in history.text


def test_a_job_runs_again_once_and_its_page_then_links_the_new_job_instead(
    family, writer, tenant, fail_tracked_job
):
    failed = fail_tracked_job(family, tenant)
    writer.post(family.url("rerun", failed), {"post": "yes"})

    again = writer.post(family.url("rerun", failed), {"post": "yes"})
    detail = writer.get(family.url("change", failed))

    assert "could not be run again" in messages_of(again)[-1]
    assert len(jobs_of(family, tenant)) == 2
    assert detail.context["show_rerun"] is False


def test_a_cancelled_tracked_job_can_be_run_again(family, writer, writer_user, tenant):
    job_id = enqueue_tracked(FAILING[family.name], tenant=tenant, job=family.tracked_fields(tenant))
    queued = family.family.load(job_id)
    family.family.cancel(queued, actor=writer_user)

    response = writer.get(family.url("rerun", queued))

    assert [job.pk for job, _ in response.context["rerunnable"]] == [queued.pk]


def test_who_may_not_write_the_familys_jobs_has_no_rerun_action_button_or_page(
    family, tenant, make_member, fail_tracked_job
):
    failed = fail_tracked_job(family, tenant)
    # Every READ and CANCEL but no WRITE (Traffic Ops cancels with WRITE: it has no CANCEL).
    writes = {each.write_permission for each in families}
    without_write = [perm for perm in operate_permissions() if perm not in writes]
    operator = logged_in(make_member(tenant, "operator", permissions=without_write, is_staff=True))

    changelist = operator.get(family.url("changelist"))
    detail = operator.get(family.url("change", failed))

    assert "rerun_selected" not in changelist.text
    assert detail.context["show_rerun"] is False
    assert operator.get(family.url("rerun", failed)).status_code == HTTPStatus.FORBIDDEN
    assert operator.post(family.url("rerun", failed), {"post": "yes"}).status_code == 403
    assert jobs_of(family, tenant) == {failed.pk}


@pytest.mark.parametrize("method", ["get", "post"])
def test_running_another_tenants_job_again_is_404_and_makes_no_job(
    family, writer, other_tenant, fail_tracked_job, method
):
    theirs = fail_tracked_job(family, other_tenant)

    response = getattr(writer, method)(family.url("rerun", theirs), {"post": "yes"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert jobs_of(family, other_tenant) == {theirs.pk}
    assert not hasattr(run_of(family, theirs), "rerun")


def test_the_bulk_action_cannot_reach_another_tenants_job(
    family, writer, other_tenant, fail_tracked_job
):
    theirs = fail_tracked_job(family, other_tenant)
    data = {"action": "rerun_selected", "_selected_action": [theirs.pk], "post": "yes"}

    writer.post(family.url("changelist"), data)

    assert jobs_of(family, other_tenant) == {theirs.pk}


def test_the_confirmation_queries_do_not_grow_with_the_selection(
    family, writer, tenant, fail_tracked_job
):
    def confirm(jobs) -> int:
        data = {"action": "rerun_selected", "_selected_action": [job.pk for job in jobs]}
        with CaptureQueriesContext(connection) as captured:
            response = writer.post(family.url("changelist"), data)
        assert response.status_code == HTTPStatus.OK
        return len(captured)

    few = [fail_tracked_job(family, tenant) for _ in range(2)]
    many = [fail_tracked_job(family, tenant) for _ in range(6)]

    assert confirm(many) == confirm(few)
