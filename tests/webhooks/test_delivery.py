"""A job's change reaches its tenant's subscribed endpoints: signed, with the family's body."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks import default_task_backend, task_backends

from tests.jobs.drivers import drivers
from tests.webhooks.conftest import Answer, queued, run_due_attempts
from webhooks import services
from webhooks.models import EVENTS, Delivery, DeliveryAttempt, Endpoint
from webhooks.signing import verify

pytestmark = pytest.mark.django_db


@pytest.fixture(params=drivers(), ids=lambda each: each.name)
def family(request):
    return request.param


def succeed(family, job) -> None:
    """Finish `job` successfully, through its family's services."""
    assert family.family.start(str(job.pk)) or family.family.is_pending(family.reload(job))
    assert family.family.complete(str(job.pk), results={"rows": 3})


def deliveries(**filters) -> list[Delivery]:
    return list(Delivery.objects.across_tenants().filter(**filters).order_by("pk"))


def test_a_finished_job_is_posted_to_its_tenants_endpoint_with_the_body_its_read_returns(
    family, tenant, make_endpoint, receiver, make_member, make_token, client,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    endpoint, secret = make_endpoint(
        tenant, receiver.url, families=[family.name], events=["finished"]
    )
    job = family.make(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        succeed(family, job)
    run_due_attempts()

    (received,) = receiver.received
    raw_key = make_token(make_member(tenant, "admin"), tenant)
    read = client.get(family.poll_path(job), **family.headers(raw_key))
    assert read.status_code == HTTPStatus.OK
    assert received.body == read.content
    assert received.headers["Jobdesk-Event"] == "finished"
    assert received.headers["Jobdesk-Family"] == family.name
    assert received.headers["Jobdesk-Job-Id"] == str(job.pk)
    (delivery,) = deliveries(endpoint=endpoint)
    assert received.headers["Jobdesk-Delivery"] == str(delivery.delivery_id)
    assert verify(secret, received.body, received.headers["Jobdesk-Signature"])
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.last_status_code == HTTPStatus.OK


def test_no_change_of_another_tenant_ever_reaches_an_endpoint(
    family, tenant, other_tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(other_tenant, receiver.url, events=EVENTS)
    job = family.make(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        succeed(family, job)
    run_due_attempts()

    assert receiver.received == []
    assert deliveries() == []


def test_only_the_families_and_events_an_endpoint_chose_are_delivered(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    progress, other = drivers()[0], drivers()[1]
    make_endpoint(tenant, receiver.url, families=[progress.name], events=["failed"])
    jobs = [progress.make(tenant), other.make(tenant)]
    with django_capture_on_commit_callbacks(execute=True):
        succeed(progress, jobs[0])
        succeed(other, jobs[1])

    assert deliveries() == []


def test_progress_is_delivered_to_endpoints_that_chose_it(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    from progress import services as progress_services

    make_endpoint(tenant, receiver.url, families=["progress"], events=["progress"])
    job = drivers()[0].make(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        progress_services.progress_start(job)
        progress_services.progress_update(job, completion=40, message="two of five")
    run_due_attempts()

    assert [r.headers["Jobdesk-Event"] for r in receiver.received] == ["progress", "progress"]
    assert json.loads(receiver.received[-1].body)["completion"] == 40


def test_the_write_path_only_enqueues_and_sends_nothing(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    job = family.make(tenant)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        succeed(family, job)
        assert deliveries() == []  # nothing before the commit

    assert callbacks
    assert receiver.received == []
    (delivery,) = deliveries()
    assert delivery.status == Delivery.Status.PENDING
    assert [result.args for result in queued()] == [[[delivery.pk]]]


def test_a_change_rolled_back_delivers_nothing(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    job = family.make(tenant)

    def succeed_then_roll_back() -> None:
        with transaction.atomic():
            succeed(family, job)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        succeed_then_roll_back()

    assert deliveries() == []
    assert queued() == []


def test_a_failed_delivery_is_retried_on_schedule_honouring_retry_after(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [
        Answer(HTTPStatus.SERVICE_UNAVAILABLE, {"Retry-After": "7"}, b"busy"),
        Answer(HTTPStatus.INTERNAL_SERVER_ERROR, body=b"oops"),
        Answer(HTTPStatus.BAD_GATEWAY),
    ]
    make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    job = family.make(tenant)
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            succeed(family, job)
        run_due_attempts()
        (delivery,) = deliveries()
        # Retry-After's 7 s, then 10 s doubled at each attempt: 20 s, then 40 s.
        for attempt, offset in enumerate((7, 27, 67), start=2):
            due = start + timedelta(seconds=offset)
            assert [result.task.run_after for result in queued()] == [due]
            clock.move_to(due - timedelta(seconds=1))
            assert services.delivery_attempt(delivery.pk) is None  # not due yet: not sent
            assert len(receiver.received) == attempt - 1
            clock.move_to(due)
            assert run_due_attempts() == 1
            assert len(receiver.received) == attempt

    delivery.refresh_from_db()
    assert {r.headers["Jobdesk-Delivery"] for r in receiver.received} == {str(delivery.delivery_id)}
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 4
    log = list(delivery.attempt_log.values_list("status_code", "response_excerpt"))
    assert log == [(503, "busy"), (500, "oops"), (502, "ok"), (200, "ok")]


def test_an_attempt_run_twice_is_sent_once(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    with django_capture_on_commit_callbacks(execute=True):
        succeed(family, family.make(tenant))
    (delivery,) = deliveries()

    services.delivery_attempt(delivery.pk)
    services.delivery_attempt(delivery.pk)

    assert len(receiver.received) == 1


def test_a_delivery_gives_up_after_the_last_attempt(
    settings, tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    settings.JOBDESK_WEBHOOKS_MAX_ATTEMPTS = 2
    receiver.always = Answer(HTTPStatus.INTERNAL_SERVER_ERROR)
    endpoint, _ = make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            succeed(family, family.make(tenant))
        run_due_attempts()
        clock.shift(timedelta(hours=1))
        run_due_attempts()
        clock.shift(timedelta(hours=1))
        assert run_due_attempts() == 0

    (delivery,) = deliveries()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.next_attempt_at is None
    assert len(receiver.received) == 2
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1


def test_an_endpoint_whose_deliveries_keep_failing_is_disabled_with_a_reason(
    settings, tenant, make_endpoint, receiver, caplog, django_capture_on_commit_callbacks
):
    settings.JOBDESK_WEBHOOKS_MAX_ATTEMPTS = 1
    settings.JOBDESK_WEBHOOKS_DISABLE_AFTER = 3
    receiver.always = Answer(HTTPStatus.GONE)
    endpoint, _ = make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    with caplog.at_level(logging.WARNING, logger="webhooks"):
        for _ in range(4):
            with django_capture_on_commit_callbacks(execute=True):
                succeed(family, family.make(tenant))
            run_due_attempts()

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason.startswith("Disabled after 3 deliveries")
    assert endpoint.disabled_at is not None
    assert len(receiver.received) == 3  # the fourth change found it disabled
    assert f"Webhook endpoint {endpoint.pk} of tenant {tenant.pk} disabled" in caplog.text


def test_a_success_resets_the_count_of_failures(
    settings, tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    settings.JOBDESK_WEBHOOKS_MAX_ATTEMPTS = 1
    receiver.script = [Answer(HTTPStatus.INTERNAL_SERVER_ERROR)]
    endpoint, _ = make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            succeed(family, family.make(tenant))
        run_due_attempts()

    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_an_endpoint_disabled_after_the_change_gets_nothing(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    with django_capture_on_commit_callbacks(execute=True):
        succeed(family, family.make(tenant))
    services.endpoint_update(endpoint, is_active=False)
    run_due_attempts()

    assert receiver.received == []
    (delivery,) = deliveries()
    assert delivery.status == Delivery.Status.FAILED


def test_an_unreachable_receiver_is_an_error_in_the_log(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(tenant, receiver.url)
    receiver.stop()
    family = drivers()[0]
    with django_capture_on_commit_callbacks(execute=True):
        succeed(family, family.make(tenant))
    run_due_attempts()

    (delivery,) = deliveries()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error


def test_enqueueing_costs_the_same_queries_for_one_endpoint_or_many(
    tenant, make_endpoint, receiver, django_assert_num_queries
):
    family = drivers()[1]
    counts = []
    for endpoints in (1, 6):
        Endpoint.objects.for_tenant(tenant).delete()
        for _ in range(endpoints):
            make_endpoint(tenant, receiver.url)
        job = family.make(tenant)
        succeed(family, job)
        change = change_of(family, job)
        with django_assert_num_queries(3) as captured:  # endpoints, the job, the deliveries
            assert len(services.deliveries_enqueue(change)) == endpoints
        counts.append(len(captured))

    assert counts[0] == counts[1]


def test_enqueueing_costs_one_query_when_no_endpoint_wants_the_change(
    tenant, make_endpoint, receiver, django_assert_num_queries
):
    family = drivers()[1]
    make_endpoint(tenant, receiver.url, events=["failed"])
    job = family.make(tenant)
    succeed(family, job)
    with django_assert_num_queries(1):
        assert services.deliveries_enqueue(change_of(family, job)) == []


def change_of(family, job):
    from jobs.watch import JobChange

    return JobChange(family.name, job.tenant_id, str(job.pk), None, family.succeeded, "finished")


def test_a_name_resolving_to_a_private_address_is_refused_before_each_attempt(
    settings, tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    settings.JOBDESK_WEBHOOKS_ALLOW_PRIVATE = False
    make_endpoint(tenant, receiver.url.replace("127.0.0.1", "localhost"))
    family = drivers()[0]
    with django_capture_on_commit_callbacks(execute=True):
        succeed(family, family.make(tenant))
    run_due_attempts()

    assert receiver.received == []
    (delivery,) = deliveries()
    assert "localhost is a loopback, private or reserved address" in delivery.last_error


def test_a_redirect_is_a_failure_and_is_not_followed(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [Answer(HTTPStatus.FOUND, {"Location": "http://169.254.169.254/"})]
    make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    with django_capture_on_commit_callbacks(execute=True):
        succeed(family, family.make(tenant))
    run_due_attempts()

    (delivery,) = deliveries()
    assert (delivery.status, delivery.last_status_code) == (Delivery.Status.PENDING, 302)
    assert len(receiver.received) == 1


def test_an_attempt_whose_worker_died_is_enqueued_again_by_the_sweep(
    tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            succeed(family, family.make(tenant))
        (delivery,) = deliveries()
        assert services.claim(delivery.pk) is not None  # a worker took it, then died
        default_task_backend.clear()

        assert services.deliveries_requeue_overdue() == 0  # its lease still runs
        clock.shift(timedelta(seconds=5 + services.LEASE_MARGIN_SECONDS))
        assert services.deliveries_requeue_overdue() == 0  # due, but within the grace
        clock.shift(timedelta(seconds=services.SWEEP_GRACE_SECONDS))
        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliveries_requeue_overdue() == 1
        run_due_attempts()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 2  # the lost attempt counts
    assert len(receiver.received) == 1


def test_with_a_backend_that_runs_tasks_in_the_caller_the_sweep_sends_every_attempt(
    monkeypatch, tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(task_backends["default"], "supports_defer", False)  # as `immediate`
    receiver.script = [Answer(HTTPStatus.INTERNAL_SERVER_ERROR)]
    make_endpoint(tenant, receiver.url)
    family = drivers()[0]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            succeed(family, family.make(tenant))
        assert queued() == []  # nothing runs on the write path
        for wait in (services.SWEEP_GRACE_SECONDS, 10 + services.SWEEP_GRACE_SECONDS):
            clock.shift(timedelta(seconds=wait))
            with django_capture_on_commit_callbacks(execute=True):
                call_command("requeue_webhooks", stdout=StringIO())
            run_due_attempts()
            assert queued() == []  # no retry scheduled: the next sweep sends it

    (delivery,) = deliveries()
    assert delivery.status == Delivery.Status.DELIVERED
    assert len(receiver.received) == 2


def test_the_purge_deletes_deliveries_ended_before_the_retention_with_their_attempts(
    tenant, make_endpoint, settings
):
    settings.JOBDESK_WEBHOOKS_RETENTION_DAYS = 30
    endpoint, _ = make_endpoint(tenant, "https://hooks.example.com/jobs")
    now = timezone.now()

    def delivery(status: str, ended_days_ago: int | None) -> Delivery:
        ended = None if ended_days_ago is None else now - timedelta(days=ended_days_ago)
        made = Delivery.objects.create(
            tenant=tenant,
            endpoint=endpoint,
            family="progress",
            job_id="7",
            event="finished",
            body=b"{}",
            status=status,
            created_at=now - timedelta(days=40),
            finished_at=ended,
        )
        DeliveryAttempt.objects.create(delivery=made, number=1, status_code=200)
        return made

    delivery(Delivery.Status.DELIVERED, 31)
    delivery(Delivery.Status.FAILED, 31)
    kept = {
        delivery(Delivery.Status.DELIVERED, 29).pk,
        delivery(Delivery.Status.FAILED, 29).pk,
        delivery(Delivery.Status.PENDING, None).pk,
    }
    output = StringIO()

    call_command("purge_webhook_deliveries", stdout=output)

    assert {each.pk for each in deliveries()} == kept
    assert set(DeliveryAttempt.objects.values_list("delivery_id", flat=True)) == kept
    assert output.getvalue() == "Deleted 2 webhook delivery record(s).\n"
