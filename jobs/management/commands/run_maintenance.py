"""The scheduler: run the reaper, the retention purge and the webhook sweep periodically, until
told to stop."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

logger = logging.getLogger(__name__)


class Schedule:
    """Commands and how often each is due; runs the due ones, whatever one of them raises."""

    def __init__(self, every: dict[str, float], run: Callable[[str], None]) -> None:
        self.every = every
        self.run = run
        self.next_run = dict.fromkeys(every, 0.0)

    def run_due(self, now: float) -> float:
        """Run the commands due at `now` (monotonic seconds); return when the next one is due."""
        for command, every in self.every.items():
            if now >= self.next_run[command]:
                self.next_run[command] = now + every
                try:
                    self.run(command)
                except Exception:
                    # A database outage must not end the scheduler: the next run tries again.
                    logger.exception("%s failed; it runs again in %s s.", command, every)
        return min(self.next_run.values())


class Command(BaseCommand):
    help = (
        "Run reap_stuck_jobs every JOBDESK_REAP_EVERY_SECONDS (15), purge_finished_jobs and "
        "purge_webhook_deliveries every JOBDESK_PURGE_EVERY_SECONDS (3600) and "
        "requeue_webhooks every JOBDESK_WEBHOOKS_SWEEP_SECONDS (60), first at start, until "
        "SIGINT or SIGTERM. "
        "One per deployment is enough; a second one is harmless."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reap-every", type=float, default=settings.JOBDESK_REAP_EVERY_SECONDS)
        parser.add_argument(
            "--purge-every", type=float, default=settings.JOBDESK_PURGE_EVERY_SECONDS
        )
        parser.add_argument(
            "--once", action="store_true", help="Run each command once, then stop (for cron)."
        )

    def handle(
        self, *args, reap_every: float, purge_every: float, once: bool = False, **options
    ) -> None:
        schedule = Schedule(
            {
                "reap_stuck_jobs": reap_every,
                "purge_finished_jobs": purge_every,
                "requeue_webhooks": settings.JOBDESK_WEBHOOKS_SWEEP_SECONDS,
                "purge_webhook_deliveries": purge_every,
            },
            self.run_command,
        )
        if once:
            schedule.run_due(time.monotonic())
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"Scheduler: reaper every {reap_every} s, purge every {purge_every} s.")
        while not stop.is_set():
            due = schedule.run_due(time.monotonic())
            stop.wait(max(due - time.monotonic(), 0))
        self.stdout.write("Scheduler stopped.")

    def run_command(self, command: str) -> None:
        close_old_connections()
        call_command(command, stdout=self.stdout)
        self.stdout.flush()
        logger.info("Ran %s.", command)
