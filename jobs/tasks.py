"""Run a function as a tracked job of any family, through Django tasks (`django_tasks`).

    @tracked_task(family="progress", tag="course_batch_update")
    def batch_update(job: JobHandle, course_id: int) -> dict:
        for done, item in enumerate(items, 1):
            ...
            job.report(completion=100 * done / len(items), message=f"{done} done")
        return {"updated": len(items)}

    job_id = enqueue_tracked(batch_update, 42, tenant=tenant, user=user)

The job row is created by `enqueue_tracked` in the caller's transaction and the task is
enqueued once it commits. A worker starting the task moves the job to running (a job
cancelled before that is never started); `report()` writes progress at most once per whole
percent or `JOBDESK_TRACKED_REPORT_INTERVAL` seconds, records a heartbeat, and raises
`JobCancelled` once the job was cancelled; a return value completes the job with it as the
results, and an exception fails it with an error id (the traceback goes to the log only).
A worker told to stop (SIGINT or SIGTERM) while a tracked function runs interrupts it: the job
fails with `INTERRUPTED_MESSAGE` and the worker then stops as it was told, so no job is left
running by a stopped worker.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_tasks import task
from django_tasks.base import Task

from jobs import metrics
from jobs.registry import families
from tenancy.models import Tenant

logger = logging.getLogger(__name__)

INTERRUPTED_MESSAGE = "Interrupted: the worker running this job was stopped."
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class JobCancelled(Exception):
    """The job was cancelled (or otherwise finished) while its function ran."""


class WorkerInterrupted(BaseException):
    """The worker was told to stop (SIGINT, SIGTERM) while a tracked function ran.

    A BaseException, like KeyboardInterrupt: the function's `except Exception` must not
    swallow it, and its `finally` blocks still run. `redeliver`: the process had no handler
    for the signal, whose default action (ending the process) is due once the job is failed.
    """

    def __init__(self, signum: int, *, redeliver: bool) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.redeliver = redeliver


@dataclass(frozen=True)
class TrackedSpec:
    """Which family a tracked task's jobs belong to, and their tag."""

    family: str
    tag: str


class JobHandle:
    """What a tracked function reports through; writes are throttled."""

    def __init__(self, family_name: str, job_id: str, *, clock=time.monotonic) -> None:
        self.family_name = family_name
        self.job_id = job_id
        self.clock = clock
        self.interval = settings.JOBDESK_TRACKED_REPORT_INTERVAL
        self.written_percent: int | None = None
        self.written_at = clock()
        self.reports = 0
        self.writes = 0

    def report(self, *, completion: float | None = None, message: str | None = None) -> None:
        """Report progress (percent 0..100); raise JobCancelled if the job was cancelled."""
        self.reports += 1
        if not self.due(completion):
            return
        self.writes += 1
        self.written_at = self.clock()
        if completion is not None:
            self.written_percent = int(completion)
        still_pending = families[self.family_name].report(
            self.job_id, completion=completion, message=message
        )
        if not still_pending:
            raise JobCancelled(f"Job {self.job_id} was cancelled.")

    def due(self, completion: float | None) -> bool:
        """Return True if this report should reach the database."""
        if self.clock() - self.written_at >= self.interval:
            return True
        return completion is not None and int(completion) != self.written_percent


def tracked_task(*, family: str, tag: str, **task_options: Any) -> Callable[[Callable], Task]:
    """Make `func(job, *args, **kwargs)` a Django task whose runs are tracked jobs."""

    def decorate(func: Callable) -> Task:
        @functools.wraps(func)
        def run(job_id: str, *args: Any, **kwargs: Any) -> None:
            run_tracked(spec, job_id, func, args, kwargs)

        spec = TrackedSpec(family=family, tag=tag)
        run.tracked = spec
        return task(**task_options)(run)

    return decorate


def enqueue_tracked(
    tracked: Task,
    *args: Any,
    tenant: Tenant,
    user: AbstractBaseUser | None = None,
    job: dict[str, Any] | None = None,
    **kwargs: Any,
) -> str:
    """Record a queued job now and enqueue `tracked` once the transaction commits."""
    spec: TrackedSpec = tracked.func.tracked
    job_id = families[spec.family].create(tenant=tenant, tag=spec.tag, user=user, **(job or {}))
    transaction.on_commit(lambda: tracked.enqueue(job_id, *args, **kwargs))
    return job_id


def run_tracked(spec: TrackedSpec, job_id: str, func: Callable, args, kwargs) -> None:
    """Start the job, run `func` with a handle, and finish the job by how it ended."""
    jobs = families[spec.family]
    if not jobs.start(job_id):
        logger.info("%s job %s was cancelled before it started.", spec.family, job_id)
        count_outcome(spec, "not_started")
        return
    handle = JobHandle(spec.family, job_id)
    try:
        with interruptible():
            results = func(handle, *args, **kwargs)
    except JobCancelled:
        logger.info("%s job %s stopped: it was cancelled.", spec.family, job_id)
        count_outcome(spec, "cancelled")
        return
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        logger.exception("%s job %s failed (error id %s).", spec.family, job_id, error_id)
        jobs.fail(job_id, message=f"Unexpected error, ID: {error_id}")
        count_outcome(spec, "failed")
        return
    except BaseException as stop:
        # The worker is stopping (a signal, or SystemExit from its own handler): end the job
        # as interrupted rather than leave it running, then let the worker stop.
        logger.warning("%s job %s interrupted: its worker is stopping.", spec.family, job_id)
        jobs.fail(job_id, message=INTERRUPTED_MESSAGE)
        count_outcome(spec, "interrupted")
        if isinstance(stop, WorkerInterrupted) and stop.redeliver:
            os.kill(os.getpid(), stop.signum)  # the default action: end the process
        raise
    if jobs.complete(job_id, results=results):
        count_outcome(spec, "succeeded")
    else:
        logger.info("%s job %s finished, but it had been cancelled.", spec.family, job_id)
        count_outcome(spec, "cancelled")


def count_outcome(spec: TrackedSpec, outcome: str) -> None:
    metrics.TRACKED_TASKS.labels(spec.family, outcome).inc()


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Raise WorkerInterrupted in the running function when SIGINT or SIGTERM arrives.

    The worker's own handler runs first, so it still learns that it must stop (a database
    worker then stops after this task instead of taking another). Signals reach only the main
    thread: elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}

    def interrupt(signum: int, frame) -> None:
        handler = previous[signum]
        if handler == signal.SIG_IGN:
            return  # this process was told to ignore it (an RQ work horse ignores SIGINT)
        for other in STOP_SIGNALS:
            signal.signal(other, previous[other])
        if callable(handler):
            handler(signum, frame)
        raise WorkerInterrupted(signum, redeliver=not callable(handler))

    for signum in STOP_SIGNALS:
        signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is interrupt:
                signal.signal(signum, previous[signum])
