"""Fail running jobs whose worker stopped showing signs of life (run it every few minutes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from tenancy.reaping import lost_worker_message, stuck_timeout
from tenancy.tracking import family, family_names


class Command(BaseCommand):
    help = (
        "Fail running jobs whose last heartbeat is older than their timeout "
        "(JOBDESK_STUCK_JOB_TIMEOUT, per tag JOBDESK_STUCK_JOB_TIMEOUTS)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List them, change nothing.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        now = timezone.now()
        for name in family_names():
            jobs = family(name)
            for job_id, tag in jobs.stuck_jobs(now=now):
                message = lost_worker_message(stuck_timeout(name, tag))
                if dry_run or jobs.fail(job_id, message=message):
                    verb = "Would fail" if dry_run else "Failed"
                    self.stdout.write(f"{verb} {name} job {job_id}: {message}")
