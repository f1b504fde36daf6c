from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from async_status.models import AsyncStatus
from async_status.services import (
    async_status_cancel,
    async_status_create,
    async_status_finish,
    async_status_update,
    cancel_message,
)
from jobs.transitions import TransitionRefused
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
State = AsyncStatus.State


def stored(job: AsyncStatus) -> AsyncStatus:
    return AsyncStatus.objects.across_tenants().get(pk=job.pk)


def test_create_records_a_pending_job_without_end_time(tenant):
    user = UserFactory()

    job = async_status_create(tenant=tenant, message="DNSSEC refresh started", user=user)

    row = stored(job)
    assert (row.status, row.message, row.end_time) == (
        State.PENDING,
        "DNSSEC refresh started",
        None,
    )
    assert row.tenant == tenant
    assert row.user == user
    assert row.start_time <= timezone.now()


def test_update_replaces_the_message_and_keeps_the_job_pending(job):
    async_status_update(job, message="ACME renewal in progress. 1 certs renewed, 0 errors.")

    row = stored(job)
    assert row.status == State.PENDING
    assert row.message == "ACME renewal in progress. 1 certs renewed, 0 errors."
    assert row.end_time is None


@pytest.mark.parametrize(("succeeded", "status"), [(True, State.SUCCEEDED), (False, State.FAILED)])
def test_finish_sets_the_final_state_and_end_time(job, succeeded, status):
    returned = async_status_finish(job, succeeded=succeeded, message="Done.")

    row = stored(job)
    assert (row.status, row.message) == (status, "Done.")
    assert row.end_time is not None
    assert row.end_time >= row.start_time
    assert (returned.status, returned.end_time) == (row.status, row.end_time)


def test_cancel_fails_the_job_with_a_message_naming_the_actor_and_time(job):
    actor = UserFactory(username="alice")

    async_status_cancel(job, actor=actor, message="Wrong CDN.")

    row = stored(job)
    assert row.status == State.FAILED
    assert row.end_time is not None
    stamp = row.end_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row.message == f"Cancelled by alice at {stamp}. Wrong CDN."


def test_cancel_message_without_reason_says_who_and_when():
    actor = UserFactory(username="alice")
    when = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)

    assert cancel_message(actor, when, None) == "Cancelled by alice at 2026-11-23T12:00:00Z."


@pytest.mark.parametrize("final", [State.SUCCEEDED, State.FAILED])
@pytest.mark.parametrize(
    "transition",
    [
        lambda job: async_status_update(job, message="again"),
        lambda job: async_status_finish(job, succeeded=True, message="again"),
        lambda job: async_status_finish(job, succeeded=False, message="again"),
    ],
    ids=["update", "succeed", "fail"],
)
def test_finished_jobs_are_terminal_and_the_error_carries_their_state(
    tenant, make_job, final, transition
):
    job = make_job(tenant, final)
    before = stored(job)

    with pytest.raises(TransitionRefused) as caught:
        transition(job)

    assert caught.value.state == final
    after = stored(job)
    assert (after.status, after.message, after.end_time) == (
        before.status,
        before.message,
        before.end_time,
    )


@pytest.mark.parametrize("final", [State.SUCCEEDED, State.FAILED])
def test_cancelling_a_finished_job_says_so_and_changes_nothing(tenant, make_job, final):
    job = make_job(tenant, final)
    before = stored(job)

    assert async_status_cancel(job, actor=UserFactory(), message="again") is False

    after = stored(job)
    assert (after.status, after.message, after.end_time) == (
        before.status,
        before.message,
        before.end_time,
    )


def test_a_stale_instance_cannot_overwrite_a_finished_job(job):
    stale = AsyncStatus.objects.across_tenants().get(pk=job.pk)
    async_status_finish(job, succeeded=True, message="Done.")

    assert async_status_cancel(stale, actor=UserFactory()) is False

    assert stale.status == State.SUCCEEDED
    assert stored(job).message == "Done."


@pytest.mark.parametrize("message", [None, 42, b"bytes"])
def test_messages_must_be_strings(tenant, job, message):
    with pytest.raises(TypeError):
        async_status_create(tenant=tenant, message=message)
    with pytest.raises(TypeError):
        async_status_finish(job, succeeded=True, message=message)
    assert stored(job).status == State.PENDING


@pytest.mark.parametrize(
    ("status", "end_time"),
    [("PENDING", timezone.now()), ("SUCCEEDED", None), ("FAILED", None), ("RUNNING", None)],
)
def test_database_refuses_an_end_time_that_disagrees_with_the_state(job, status, end_time):
    with pytest.raises(IntegrityError), transaction.atomic():
        AsyncStatus.objects.across_tenants().filter(pk=job.pk).update(
            status=status, end_time=end_time
        )


def test_default_manager_fails_closed_and_state_methods_filter(tenant, make_job):
    pending, done = make_job(tenant), make_job(tenant, "SUCCEEDED")
    everything = AsyncStatus.objects.across_tenants()

    assert not AsyncStatus.objects.all().exists()
    assert not AsyncStatus.objects.pending().exists()
    assert list(everything.pending()) == [pending]
    assert list(everything.finished()) == [done]
    assert str(pending) == f"async status {pending.pk} (PENDING)"
