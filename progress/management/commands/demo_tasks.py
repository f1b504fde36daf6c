"""Enqueue a few demo tracked tasks for a running worker (`make run` does this)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from jobs.tasks import enqueue_tracked
from progress import tasks
from tenancy.models import Tenant


class Command(BaseCommand):
    help = (
        "Enqueue demo tracked tasks in the demo tenant acme: one that fails, one that is "
        "cancelled while it runs, and one that completes after about a minute."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", default="acme")
        parser.add_argument("--seconds", type=float, default=60, help="The long task's length.")

    def handle(self, *args, tenant: str, seconds: float, **options) -> None:
        owner = Tenant.objects.filter(slug=tenant).first()
        if owner is None:
            raise CommandError(f"No tenant {tenant!r}: run `manage.py demo` first.")
        with transaction.atomic():
            # One worker runs them in this order: the short ones first.
            ids = [
                enqueue_tracked(tasks.demo_import_that_fails, tenant=owner, seconds=3),
                enqueue_tracked(
                    tasks.demo_export_cancelled, tenant=owner, steps=10, seconds_per_step=2
                ),
                enqueue_tracked(
                    tasks.demo_course_copy, tenant=owner, items=30, seconds_per_item=seconds / 30
                ),
            ]
        self.stdout.write(f"Enqueued demo tasks as progress jobs {', '.join(ids)} of {tenant}.")
