"""Why a tracked job failed is kept privately, its task fails too, and it can be run again."""

import pytest
from django_tasks.base import TaskResultStatus

from jobs import tasks
from jobs.models import JobEvent, TaskWorker, TrackedRun
from jobs.tasks import RerunRefused, enqueue_tracked, rerun_tracked
from progress.models import Progress
from tests.jobs.tasks import sample_tasks
from tests.jobs.tasks.test_workers import enqueue, progress

pytestmark = pytest.mark.django_db


def run_of(job_id: str) -> TrackedRun:
    return TrackedRun.objects.across_tenants().of_job("progress", job_id).get()


def test_enqueueing_keeps_the_task_and_its_arguments(
    tenant, django_capture_on_commit_callbacks, trail
):
    job_id = enqueue(
        django_capture_on_commit_callbacks, sample_tasks.count_to, 3, trail, tenant=tenant
    )

    run = run_of(job_id)
    assert run.task_path == "tests.jobs.tasks.sample_tasks.count_to"
    assert (run.args, run.kwargs, run.tenant) == ([3, trail], {}, tenant)
    assert run.rerun_of is None


def test_arguments_json_cannot_hold_as_they_are_are_not_kept(tenant):
    job_id = enqueue_tracked(sample_tasks.count_to, 3, ("a", "tuple"), tenant=tenant)

    assert run_of(job_id).arguments is None


def test_a_failed_job_keeps_its_exception_privately_and_its_task_fails_too(
    tenant, django_capture_on_commit_callbacks, run_worker
):
    job_id = enqueue(django_capture_on_commit_callbacks, sample_tasks.explode, tenant=tenant)

    run_worker()

    job, run = progress(job_id), run_of(job_id)
    assert job.message == f"Unexpected error, ID: {run.error_id}"
    assert (run.exception_type, run.exception_message) == (
        "RuntimeError",
        "secret connection string",
    )
    assert run.traceback.startswith("Traceback (most recent call last):")
    assert 'raise RuntimeError("secret connection string")' in run.traceback
    assert run.failed_at is not None
    assert run.worker
    result = sample_tasks.explode.get_result(run.task_result_id)
    assert result.status == TaskResultStatus.FAILED


def test_the_worker_is_named_in_the_timeline_and_seen_with_its_last_sign_of_life(
    tenant, django_capture_on_commit_callbacks, run_worker, trail
):
    job_id = enqueue(
        django_capture_on_commit_callbacks, sample_tasks.count_to, 2, trail, tenant=tenant
    )

    run_worker()

    events = JobEvent.objects.across_tenants().filter(job_id=job_id).exclude(kind="created")
    names = {event.actor_name for event in events}
    (name,) = names
    worker = TaskWorker.objects.get()
    assert name.startswith(f"worker {worker.name} (task ")
    assert (worker.running, worker.last_seen is not None) == ("", True)


def test_a_cancelled_job_keeps_no_failure(
    tenant, django_capture_on_commit_callbacks, run_worker, trail
):
    job_id = enqueue(
        django_capture_on_commit_callbacks,
        sample_tasks.cancelled_midway,
        5,
        2,
        trail,
        tenant=tenant,
    )

    run_worker()

    assert progress(job_id).workflow_state == "failed"
    assert run_of(job_id).failed_at is None


def test_a_long_traceback_keeps_its_end_and_says_it_was_cut(monkeypatch):
    monkeypatch.setattr(tasks, "MAX_TRACEBACK", 200)
    try:
        raise ValueError("x" * 500 + " the end")
    except ValueError as error:
        text = tasks.truncated_traceback(error)

    assert text.startswith("[The first ")
    assert "characters of this traceback were cut.]" in text
    assert text.endswith("x the end\n")
    assert len(text) < 300


def test_running_a_failed_job_again_makes_a_linked_job_with_the_same_arguments(
    tenant, django_capture_on_commit_callbacks, run_worker, make_member
):
    operator = make_member(tenant, "admin")
    old_id = enqueue(django_capture_on_commit_callbacks, sample_tasks.explode, tenant=tenant)
    run_worker()

    with django_capture_on_commit_callbacks(execute=True):
        new_id = rerun_tracked(run_of(old_id), user=operator)
    run_worker()

    new, old_run, new_run = progress(new_id), run_of(old_id), run_of(new_id)
    assert new_id != old_id
    assert (new.tag, new.tenant, new.user) == ("explode", tenant, operator)
    assert new.workflow_state == "failed"
    assert new_run.rerun_of == old_run
    assert old_run.rerun == new_run
    assert (new_run.task_path, new_run.arguments) == (old_run.task_path, old_run.arguments)


def test_a_run_is_run_again_only_once(tenant, trail):
    job_id = enqueue_tracked(sample_tasks.count_to, 1, trail, tenant=tenant)
    rerun_tracked(run_of(job_id), user=None)

    with pytest.raises(RerunRefused, match="already run again"):
        rerun_tracked(run_of(job_id), user=None)

    assert Progress.objects.for_tenant(tenant).count() == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"task_path": "tests.jobs.tasks.sample_tasks.gone"}, "no longer exists"),
        ({"task_path": "jobs.tasks.enqueue_tracked"}, "is not a tracked task"),
        ({"arguments": None}, "arguments could not be kept"),
    ],
)
def test_a_run_whose_task_or_arguments_are_unknown_is_not_run_again(tenant, change, reason, trail):
    job_id = enqueue_tracked(sample_tasks.count_to, 1, trail, tenant=tenant)
    TrackedRun.objects.across_tenants().of_job("progress", job_id).update(**change)

    with pytest.raises(RerunRefused, match=reason):
        rerun_tracked(run_of(job_id), user=None)

    assert Progress.objects.for_tenant(tenant).count() == 1
