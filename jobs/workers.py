"""Task workers as jobdesk sees them: who runs a tracked task, and their signs of life.

django-tasks' database backend keeps no list of its workers, so the worker running a tracked
task records itself (`TaskWorker`): when it starts a job, when it finishes, and, while the
job reports, at most once every `BEAT_SECONDS`. RQ keeps its own list in Redis; the dashboard
reads both (`jobs.dashboard`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks.base import TaskContext

from jobs.models import TaskWorker
from jobs.timeline import Actor

# A worker running a long job records a sign of life at most this often.
BEAT_SECONDS = 30


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
