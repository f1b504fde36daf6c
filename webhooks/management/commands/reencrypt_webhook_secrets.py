from django.core.management.base import BaseCommand, CommandError

from tenancy.secrets import SecretUnreadable
from webhooks.services import endpoint_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Encrypt every webhook endpoint's signing secret with the first of "
        "JOBDESK_CREDENTIALS_KEYS (run it with rotate_credentials_keys, before removing a key)."
    )

    def handle(self, *args, **options):
        try:
            count = endpoint_secrets_reencrypt()
        except SecretUnreadable as error:
            raise CommandError(f"{error} Keep the key that made it in the setting.") from error
        self.stdout.write(f"Encrypted {count} webhook secret(s) with the first key.")
