"""Run a function as a tracked job of any family, through Django tasks (`django_tasks`).

    @tracked_task(family="progress", tag="course_batch_update")
    def batch_update(job: JobHandle, course_id: int) -> dict:
        for done, item in enumerate(items, 1):
            ...
            job.report(completion=100 * done / len(items), message=f"{done} done")
        return {"updated": len(items)}

    job_id = enqueue_tracked(batch_update, 42, tenant=tenant, user=user)

The job row is created by `enqueue_tracked` in the caller's transaction, with a
`TrackedRun` holding the task and its arguments (so an operator can run it again), and the
task is enqueued once it commits. A worker starting the task moves the job to running (a job
cancelled before that is never started); `report()` writes progress at most once per whole
percent or `JOBDESK_TRACKED_REPORT_INTERVAL` seconds, records a heartbeat, and raises
`JobCancelled` once the job was cancelled; a return value completes the job with it as the
results. An exception fails the job with an error id (all its wire body shows), keeps the
exception and its traceback privately on the run (the admin shows them), and is raised again,
so the task backend records the task as failed too.
A worker told to stop (SIGINT or SIGTERM) while a tracked function runs interrupts it: the job
fails with `INTERRUPTED_MESSAGE` and the worker then stops as it was told, so no job is left
running by a stopped worker. While the function runs, the worker also beats on the job's run
from a thread of its own (`jobs.workers.Heartbeat`): a worker killed outright is found lost
by the reaper within seconds, and its job and task result are failed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task
from django_tasks.base import Task, TaskContext

from jobs import metrics
from jobs.models import TrackedRun
from jobs.registry import families
from jobs.timeline import acting
from jobs.workers import Heartbeat, WorkerRun
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

    def __init__(
        self,
        family_name: str,
        job_id: str,
        *,
        clock=time.monotonic,
        worker: WorkerRun | None = None,
    ) -> None:
        self.family_name = family_name
        self.job_id = job_id
        self.clock = clock
        self.worker = worker
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
        if self.worker is not None:
            self.worker.beat_if_due(running=f"{self.family_name} job {self.job_id}")

    def due(self, completion: float | None) -> bool:
        """Return True if this report should reach the database."""
        if self.clock() - self.written_at >= self.interval:
            return True
        return completion is not None and int(completion) != self.written_percent


class RerunRefused(Exception):
    """The job cannot be run again; the message says why."""


# What a failure keeps of the exception: its message and the end of its traceback.
MAX_EXCEPTION_MESSAGE = 2_000
MAX_TRACEBACK = 20_000


def tracked_task(*, family: str, tag: str, **task_options: Any) -> Callable[[Callable], Task]:
    """Make `func(job, *args, **kwargs)` a Django task whose runs are tracked jobs."""

    def decorate(func: Callable) -> Task:
        @functools.wraps(func)
        def run(context: TaskContext, job_id: str, *args: Any, **kwargs: Any) -> None:
            run_tracked(spec, job_id, func, args, kwargs, context=context)

        # The task's own signature, not `func`'s: it receives the context first.
        del run.__wrapped__
        spec = TrackedSpec(family=family, tag=tag)
        run.tracked = spec
        return task(takes_context=True, **task_options)(run)

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
    return enqueue(tracked, args, kwargs, tenant=tenant, user=user, fields=job or {})


def enqueue(
    tracked: Task,
    args: tuple | list,
    kwargs: dict[str, Any],
    *,
    tenant: Tenant,
    user: AbstractBaseUser | None,
    fields: dict[str, Any],
    rerun_of: TrackedRun | None = None,
) -> str:
    """Record the job and its run (task, arguments, what it repeats); enqueue on commit."""
    spec: TrackedSpec = tracked.func.tracked
    with transaction.atomic():
        job_id = families[spec.family].create(tenant=tenant, tag=spec.tag, user=user, **fields)
        TrackedRun.objects.create(
            tenant=tenant,
            family=spec.family,
            job_id=str(job_id),
            task_path=tracked.module_path,
            backend=tracked.backend,
            queue_name=tracked.queue_name,
            priority=tracked.priority,
            arguments=stored_arguments(args, kwargs),
            rerun_of=rerun_of,
        )
    transaction.on_commit(lambda: tracked.enqueue(job_id, *args, **kwargs))
    return job_id


def stored_arguments(args: tuple | list, kwargs: dict[str, Any]) -> dict | None:
    """Return the arguments as JSON keeps them, or None if JSON cannot hold them as they are."""
    arguments = {"args": list(args), "kwargs": kwargs}
    try:
        kept = json.loads(json.dumps(arguments))
    except (TypeError, ValueError):
        return None
    return kept if kept == arguments else None


def run_tracked(
    spec: TrackedSpec,
    job_id: str,
    func: Callable,
    args,
    kwargs,
    *,
    context: TaskContext | None = None,
) -> None:
    """Start the job, run `func` with a handle, and finish the job by how it ended.

    The timeline names the worker (and the task) as who made each change.
    """
    worker = WorkerRun.of(context)
    with acting(worker.actor) if worker else contextlib.nullcontext():
        run_job(spec, job_id, func, args, kwargs, worker=worker)


def run_job(spec: TrackedSpec, job_id: str, func: Callable, args, kwargs, *, worker) -> None:
    jobs = families[spec.family]
    if not jobs.start(job_id):
        logger.info("%s job %s was cancelled before it started.", spec.family, job_id)
        count_outcome(spec, "not_started")
        return
    heartbeat = None
    if worker is not None:
        worker.beat(running=f"{spec.family} job {job_id}")
        heartbeat = Heartbeat(worker, spec.family, job_id).start()
    handle = JobHandle(spec.family, job_id, worker=worker)
    try:
        with interruptible():
            results = func(handle, *args, **kwargs)
        if jobs.complete(job_id, results=results):
            count_outcome(spec, "succeeded")
        else:
            logger.info("%s job %s finished, but it had been cancelled.", spec.family, job_id)
            count_outcome(spec, "cancelled")
    except JobCancelled:
        logger.info("%s job %s stopped: it was cancelled.", spec.family, job_id)
        count_outcome(spec, "cancelled")
    except Exception as error:
        fail(spec, job_id, error, worker=worker)
        count_outcome(spec, "failed")
        # The task backend records the task as failed, with the exception, as it happened.
        raise
    except BaseException as stop:
        # The worker is stopping (a signal, or SystemExit from its own handler): end the job
        # as interrupted rather than leave it running, then let the worker stop.
        logger.warning("%s job %s interrupted: its worker is stopping.", spec.family, job_id)
        jobs.fail(job_id, message=INTERRUPTED_MESSAGE)
        count_outcome(spec, "interrupted")
        if isinstance(stop, WorkerInterrupted) and stop.redeliver:
            os.kill(os.getpid(), stop.signum)  # the default action: end the process
        raise
    finally:
        if worker is not None:
            heartbeat.stop()
            worker.beat(running="")


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


def fail(spec: TrackedSpec, job_id: str, error: Exception, *, worker: WorkerRun | None) -> None:
    """Fail the job with an error id; keep the exception and its traceback on its run."""
    error_id = uuid.uuid4().hex[:12]
    logger.exception("%s job %s failed (error id %s).", spec.family, job_id, error_id)
    with transaction.atomic():
        if families[spec.family].fail(job_id, message=f"Unexpected error, ID: {error_id}"):
            keep_failure(spec.family, job_id, error, error_id=error_id, worker=worker)


def keep_failure(
    family: str, job_id: str, error: Exception, *, error_id: str, worker: WorkerRun | None
) -> None:
    """Store why the job failed on its run (the run of a job enqueued before runs were kept
    has no row: it gets none)."""
    TrackedRun.objects.across_tenants().of_job(family, job_id).update(
        failed_at=timezone.now(),
        error_id=error_id,
        exception_type=exception_type(error),
        exception_message=str(error)[:MAX_EXCEPTION_MESSAGE],
        traceback=truncated_traceback(error),
        task_result_id=worker.task_id if worker else "",
        worker=worker.worker_id[:64] if worker else "",
    )


def exception_type(error: BaseException) -> str:
    """Return the exception's class as Python names it (builtins without their module)."""
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def truncated_traceback(error: BaseException) -> str:
    """Return the traceback, its start cut (and said so) past `MAX_TRACEBACK` characters.

    The end is kept: the innermost frames and the exception say where it failed.
    """
    text = "".join(traceback.format_exception(error))
    if len(text) <= MAX_TRACEBACK:
        return text
    cut = len(text) - MAX_TRACEBACK
    return f"[The first {cut} characters of this traceback were cut.]\n...{text[-MAX_TRACEBACK:]}"


def rerun_tracked(run: TrackedRun, *, user: AbstractBaseUser | None) -> str:
    """Enqueue `run`'s task again with its arguments as a new job of the same tenant, linked
    to `run` both ways; return the new job's id. Raise RerunRefused if it cannot be."""
    tracked = tracked_task_of(run)
    family = families[run.family]
    old = family.load(run.job_id)
    try:
        with transaction.atomic():
            return enqueue(
                tracked,
                run.args,
                run.kwargs,
                tenant=old.tenant,
                user=user,
                fields=family.rerun_fields(old),
                rerun_of=run,
            )
    except IntegrityError:  # each run is run again once: another operator was first
        raise RerunRefused("it was already run again") from None


def tracked_task_of(run: TrackedRun) -> Task:
    """Return the task `run` ran, with its queue, priority and backend."""
    if run.arguments is None:
        raise RerunRefused("its arguments could not be kept")
    try:
        tracked = import_string(run.task_path)
    except ImportError:
        raise RerunRefused(f"its task {run.task_path} no longer exists") from None
    spec = getattr(getattr(tracked, "func", None), "tracked", None)
    if not isinstance(tracked, Task) or spec is None or spec.family != run.family:
        raise RerunRefused(f"{run.task_path} is not a tracked task of its family")
    options = {"queue_name": run.queue_name, "priority": run.priority, "backend": run.backend}
    return tracked.using(**{name: value for name, value in options.items() if value})
