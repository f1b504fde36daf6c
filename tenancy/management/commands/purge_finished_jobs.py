"""Delete finished jobs older than each family's retention, in small batches."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from tenancy import idempotency
from tenancy.tracking import family, family_names

# A dry run lists ids to count them; past this many it reports this many.
DRY_RUN_COUNT_LIMIT = 1_000_000


class Command(BaseCommand):
    help = (
        "Delete jobs (and their packages) that finished more than JOBDESK_RETENTION_DAYS "
        "ago, in batches by primary key so no lock is held for long; and expired "
        "idempotency keys."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true", help="Count them, delete nothing.")

    def handle(self, *args, batch_size: int, dry_run: bool = False, **options) -> None:
        for name in family_names():
            days = settings.JOBDESK_RETENTION_DAYS.get(name)
            if days is None:
                continue
            cutoff = timezone.now() - timedelta(days=days)
            count = self.purge(name, cutoff, batch_size, dry_run=dry_run)
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(f"{verb} {count} {name} jobs finished before {cutoff:%Y-%m-%d}.")
        if not dry_run:
            keys = idempotency.purge_expired(batch_size=batch_size)
            self.stdout.write(f"Deleted {keys} expired idempotency keys.")

    def purge(self, name: str, cutoff, batch_size: int, *, dry_run: bool) -> int:
        """Delete one family's old finished jobs batch by batch; return how many."""
        jobs = family(name)
        if dry_run:
            return len(jobs.finished_before(cutoff, limit=DRY_RUN_COUNT_LIMIT))
        total = 0
        while batch := jobs.finished_before(cutoff, limit=batch_size):
            total += jobs.purge(batch)
        return total
