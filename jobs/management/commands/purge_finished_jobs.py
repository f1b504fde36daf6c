"""Delete finished jobs older than each family's retention, in small batches."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from jobs import idempotency, metrics
from jobs.family import JobFamily
from jobs.registry import families
from jobs.timeline import forget
from jobs.workers import forget_workers

# A dry run lists ids to count them; past this many it reports this many.
DRY_RUN_COUNT_LIMIT = 1_000_000


class Command(BaseCommand):
    help = (
        "Delete jobs (and what they own: their timeline, their tracked run) that finished "
        "longer ago than their family's retention (JOBDESK_RETENTION_DAYS), in batches by "
        "primary key so no lock is held for long; expired idempotency keys, and task workers not "
        "seen for a week."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true", help="Count them, delete nothing.")

    def handle(self, *args, batch_size: int, dry_run: bool = False, **options) -> None:
        for family in families:
            retention = family.retention()
            if retention is None:
                continue
            cutoff = timezone.now() - retention
            count = self.purge(family, cutoff, batch_size, dry_run=dry_run)
            if not dry_run:
                metrics.PURGED_JOBS.labels(family.name).inc(count)
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(
                f"{verb} {count} {family.name} jobs finished before {cutoff:%Y-%m-%d}."
            )
        if not dry_run:
            keys = idempotency.purge_expired(batch_size=batch_size)
            self.stdout.write(f"Deleted {keys} expired idempotency keys.")
            metrics.maintenance_ran("purge_finished_jobs")
            workers = forget_workers(now=timezone.now())
            self.stdout.write(f"Forgot {workers} task workers not seen for a week.")

    def purge(self, family: JobFamily, cutoff, batch_size: int, *, dry_run: bool) -> int:
        """Delete one family's old finished jobs batch by batch; return how many."""
        if dry_run:
            return len(family.finished_before(cutoff, limit=DRY_RUN_COUNT_LIMIT))
        total = 0
        while batch := family.finished_before(cutoff, limit=batch_size):
            total += family.purge(batch)
            # The batch's jobs are gone: their timelines and tracked runs go with them.
            forget(family, batch)
        return total
