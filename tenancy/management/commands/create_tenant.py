from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenancy.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short unique name, e.g. acme.")
        parser.add_argument("--name", help="Display name (defaults to the slug).")
        parser.add_argument("--project-id", help="ROMA project id (default: a fresh 32-hex id).")

    def handle(self, *args, slug, name, project_id, **options):
        try:
            tenant = tenant_create(slug=slug, name=name or slug, project_id=project_id)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"Created tenant {tenant.slug} (project_id {tenant.project_id}).")
