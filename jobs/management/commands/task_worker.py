"""Run one task worker of the configured backend (JOBDESK_TASKS_BACKEND): what the Procfile runs."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run a task worker for JOBDESK_TASKS_BACKEND: `db_worker` on every queue (db), or "
        "`rqworker` on the default queue (rq). It stops on SIGINT or SIGTERM; a tracked job "
        "it was running then fails as interrupted."
    )

    def handle(self, *args, **options) -> None:
        backend = settings.JOBDESK_TASKS_BACKEND
        if backend == "db":
            call_command("db_worker", queue_name="*", reload=False)
        elif backend == "rq":
            call_command("rqworker", "default", job_class="django_tasks_rq.backend.Job")
        else:
            raise CommandError(f"The {backend!r} task backend runs tasks without a worker.")
