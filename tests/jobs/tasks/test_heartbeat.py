"""A tracked task's heartbeat: a run whose worker stops beating is failed, job and task result.

Here the worker's heartbeat stops without the process dying (any database); the same with a
worker process killed by SIGKILL is in test_lost_worker.py (PostgreSQL).
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks.base import TaskContext, TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jobs.models import JobEvent, TrackedRun
from jobs.registry import families
from jobs.tasks import enqueue_tracked
from jobs.workers import Heartbeat, WorkerRun
from progress.models import Progress
from tests.jobs.tasks import sample_tasks
from tests.jobs.tasks.conftest import DB_BACKEND

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _connections_kept(monkeypatch):
    """The scheduler recycles connections before each command; here that would end the test's
    transaction (it runs in this process, on the test's connection)."""
    monkeypatch.setattr(
        "jobs.management.commands.run_maintenance.close_old_connections", lambda: None
    )


@pytest.fixture
def running(tenant, settings, django_capture_on_commit_callbacks):
    """A tracked job claimed by worker "w1", running, whose heartbeat started then stopped
    as a killed worker's does: return its id."""
    settings.TASKS = DB_BACKEND
    with django_capture_on_commit_callbacks(execute=True):
        job_id = enqueue_tracked(sample_tasks.hang, tenant=tenant)
    result = DBTaskResult.objects.get()
    result.claim("w1")
    families["progress"].start(job_id)
    heartbeat = Heartbeat(
        WorkerRun.of(TaskContext(task_result=result.task_result)), "progress", job_id
    )
    heartbeat.start()
    heartbeat.stopped.set()  # the thread ends, the beat stays: as when the process is killed
    heartbeat.thread.join()
    return job_id


def reap_at(seconds_after_beat: float, job_id: str, time_machine) -> Progress:
    """Run one maintenance pass `seconds_after_beat` after the run's last beat."""
    beat = TrackedRun.objects.across_tenants().get(job_id=job_id).beat_at
    time_machine.move_to(beat + timedelta(seconds=seconds_after_beat), tick=False)
    call_command("run_maintenance", "--once", stdout=StringIO())
    return Progress.objects.across_tenants().get(pk=int(job_id))


def test_a_run_whose_worker_stopped_beating_fails_its_job_and_task_after_the_bound(
    running, settings, time_machine
):
    settings.JOBDESK_WORKER_LOST_SECONDS = 30

    assert reap_at(29, running, time_machine).workflow_state == "running"
    job = reap_at(31, running, time_machine)

    assert (job.workflow_state, job.message) == (
        "failed",
        "The worker running this job was lost: no sign of life for 30 seconds.",
    )
    events = JobEvent.objects.across_tenants().filter(job_id=running).order_by("at", "pk")
    assert events.last().kind == JobEvent.Kind.REAPED
    result = DBTaskResult.objects.get()
    assert (result.status, result.exception_class_path) == (
        TaskResultStatus.FAILED,
        "jobs.workers.WorkerLost",
    )
    assert TrackedRun.objects.across_tenants().get().beat_at is None  # not looked at again


def test_a_run_that_ends_clears_its_beat_so_the_reaper_never_looks_at_it(
    tenant, settings, run_worker, django_capture_on_commit_callbacks, trail, time_machine
):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = enqueue_tracked(sample_tasks.count_to, 2, trail, tenant=tenant)
    run_worker()

    run = TrackedRun.objects.across_tenants().get()
    assert run.beat_at is None
    assert run.worker != ""
    time_machine.move_to(timezone.now() + timedelta(days=1), tick=False)
    call_command("run_maintenance", "--once", stdout=StringIO())
    job = Progress.objects.across_tenants().get(pk=int(job_id))
    assert job.workflow_state == "completed"


def test_a_dry_run_lists_the_jobs_of_lost_workers_and_changes_nothing(running, time_machine):
    beat = TrackedRun.objects.across_tenants().get().beat_at
    time_machine.move_to(beat + timedelta(hours=1), tick=False)
    output = StringIO()

    call_command("reap_stuck_jobs", "--dry-run", stdout=output)

    assert f"Would fail progress job {running}: The worker running this job was lost" in (
        output.getvalue()
    )
    assert Progress.objects.across_tenants().get().workflow_state == "running"
    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING
