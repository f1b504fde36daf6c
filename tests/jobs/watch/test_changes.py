"""Change notifications: what a committed change publishes, and what publishes nothing."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from asset_jobs import services as asset_jobs
from jobs import watch
from jobs.transitions import transition
from tests.asset_jobs.factories import make_zip
from tests.jobs.drivers import driver
from tests.jobs.watch.conftest import DEADLINE_SECONDS, watched_version

pytestmark = pytest.mark.django_db

ENDINGS = {"finished", "failed", "cancelled"}


MARKER = ("marker", "0")


def subscribe(family_name: str, job_id) -> watch.Subscription:
    """Subscribe to a job's changes, and to the marker `drain` publishes."""
    return watch.subscribe([(family_name, job_id), MARKER])


def drain(subscription: watch.Subscription) -> list[watch.JobChange]:
    """Return every change published so far (all that came before a marker published now)."""
    watch.publish(watch.JobChange.unknown(*MARKER))
    changes = []
    while (change := subscription.get(DEADLINE_SECONDS)) is not None:
        if change.key == MARKER:
            return changes
        changes.append(change)
    pytest.fail("The marker never arrived.")


def test_a_committed_change_names_family_tenant_job_version_and_state(
    family, job, tenant, django_capture_on_commit_callbacks
):
    watched_version(family, job)

    with subscribe(family.name, job.pk) as subscription:
        with django_capture_on_commit_callbacks(execute=True):
            family.finish(job)
        changes = drain(subscription)

    assert len(changes) == 1
    change = changes[0]
    assert (change.family, change.tenant_id, change.job_id) == (family.name, tenant.pk, str(job.pk))
    assert change.state == family.state_of(job)
    assert change.kind in ENDINGS
    assert change.version == watch.current_version(family.name, job.pk)
    assert change.version is not None


@pytest.mark.parametrize(
    ("family_name", "write", "kind"),
    [
        ("progress", lambda job: driver("progress").writes()["start"](job), "progress"),
        ("progress", lambda job: driver("progress").writes()["complete"](job), "finished"),
        ("progress", lambda job: driver("progress").writes()["fail"](job), "failed"),
        ("progress", lambda job: driver("progress").writes()["supersede"](job), "cancelled"),
        ("async_status", lambda job: driver("async_status").writes()["update"](job), "progress"),
        ("async_status", lambda job: driver("async_status").writes()["succeed"](job), "finished"),
        ("asset_jobs", lambda job: driver("asset_jobs").writes()["cancel"](job), "failed"),
        ("asset_jobs", lambda job: driver("asset_jobs").writes()["succeed"](job), "finished"),
    ],
)
def test_the_kind_of_a_change_says_how_the_job_moved(
    family_name, write, kind, tenant, django_capture_on_commit_callbacks
):
    job = driver(family_name).make(tenant)

    with subscribe(family_name, job.pk) as subscription:
        with django_capture_on_commit_callbacks(execute=True):
            write(job)
        kinds = [change.kind for change in drain(subscription)]

    assert kinds[-1] == kind


def test_a_change_of_a_job_that_had_ended_is_published_as_changed_not_as_a_second_end(
    tenant, django_capture_on_commit_callbacks
):
    job = driver("asset_jobs").make(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        asset_jobs.asset_job_succeed(job, archive=make_zip())

    with subscribe("asset_jobs", job.pk) as subscription:
        with django_capture_on_commit_callbacks(execute=True):
            asset_jobs.asset_archive_claim(job=job).file.close()  # Success -> Finished
        kinds = [change.kind for change in drain(subscription)]

    assert kinds == ["changed"]


def finish_then_roll_back(family, job, subscription) -> None:
    with transaction.atomic():
        family.finish(job)
        assert drain(subscription) == []  # not committed yet
        raise RuntimeError("roll back")


def test_nothing_is_published_before_the_commit_nor_for_a_rolled_back_change(
    family, job, django_capture_on_commit_callbacks
):
    with (
        subscribe(family.name, job.pk) as subscription,
        django_capture_on_commit_callbacks(execute=True),
    ):
        with pytest.raises(RuntimeError, match="roll back"):
            finish_then_roll_back(family, job, subscription)
        assert drain(subscription) == []

    assert family.family.is_pending(family.reload(job))


def test_a_heartbeat_alone_publishes_nothing(family, job, django_capture_on_commit_callbacks):
    if "updated_at" not in family.family.unshown_fields:
        pytest.skip("the family's body shows updated_at: every write is a change a client sees")
    pending = family.family.pending_states

    with subscribe(family.name, job.pk) as subscription:
        with django_capture_on_commit_callbacks(execute=True):
            transition(job, event="beat", allowed=pending, heartbeat_at=timezone.now())
        assert drain(subscription) == []


def test_a_purged_job_publishes_gone(family, job, tenant, django_capture_on_commit_callbacks):
    family.finish(job)

    with subscribe(family.name, job.pk) as subscription:
        with django_capture_on_commit_callbacks(execute=True):
            assert family.purge(job) == 1
        changes = drain(subscription)

    assert [(change.kind, change.tenant_id) for change in changes] == [("gone", tenant.pk)]


def test_changes_of_other_jobs_do_not_reach_a_subscription(
    family, job, tenant, other_tenant, django_capture_on_commit_callbacks
):
    theirs = family.make(other_tenant)
    mine_too = family.make(tenant)

    with subscribe(family.name, job.pk) as subscription:
        with django_capture_on_commit_callbacks(execute=True):
            family.finish(theirs)
            family.finish(mine_too)
        assert drain(subscription) == []


def test_a_change_survives_the_round_trip_through_its_wire_form():
    change = watch.JobChange("progress", 3, "7", 123456789012345678, "running", "progress")

    assert watch.JobChange.decode(change.encode()) == change
    assert watch.JobChange.decode(b"junk") is None
    assert watch.JobChange.decode(b'{"family": "progress"}') is None
