"""A worker told to stop while a tracked job runs ends the job as interrupted, never running."""

import signal
from pathlib import Path

import pytest

from jobs.tasks import INTERRUPTED_MESSAGE, enqueue_tracked
from progress.models import Progress
from tests.jobs.tasks import sample_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """The workers leave their own handlers installed: put the test process's back."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def progress(job_id: str) -> Progress:
    return Progress.objects.across_tenants().get(pk=int(job_id))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_during_a_tracked_job_fails_it_as_interrupted(
    tenant, django_capture_on_commit_callbacks, run_worker, trail, signum
):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = enqueue_tracked(sample_tasks.stopped_by_signal, int(signum), trail, tenant=tenant)

    run_worker()

    job = progress(job_id)
    assert job.workflow_state == "failed"
    assert job.message == INTERRUPTED_MESSAGE
    # The function stopped where the signal arrived, and its clean-up ran.
    assert Path(trail).read_text().splitlines() == ["cleaned up"]


def test_the_worker_stops_after_the_interrupted_job_instead_of_taking_another(
    tenant, django_capture_on_commit_callbacks, run_worker, trail
):
    with django_capture_on_commit_callbacks(execute=True):
        first = enqueue_tracked(
            sample_tasks.stopped_by_signal, int(signal.SIGTERM), trail, tenant=tenant
        )
        second = enqueue_tracked(sample_tasks.count_to, 2, trail, tenant=tenant)

    run_worker()

    assert progress(first).workflow_state == "failed"
    assert progress(second).workflow_state == "queued"


def test_a_forced_exit_during_a_tracked_job_fails_it_as_interrupted(
    tenant, django_capture_on_commit_callbacks, run_worker
):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = enqueue_tracked(sample_tasks.forced_exit, tenant=tenant)

    run_worker()

    job = progress(job_id)
    assert (job.workflow_state, job.message) == ("failed", INTERRUPTED_MESSAGE)


def test_a_tracked_job_leaves_the_signal_handlers_as_it_found_them(
    tenant, django_capture_on_commit_callbacks, trail
):
    def handler(signum, frame):
        raise AssertionError("not called")

    signal.signal(signal.SIGTERM, handler)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = enqueue_tracked(sample_tasks.count_to, 2, trail, tenant=tenant)
    sample_tasks.count_to.call(None, job_id, 2, trail)  # no task context: run in this thread

    assert signal.getsignal(signal.SIGTERM) is handler
    assert progress(job_id).workflow_state == "completed"
