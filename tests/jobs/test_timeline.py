"""Every family's transitions write the job's timeline, in the transition's own transaction."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs import timeline
from jobs.models import JobEvent, TaskWorker
from jobs.registry import families
from jobs.timeline import Actor, acting
from progress import services as progress_services
from tests.factories import UserFactory
from tests.jobs.drivers import drivers, long_ago, operate_permissions

pytestmark = pytest.mark.django_db

Kind = JobEvent.Kind


@pytest.fixture(params=drivers(), ids=lambda family: family.name)
def family(request):
    return request.param


def events(family, job) -> list[JobEvent]:
    return list(timeline.events_of(family.family, family.reload(job)))


def kinds(family, job) -> list[str]:
    return [event.kind for event in events(family, job)]


def started(family, tenant, **fields):
    """Return a new job of `tenant` that a worker has picked up."""
    job = family.make(tenant, **fields)
    assert family.family.start(str(job.pk))
    return job


def test_creating_a_job_records_who_created_it(family, tenant):
    creator = UserFactory(username="carol")

    job = family.make(tenant, user=creator)

    (created,) = events(family, job)
    assert (created.kind, created.from_state, created.to_state) == (
        Kind.CREATED,
        "",
        family.state_of(job),
    )
    assert (created.actor, created.actor_name, created.tenant) == (creator, "carol", tenant)
    assert (created.family, created.job_id) == (family.name, str(job.pk))


def test_a_worker_picking_the_job_up_records_started(family, tenant):
    job = started(family, tenant)

    assert kinds(family, job) == [Kind.CREATED, Kind.STARTED]
    assert events(family, job)[-1].to_state == family.running


def test_heartbeats_after_the_start_record_nothing(family, tenant):
    job = started(family, tenant)

    for _ in range(3):
        assert family.family.report(str(job.pk), completion=None, message=None)

    assert kinds(family, job) == [Kind.CREATED, Kind.STARTED]


def test_a_successful_finish_records_completed_from_the_running_state(family, tenant):
    job = started(family, tenant)

    assert family.family.complete(str(job.pk), results=None)

    last = events(family, job)[-1]
    assert (last.kind, last.from_state, last.to_state) == (
        Kind.COMPLETED,
        family.running,
        family.succeeded,
    )


def test_a_failure_records_failed_with_its_message(family, tenant):
    job = started(family, tenant)

    assert family.family.fail(str(job.pk), message="Disk full.")

    last = events(family, job)[-1]
    assert (last.kind, last.to_state) == (Kind.FAILED, family.failed)
    if family.name != "asset_jobs":  # ROMA keeps the message in its reasons
        assert last.message == "Disk full."


def test_a_cancel_records_cancelled_whatever_state_it_leaves_on_the_wire(family, tenant):
    job = started(family, tenant)
    operator = UserFactory(username="olivia")

    with acting(Actor.of_user(operator)):
        assert family.family.cancel(family.reload(job), actor=operator)

    last = events(family, job)[-1]
    # Canvas and Traffic Ops cancels leave `failed` on the wire: the event says what it was.
    assert (last.kind, last.to_state, last.actor) == (Kind.CANCELLED, family.cancelled, operator)
    assert timeline.cancelled_ids(family.family, [family.reload(job)]) == {str(job.pk)}


def test_a_refused_transition_records_nothing(family, tenant):
    job = started(family, tenant)
    family.family.fail(str(job.pk), message="over")

    assert not family.family.complete(str(job.pk), results=None)

    assert kinds(family, job) == [Kind.CREATED, Kind.STARTED, Kind.FAILED]


def test_the_reapers_failure_records_reaped(family, tenant):
    job = family.insert(tenant)
    family.family.jobs().filter(pk=job.pk).update(heartbeat_at=long_ago())

    call_command("reap_stuck_jobs", stdout=StringIO())

    (reaped,) = events(family, job)
    assert (reaped.kind, reaped.to_state, reaped.actor_name) == (
        Kind.REAPED,
        family.failed,
        "reap_stuck_jobs",
    )


@pytest.mark.parametrize(
    "family",
    [driver for driver in drivers() if driver.family.progress_field],
    ids=lambda family: family.name,
)
def test_progress_is_recorded_once_per_step_of_ten_percent(family, tenant):
    job = started(family, tenant)

    for percent in [3, 9, 10, 14, 19.9, 25, 26, 61, 100]:
        assert family.family.report(str(job.pk), completion=percent, message=None)

    steps = [event.progress for event in events(family, job) if event.kind == Kind.PROGRESS]
    assert steps == pytest.approx([10, 25, 61, 100])


@pytest.mark.parametrize(
    "family",
    [driver for driver in drivers() if not driver.family.progress_field],
    ids=lambda family: family.name,
)
def test_a_family_without_a_percent_records_no_progress_steps(family, tenant):
    job = started(family, tenant)

    for percent in [10, 50, 100]:
        assert family.family.report(str(job.pk), completion=percent, message=None)

    assert kinds(family, job) == [Kind.CREATED, Kind.STARTED]


def test_progress_reported_out_of_order_never_records_a_step_backwards(tenant):
    job = progress_services.progress_create(tenant=tenant, tag="t", context_type="C", context_id=1)
    progress_services.progress_start(job)
    progress_services.progress_update(job, completion=35)
    stale = type(job).objects.across_tenants().get(pk=job.pk)
    progress_services.progress_update(job, completion=52)

    progress_services.progress_update(stale, completion=45)

    steps = JobEvent.objects.across_tenants().filter(job_id=str(job.pk), kind=Kind.PROGRESS)
    assert [event.progress for event in steps.order_by("at", "pk")] == [35, 52]


def test_canvas_waiting_for_an_external_tool_and_a_superseded_job_are_recorded(tenant):
    waiting = progress_services.progress_create(
        tenant=tenant, tag="t", context_type="C", context_id=1
    )
    progress_services.progress_start(waiting)
    progress_services.progress_wait_for_external_tool(waiting)
    superseded = progress_services.progress_create(
        tenant=tenant, tag="t", context_type="C", context_id=1
    )
    progress_services.progress_supersede(superseded)

    family = families["progress"]
    assert [e.kind for e in timeline.events_of(family, waiting)][-1] == Kind.WAITING
    last = list(timeline.events_of(family, superseded))[-1]
    assert (last.kind, last.from_state, last.to_state) == (Kind.CANCELLED, "queued", "canceled")


@pytest.mark.parametrize(
    "family",
    [driver for driver in drivers() if driver.family.progress_field],
    ids=lambda family: family.name,
)
def test_a_progress_step_costs_one_insert_and_a_report_within_a_step_nothing(family, tenant):
    job = started(family, tenant)
    family.family.report(str(job.pk), completion=11, message=None)

    with CaptureQueriesContext(connection) as within_a_step:
        family.family.report(str(job.pk), completion=12, message=None)
    with CaptureQueriesContext(connection) as past_a_step:
        family.family.report(str(job.pk), completion=21, message=None)

    def count(captured, verb: str) -> int:
        return sum(query["sql"].startswith(verb) for query in captured)

    assert (count(within_a_step, "INSERT"), count(past_a_step, "INSERT")) == (0, 1)
    assert count(past_a_step, "UPDATE") == count(within_a_step, "UPDATE")
    # A never-backwards report (Canvas' AtLeast) reads the stored value before recording.
    assert count(past_a_step, "SELECT") - count(within_a_step, "SELECT") in (0, 1)
    steps = [event.progress for event in events(family, job) if event.kind == Kind.PROGRESS]
    assert steps == pytest.approx([11, 21])


@pytest.mark.django_db(transaction=True)
def test_a_job_never_changes_without_its_event(tenant, monkeypatch):
    job = progress_services.progress_create(tenant=tenant, tag="t", context_type="C", context_id=1)

    def broken_insert(self, *args, **kwargs):
        raise RuntimeError("the event could not be written")

    monkeypatch.setattr(JobEvent, "save", broken_insert)
    with pytest.raises(RuntimeError):
        progress_services.progress_start(job)

    assert type(job).objects.across_tenants().get(pk=job.pk).workflow_state == "queued"


def test_an_operator_cancelling_in_the_admin_is_named_in_the_timeline(
    family, tenant, client, make_member
):
    job = started(family, tenant)
    operator = make_member(
        tenant, "operator", permissions=operate_permissions(), is_staff=True, username="olivia"
    )
    client.force_login(operator)

    client.post(family.url("cancel", job), {"post": "yes"})

    last = events(family, job)[-1]
    assert (last.kind, last.actor, last.actor_name) == (Kind.CANCELLED, operator, "olivia")


def test_purging_forgets_workers_not_seen_for_a_week(tenant):
    now = timezone.now()
    TaskWorker.objects.create(backend="default", name="gone", last_seen=now - timedelta(days=8))
    TaskWorker.objects.create(backend="default", name="here", last_seen=now - timedelta(days=6))

    call_command("purge_finished_jobs", stdout=StringIO())

    assert list(TaskWorker.objects.values_list("name", flat=True)) == ["here"]


def test_purging_a_finished_job_deletes_its_timeline(family, tenant, settings):
    settings.JOBDESK_RETENTION_DAYS = dict.fromkeys(families.names(), 1)
    job = started(family, tenant)
    family.family.fail(str(job.pk), message="over")
    kept = started(family, tenant)
    ended = family.family.ended_field or "updated_at"
    family.family.jobs().filter(pk=job.pk).update(**{ended: timezone.now() - timedelta(days=3)})

    call_command("purge_finished_jobs", stdout=StringIO())

    assert not JobEvent.objects.across_tenants().filter(job_id=str(job.pk), family=family.name)
    assert kinds(family, kept) == [Kind.CREATED, Kind.STARTED]


def test_a_cancel_through_the_api_names_the_tokens_user(
    tenant, api_client, make_member, make_token
):
    job = progress_services.progress_create(tenant=tenant, tag="t", context_type="C", context_id=1)
    user = make_member(tenant, "operations", username="ops-bot")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {make_token(user, tenant)}"}

    response = api_client.post(f"/api/v1/progress/{job.pk}/cancel", **headers)

    assert response.status_code == 200
    last = list(timeline.events_of(families["progress"], job))[-1]
    assert (last.kind, last.actor, last.actor_name) == (Kind.CANCELLED, user, "ops-bot")
