"""A worker killed mid-task is found lost by its heartbeat; one maintenance pass fails its job
and its task result (real worker subprocesses, killed with SIGKILL)."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

import config.settings
from jobs.models import JobEvent, TrackedRun
from jobs.tasks import enqueue_tracked
from progress.models import Progress
from tests.jobs.tasks import sample_tasks
from tests.jobs.tasks.conftest import DB_BACKEND, RQ_BACKEND, rq_queue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
DEADLINE_SECONDS = 60
BACKENDS = {"db": DB_BACKEND, "rq": RQ_BACKEND}
WORKER_COMMANDS = {
    "db": ["db_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload"],
    "rq": [
        "rqworker",
        "--job-class",
        "django_tasks_rq.backend.Job",
        "--worker-class",
        "rq.SimpleWorker",
        "default",
    ],
}


def database_url() -> str:
    """Return the URL of the test database, for the worker subprocess."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_worker(backend: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_DEBUG": "1",
        "JOBDESK_TASKS_BACKEND": backend,
        "JOBDESK_WORKER_BEAT_SECONDS": "0.1",
    }
    queues_url = settings.RQ_QUEUES["default"]["URL"]
    if backend == "rq" and queues_url != config.settings.RQ_QUEUES["default"]["URL"]:
        # Without REDIS_URL, each worker of a parallel run keeps its RQ queues in a Redis
        # database of its own (tests/conftest.py): REDIS_URL is how the subprocess finds them.
        env["REDIS_URL"] = queues_url
    command = [sys.executable, "manage.py", *WORKER_COMMANDS[backend]]
    return subprocess.Popen(  # noqa: S603 - a fixed command line
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_for_beats(job_id: str) -> TrackedRun:
    """Poll the database until the job runs and its worker has beaten twice (its own thread
    beats after the start); fail after the deadline."""
    deadline, first = time.monotonic() + DEADLINE_SECONDS, None
    while time.monotonic() < deadline:
        run = TrackedRun.objects.across_tenants().of_job("progress", job_id).get()
        first = first or run.beat_at
        if run.beat_at and run.beat_at != first:
            return run
        time.sleep(0.05)
    pytest.fail(f"The worker of job {job_id} showed no heartbeat within {DEADLINE_SECONDS} s.")


@pytest.mark.parametrize("backend", ["db", pytest.param("rq", marks=pytest.mark.rq)])
def test_a_killed_worker_is_found_lost_and_one_maintenance_pass_fails_its_job_and_task(
    tenant, settings, backend, time_machine
):
    settings.TASKS = BACKENDS[backend]
    settings.JOBDESK_WORKER_LOST_SECONDS = 30
    if backend == "rq":
        rq_queue()
    job_id = enqueue_tracked(sample_tasks.hang, tenant=tenant)
    worker = start_worker(backend)
    try:
        last_beat = wait_for_beats(job_id).beat_at
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=DEADLINE_SECONDS)
    time_machine.move_to(last_beat + timedelta(seconds=29), tick=False)
    call_command("run_maintenance", "--once", stdout=StringIO())
    assert progress(job_id).workflow_state == "running"  # not lost yet

    time_machine.move_to(last_beat + timedelta(seconds=31), tick=False)
    call_command("run_maintenance", "--once", stdout=StringIO())

    job = progress(job_id)
    assert job.workflow_state == "failed"
    assert job.message == "The worker running this job was lost: no sign of life for 30 seconds."
    kinds = JobEvent.objects.across_tenants().filter(family="progress", job_id=job_id)
    assert list(kinds.order_by("at", "pk").values_list("kind", flat=True))[-1] == "reaped"
    if backend == "db":
        task = DBTaskResult.objects.get()
        assert task.status == TaskResultStatus.FAILED
        assert task.exception_class_path == "jobs.workers.WorkerLost"
        assert "no sign of life for 30 seconds" in task.traceback


def progress(job_id: str) -> Progress:
    return Progress.objects.across_tenants().get(pk=int(job_id))


def wait_for_state(job_id: str, state: str) -> Progress:
    """Poll the database until the job is in `state`, failing after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        job = Progress.objects.across_tenants().get(pk=int(job_id))
        if job.workflow_state == state and job.heartbeat_at is not None:
            return job
        time.sleep(0.1)
    pytest.fail(f"Job {job_id} did not become {state} within {DEADLINE_SECONDS} s.")


@pytest.mark.parametrize("backend", ["db", pytest.param("rq", marks=pytest.mark.rq)])
def test_the_job_of_a_killed_worker_is_failed_by_the_reaper(tenant, settings, backend):
    settings.TASKS = BACKENDS[backend]
    if backend == "rq":
        rq_queue()
    job_id = enqueue_tracked(sample_tasks.hang, tenant=tenant)
    worker = start_worker(backend)
    try:
        wait_for_state(job_id, "running")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=DEADLINE_SECONDS)
    settings.JOBDESK_STUCK_JOB_TIMEOUT = 0

    call_command("reap_stuck_jobs", stdout=StringIO())

    job = Progress.objects.across_tenants().get(pk=int(job_id))
    assert job.workflow_state == "failed"
    assert job.message.startswith("The worker running this job was lost")
