"""Tracked tasks on the database worker: queued -> running -> finished, failures, cancels."""

import zipfile
from pathlib import Path

import pytest

from asset_jobs.models import AssetJob
from async_status.models import AsyncStatus
from jobs.tasks import enqueue_tracked
from progress.models import Progress
from progress.services import progress_cancel
from tests.asset_jobs.factories import InstanceFactory
from tests.jobs.tasks import sample_tasks

pytestmark = pytest.mark.django_db


def progress(job_id: str) -> Progress:
    return Progress.objects.across_tenants().get(pk=int(job_id))


def lines(trail: str) -> list[str]:
    path = Path(trail)
    return path.read_text().splitlines() if path.exists() else []


def enqueue(capture, task, *args, tenant, **kwargs) -> str:
    """Enqueue `task` as a tracked job and commit, so the task reaches the queue."""
    with capture(execute=True):
        return enqueue_tracked(task, *args, tenant=tenant, **kwargs)


def test_the_job_is_queued_until_a_worker_runs_it_then_completes_with_results(
    tenant, django_capture_on_commit_callbacks, run_worker, trail
):
    job_id = enqueue(
        django_capture_on_commit_callbacks, sample_tasks.count_to, 4, trail, tenant=tenant
    )
    assert progress(job_id).workflow_state == "queued"

    run_worker()

    job = progress(job_id)
    assert (job.workflow_state, job.completion, job.results) == ("completed", 100.0, {"counted": 4})
    assert job.tag == "count"
    assert job.heartbeat_at is not None
    assert lines(trail) == ["step 1", "step 2", "step 3", "step 4"]


def test_no_task_is_enqueued_when_the_transaction_rolls_back(
    tenant, django_capture_on_commit_callbacks, trail
):
    with django_capture_on_commit_callbacks() as callbacks:
        enqueue_tracked(sample_tasks.count_to, 1, trail, tenant=tenant)

    assert len(callbacks) == 1
    assert Progress.objects.for_tenant(tenant).get().workflow_state == "queued"


def test_an_exception_fails_the_job_with_an_error_id_and_no_traceback(
    tenant, django_capture_on_commit_callbacks, run_worker, caplog
):
    job_id = enqueue(django_capture_on_commit_callbacks, sample_tasks.explode, tenant=tenant)

    run_worker()

    job = progress(job_id)
    assert job.workflow_state == "failed"
    assert job.message.startswith("Unexpected error, ID: ")
    assert "secret" not in job.message
    error_id = job.message.removeprefix("Unexpected error, ID: ")
    assert any(error_id in record.getMessage() and record.exc_info for record in caplog.records)


def test_a_cancel_during_the_run_stops_the_function_at_its_next_report(
    tenant, django_capture_on_commit_callbacks, run_worker, trail
):
    job_id = enqueue(
        django_capture_on_commit_callbacks,
        sample_tasks.cancelled_midway,
        10,
        4,
        trail,
        tenant=tenant,
    )

    run_worker()

    job = progress(job_id)
    assert (job.workflow_state, job.message) == ("failed", "Stopped by an operator.")
    assert lines(trail) == ["step 1", "step 2", "step 3"]
    assert job.results is None


def test_a_job_cancelled_before_a_worker_picks_it_up_never_starts(
    tenant, django_capture_on_commit_callbacks, run_worker, trail
):
    job_id = enqueue(
        django_capture_on_commit_callbacks, sample_tasks.count_to, 3, trail, tenant=tenant
    )
    progress_cancel(progress(job_id), actor=None, message="Not needed.")

    run_worker()

    job = progress(job_id)
    assert (job.workflow_state, job.message, job.completion) == ("failed", "Not needed.", None)
    assert lines(trail) == []


def test_an_async_status_task_finishes_with_its_message(
    tenant, django_capture_on_commit_callbacks, run_worker
):
    job_id = enqueue(django_capture_on_commit_callbacks, sample_tasks.renew, tenant=tenant)
    assert AsyncStatus.objects.for_tenant(tenant).get().message == "renewal queued."

    run_worker()

    job = AsyncStatus.objects.for_tenant(tenant).get(pk=int(job_id))
    assert (job.status, job.message) == ("SUCCEEDED", "Renewal complete.")


def test_an_export_task_returns_its_package(tenant, django_capture_on_commit_callbacks, run_worker):
    instance = InstanceFactory(tenant=tenant, instance_id="roma-1")
    job_id = enqueue(
        django_capture_on_commit_callbacks,
        sample_tasks.export,
        "{}",
        tenant=tenant,
        job={"instance": instance},
    )
    run_worker()

    job = AssetJob.objects.for_tenant(tenant).get(pk=job_id)
    assert (job.status, job.progress_percent) == ("Success", 1.0)
    with zipfile.ZipFile(job.archive) as package:
        assert package.read("manifest.json") == b"{}"
