"""Fail running jobs whose worker stopped showing signs of life (the scheduler runs it)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from jobs import metrics
from jobs.registry import families
from jobs.timeline import REAPER, acting
from jobs.workers import forget_lost_run, lost_runs


def lost_worker_message(timeout: timedelta) -> str:
    """Return the message a reaped job is failed with."""
    seconds = int(timeout.total_seconds())
    return f"The worker running this job was lost: no sign of life for {seconds} seconds."


class Command(BaseCommand):
    help = (
        "Fail running jobs whose last heartbeat is older than their timeout "
        "(JOBDESK_STUCK_JOB_TIMEOUT, per kind of job JOBDESK_STUCK_JOB_TIMEOUTS), and tracked "
        "jobs, with their task result, whose worker showed no sign of life for "
        "JOBDESK_WORKER_LOST_SECONDS."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List them, change nothing.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        with acting(REAPER):
            self.reap(now=timezone.now(), dry_run=dry_run)

    def reap(self, *, now, dry_run: bool) -> None:
        """Fail each family's stuck jobs and the jobs of lost workers (their timelines say
        reaped), or list them."""
        for family in families:
            for job_id, kind in family.stuck_jobs(now=now):
                self.fail(family.name, job_id, family.stuck_timeout(kind), dry_run=dry_run)
        lost_after = timedelta(seconds=settings.JOBDESK_WORKER_LOST_SECONDS)
        for run in lost_runs(now=now, lost_after=lost_after):
            self.fail(run.family, run.job_id, lost_after, dry_run=dry_run)
            if not dry_run:
                forget_lost_run(run, message=lost_worker_message(lost_after))
        if not dry_run:
            metrics.maintenance_ran("reap_stuck_jobs")

    def fail(self, family: str, job_id: str, silence: timedelta, *, dry_run: bool) -> None:
        message = lost_worker_message(silence)
        if dry_run or families[family].fail(job_id, message=message):
            verb = "Would fail" if dry_run else "Failed"
            self.stdout.write(f"{verb} {family} job {job_id}: {message}")
            if not dry_run:
                metrics.REAPED_JOBS.labels(family).inc()
