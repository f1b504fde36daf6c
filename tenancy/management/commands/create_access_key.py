from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenancy.models import Tenant
from tenancy.services import access_key_issue


class Command(BaseCommand):
    help = (
        "Issue an access key (AK/SK, for Huawei Cloud SDK request signing) and print "
        "'<AK> <SK>' once (jobdesk keeps the secret only encrypted)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("--name", default="cli", help="A label for the key.")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            help="Limit the key to this permission (repeatable), e.g. ASSET-JOB:READ.",
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
            access_key, secret = access_key_issue(
                user=user, tenant=tenant_obj, name=name, scopes=scopes, expires_at=expires_at
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"{access_key.access_key_id} {secret}")
