"""Fail running jobs whose worker stopped showing signs of life (run it every few minutes)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from jobs import metrics
from jobs.registry import families
from jobs.timeline import REAPER, acting


def lost_worker_message(timeout: timedelta) -> str:
    """Return the message a reaped job is failed with."""
    seconds = int(timeout.total_seconds())
    return f"The worker running this job was lost: no sign of life for {seconds} seconds."


class Command(BaseCommand):
    help = (
        "Fail running jobs whose last heartbeat is older than their timeout "
        "(JOBDESK_STUCK_JOB_TIMEOUT, per kind of job JOBDESK_STUCK_JOB_TIMEOUTS)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List them, change nothing.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        with acting(REAPER):
            self.reap(now=timezone.now(), dry_run=dry_run)

    def reap(self, *, now, dry_run: bool) -> None:
        """Fail each family's stuck jobs (their timelines say reaped), or list them."""
        for family in families:
            for job_id, kind in family.stuck_jobs(now=now):
                message = lost_worker_message(family.stuck_timeout(kind))
                if dry_run or family.fail(job_id, message=message):
                    verb = "Would fail" if dry_run else "Failed"
                    self.stdout.write(f"{verb} {family.name} job {job_id}: {message}")
                    if not dry_run:
                        metrics.REAPED_JOBS.labels(family.name).inc()
        if not dry_run:
            metrics.maintenance_ran("reap_stuck_jobs")
