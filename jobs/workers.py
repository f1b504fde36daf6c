"""Task workers as jobdesk sees them: who runs a tracked task, and their signs of life.

django-tasks' database backend keeps no list of its workers, so the worker running a tracked
task records itself (`TaskWorker`): when it starts a job, when it finishes, and, while the
job reports, at most once every `BEAT_SECONDS`. RQ keeps its own list in Redis, with
heartbeats; the dashboard reads both (`workers_seen`).

While it runs a tracked task, a worker also beats on the task's `TrackedRun`, from a thread
of its own (`Heartbeat`), every `JOBDESK_WORKER_BEAT_SECONDS` however long the function goes
without reporting. A run whose beat is older than `JOBDESK_WORKER_LOST_SECONDS` lost its
worker (killed, out of memory, its machine gone): the reaper fails its job and its task
result (`lost_runs`, `forget_lost_run`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone
from django_tasks.base import TaskContext, TaskResultStatus

from jobs.models import TaskWorker, TrackedRun
from jobs.timeline import Actor

logger = logging.getLogger(__name__)

# A worker running a long job records a sign of life at most this often.
BEAT_SECONDS = 30
# The dashboard lists the workers seen this recently, at most this many per source.
SEEN_WITHIN = timedelta(hours=24)
WORKERS_SHOWN = 50
# `purge_finished_jobs` forgets workers not seen for this long (a database worker takes a new
# id each time it starts).
FORGET_AFTER = timedelta(days=7)


@dataclass
class WorkerRun:
    """The worker running one tracked task, and the task's id, from its task context."""

    backend: str
    worker_id: str
    task_id: str
    last_beat: float | None = field(default=None, compare=False)

    @classmethod
    def of(cls, context: TaskContext | None) -> WorkerRun | None:
        """Return who runs the task of `context` (None without a context or a worker id)."""
        if context is None or not context.task_result.worker_ids:
            return None
        result = context.task_result
        return cls(backend=result.backend, worker_id=result.worker_ids[-1], task_id=str(result.id))

    @property
    def actor(self) -> Actor:
        return Actor(name=f"worker {self.worker_id} (task {self.task_id})")

    def beat(self, *, running: str) -> None:
        """Record that this worker is alive, and the job it runs ("" when idle)."""
        self.last_beat = time.monotonic()
        now, key = timezone.now(), {"backend": self.backend, "name": self.worker_id[:64]}
        if TaskWorker.objects.filter(**key).update(last_seen=now, running=running):
            return
        try:
            with transaction.atomic():
                TaskWorker.objects.create(**key, last_seen=now, running=running)
        except IntegrityError:  # another process of the same worker id recorded it first
            TaskWorker.objects.filter(**key).update(last_seen=now, running=running)

    def beat_if_due(self, *, running: str) -> None:
        """Record a sign of life if the last one is `BEAT_SECONDS` old."""
        if self.last_beat is None or time.monotonic() - self.last_beat >= BEAT_SECONDS:
            self.beat(running=running)


class WorkerLost(Exception):
    """The worker running a task stopped showing signs of life (how its task result says it)."""


class Heartbeat:
    """Beat on a tracked task's run from a thread, until stopped (see the module).

    The first beat, from the worker's own thread, names the worker and its task result on the
    run; stopping clears the beat, so only runs whose worker vanished keep an old one.
    """

    def __init__(self, worker: WorkerRun, family: str, job_id: str) -> None:
        self.worker = worker
        self.run = TrackedRun.objects.across_tenants().of_job(family, job_id)
        self.running = f"{family} job {job_id}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.beat_until_stopped, daemon=True)

    def start(self) -> Heartbeat:
        self.run.update(
            beat_at=timezone.now(),
            worker=self.worker.worker_id[:64],
            task_result_id=self.worker.task_id,
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.run.update(beat_at=None)

    def beat_until_stopped(self) -> None:
        try:
            while not self.stopped.wait(settings.JOBDESK_WORKER_BEAT_SECONDS):
                self.beat()
        finally:
            connections.close_all()  # this thread's own connections

    def beat(self) -> None:
        """Record a sign of life; a database outage only skips it (the next one tries again)."""
        try:
            self.run.update(beat_at=timezone.now())
            self.worker.beat(running=self.running)
        except DatabaseError:
            logger.warning("Could not record the heartbeat of %s.", self.running, exc_info=True)


def lost_runs(*, now: datetime, lost_after: timedelta) -> list[TrackedRun]:
    """Return the tracked runs whose worker has shown no sign of life for `lost_after`."""
    return list(TrackedRun.objects.across_tenants().filter(beat_at__lt=now - lost_after))


def forget_lost_run(run: TrackedRun, *, message: str) -> None:
    """Fail the run's task result if it still says running (the database backend's; RQ fails
    its own jobs once their worker is gone), and stop watching the run."""
    backend = settings.TASKS.get(run.backend, {}).get("BACKEND", "")
    if run.task_result_id and backend.endswith(".DatabaseBackend"):
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.filter(pk=run.task_result_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
            traceback=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}: {message}",
        )
    TrackedRun.objects.across_tenants().filter(pk=run.pk).update(beat_at=None)


@dataclass
class SeenWorker:
    """A worker as the dashboard lists it."""

    backend: str
    name: str
    state: str
    last_seen: datetime | None


def forget_workers(*, now: datetime) -> int:
    """Delete the workers not seen for `FORGET_AFTER`; return how many."""
    return TaskWorker.objects.filter(last_seen__lt=now - FORGET_AFTER).delete()[0]


def workers_seen(*, now: datetime) -> list[SeenWorker]:
    """Return the workers seen in the last `SEEN_WITHIN`, newest sign of life first: those
    that ran tracked tasks (one query), and RQ's own when an RQ backend is configured."""
    recent = TaskWorker.objects.filter(last_seen__gte=now - SEEN_WITHIN).order_by("-last_seen")
    seen = {
        (worker.backend, worker.name): SeenWorker(
            worker.backend,
            worker.name,
            f"running {worker.running}" if worker.running else "idle",
            worker.last_seen,
        )
        for worker in recent[:WORKERS_SHOWN]
    }
    for worker in rq_workers():
        seen[worker.backend, worker.name] = worker  # RQ's own heartbeat is the fresher one
    never = datetime.min.replace(tzinfo=UTC)
    return sorted(seen.values(), key=lambda worker: worker.last_seen or never, reverse=True)


def rq_workers() -> list[SeenWorker]:
    """Return the workers RQ lists in Redis, for each configured RQ backend; an unreachable
    Redis is one row saying so (never an error page)."""
    found = []
    for alias, backend in settings.TASKS.items():
        if not backend["BACKEND"].endswith(".RQBackend"):
            continue
        for url in sorted({queue["URL"] for queue in settings.RQ_QUEUES.values()}):
            found += rq_workers_at(alias, url)
    return found


def rq_workers_at(alias: str, url: str) -> list[SeenWorker]:
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Worker

    timeout = settings.REDIS_TIMEOUT_SECONDS
    connection = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        workers = Worker.all(connection=connection)
        return [
            SeenWorker(alias, worker.name, rq_state(worker), worker.last_heartbeat)
            for worker in workers[:WORKERS_SHOWN]
        ]
    except (RedisError, OSError):
        return [SeenWorker(alias, "RQ", "Redis unreachable", None)]
    finally:
        connection.close()


def rq_state(worker) -> str:
    job_id = worker.get_current_job_id()
    return f"{worker.get_state()} (job {job_id})" if job_id else worker.get_state()
