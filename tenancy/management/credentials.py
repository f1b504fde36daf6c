"""What `create_token` and `create_access_key` share: whose credential, its limits, its errors."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenancy.models import Tenant


class IssueCredentialCommand(BaseCommand):
    """Issue a credential to a user for a tenant and print what is shown only once.

    A subclass names the credential (`noun`, for help texts), gives an example scope, and
    issues it in `issue`, returning the line to print.
    """

    noun = "credential"
    example_scope = "PROGRESS:READ"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("--name", default="cli", help=f"A label for the {self.noun}.")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            help=(
                f"Limit the {self.noun} to this permission (repeatable), e.g. {self.example_scope}."
            ),
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
            shown_once = self.issue(
                user=user, tenant=tenant_obj, name=name, scopes=scopes, expires_at=expires_at
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(shown_once)

    def issue(
        self,
        *,
        user,
        tenant: Tenant,
        name: str,
        scopes: list[str] | None,
        expires_at: datetime | None,
    ) -> str:
        raise NotImplementedError
