from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenancy.models import Tenant
from tenancy.services import token_issue


class Command(BaseCommand):
    help = "Issue an API token and print its key once (jobdesk stores only a digest)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("--name", default="cli", help="A label for the token.")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            help="Limit the token to this permission (repeatable), e.g. PROGRESS:READ.",
        )
        parser.add_argument("--expires-in-days", type=int, help="Expire after this many days.")

    def handle(self, *args, username, tenant, name, scopes, expires_in_days, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
            tenant_obj = Tenant.objects.get(slug=tenant)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        except Tenant.DoesNotExist:
            raise CommandError(f"No tenant with slug {tenant!r}.") from None
        if expires_in_days is not None and expires_in_days <= 0:
            raise CommandError("--expires-in-days must be a positive number.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            _, raw_key = token_issue(
                user=user, tenant=tenant_obj, name=name, scopes=scopes, expires_at=expires_at
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(raw_key)
