"""Fixtures of the tracked-task tests: a trail file, and a worker of each backend.

The RQ tests need Redis at 127.0.0.1:6379: they skip when it is unreachable, and fail when
the `CI` environment variable is set (CI must run them).
"""

import os

import pytest
from django.core.management import call_command

DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
RQ_BACKEND = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}


@pytest.fixture(autouse=True)
def _every_report_written(settings):
    """Write every report (no time throttle), so tests see each one."""
    settings.JOBDESK_TRACKED_REPORT_INTERVAL = 0


@pytest.fixture
def trail(tmp_path) -> str:
    return str(tmp_path / "trail.txt")


def rq_queue():
    """Return the RQ queue, emptied, or skip (fail on CI) when Redis is unreachable."""
    import django_rq
    from redis.exceptions import ConnectionError as RedisConnectionError

    queue = django_rq.get_queue("default")
    try:
        queue.connection.ping()
    except RedisConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis at 127.0.0.1:6379 is unreachable; CI must run the RQ tests.")
        pytest.skip("Redis at 127.0.0.1:6379 is unreachable")
    queue.empty()
    return queue


def run_rq_worker(queue) -> None:
    """Run an RQ worker in this process until the queue is empty."""
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    worker = SimpleWorker([queue], connection=queue.connection, job_class=Job)
    worker.work(burst=True, with_scheduler=False)


@pytest.fixture(params=["db", pytest.param("rq", marks=pytest.mark.rq)])
def run_worker(request, settings, monkeypatch):
    """Select a task backend; return a function running its worker until the queue is empty."""
    if request.param == "db":
        settings.TASKS = DB_BACKEND
        # The worker recycles connections between tasks; here that would end the test's
        # transaction (the worker runs in this process, on the test's connection).
        monkeypatch.setattr(
            "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
        )
        yield lambda: call_command(
            "db_worker", "--batch", "--interval", "0", "--no-startup-delay", "--no-reload"
        )
        return
    queue = rq_queue()
    settings.TASKS = RQ_BACKEND
    yield lambda: run_rq_worker(queue)
    queue.empty()
