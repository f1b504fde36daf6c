from django.core.management.base import BaseCommand

from webhooks.services import deliveries_requeue_overdue


class Command(BaseCommand):
    help = (
        "Enqueue again the webhook delivery attempts that are overdue (their task was lost, "
        "or the task backend cannot schedule retries). The scheduler runs it every "
        "JOBDESK_WEBHOOKS_SWEEP_SECONDS."
    )

    def handle(self, *args, **options):
        count = deliveries_requeue_overdue()
        self.stdout.write(f"Enqueued {count} overdue webhook delivery attempt(s).")
