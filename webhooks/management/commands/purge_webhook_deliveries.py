from django.core.management.base import BaseCommand

from webhooks.services import deliveries_purge


class Command(BaseCommand):
    help = (
        "Delete webhook deliveries that ended over JOBDESK_WEBHOOKS_RETENTION_DAYS ago, with "
        "their attempts. The scheduler runs it every JOBDESK_PURGE_EVERY_SECONDS."
    )

    def handle(self, *args, **options):
        count = deliveries_purge()
        self.stdout.write(f"Deleted {count} webhook delivery record(s).")
