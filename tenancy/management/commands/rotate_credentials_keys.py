from django.core.management.base import BaseCommand, CommandError

from tenancy.secrets import SecretUnreadable
from tenancy.services import access_keys_reencrypt


class Command(BaseCommand):
    help = (
        "Encrypt every stored access key secret with the first of JOBDESK_CREDENTIALS_KEYS, "
        "so older keys can then be removed from the setting."
    )

    def handle(self, *args, **options):
        try:
            count = access_keys_reencrypt()
        except SecretUnreadable as error:
            raise CommandError(f"{error} Keep the key that made it in the setting.") from error
        self.stdout.write(f"Encrypted {count} access key secret(s) with the first key.")
