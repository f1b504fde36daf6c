from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from jobs.demo import DEMO_PASSWORD, DEMO_ROLES, DemoContext, seeders
from jobs.registry import families
from tenancy.authentication import digest_key
from tenancy.models import ApiToken, Tenant
from tenancy.services import membership_grant, tenant_create, token_issue

DEMO_TENANTS = {
    "acme": ("Acme Learning", "a1b2c3d4e5f6478899aabbccddeeff01"),
    "globex": ("Globex Networks", "0f1e2d3c4b5a49687766554433221100"),
}
ROLE_USER_SUFFIX = {"admin": "admin", "operations": "ops", "read-only": "reader"}


def demo_key(slug: str, role: str) -> str:
    """Return the fixed demo key of a tenant's role (demo data only)."""
    return f"jd_demo_{slug}_{ROLE_USER_SUFFIX[role]}"


class Command(BaseCommand):
    help = (
        "Create demo tenants, users, tokens and jobs in every state (idempotent), and print "
        "how to log in and a ready curl line per API family. Fixed, published passwords and "
        "keys: development only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run even with DJANGO_DEBUG off (the demo's keys and passwords are public).",
        )

    def handle(self, *args, base_url, allow_without_debug, **options):
        if not settings.DEBUG and not allow_without_debug:
            raise CommandError(
                "demo creates users with published passwords and keys; it runs only with "
                "DJANGO_DEBUG on (or --allow-without-debug)."
            )
        with transaction.atomic():
            context = self.seed_access(base_url.rstrip("/"))
            lines = [line for seeder in seeders() for line in seeder(context)]
            lines += self.timeline_lines(context)
        self.print_summary(context, lines)

    def timeline_lines(self, context: DemoContext) -> list[str]:
        """Return a `curl` line reading the timeline of acme's newest job of each family."""
        acme, key = context.tenants["acme"], context.keys["acme", "operations"]
        lines = ["Timelines (any family, acme, operations key):"]
        for family in families:
            job = family.jobs().filter(tenant=acme).order_by("-pk").first()
            if job is not None:
                url = f"{context.base_url}/api/jobs/{family.name}/{job.pk}/timeline"
                lines.append(f'  curl -H "Authorization: Bearer {key}" {url}')
        return lines

    def seed_access(self, base_url: str) -> DemoContext:
        context = DemoContext(base_url=base_url)
        self.demo_user("admin", superuser=True)
        for slug, (name, project_id) in DEMO_TENANTS.items():
            tenant = Tenant.objects.filter(slug=slug).first() or tenant_create(
                slug=slug, name=name, project_id=project_id
            )
            context.tenants[slug] = tenant
            for role in DEMO_ROLES:
                user = self.demo_user(f"{slug}-{ROLE_USER_SUFFIX[role]}")
                membership_grant(user=user, tenant=tenant, role_name=role)
                key = demo_key(slug, role)
                if not ApiToken.objects.filter(digest=digest_key(key)).exists():
                    token_issue(user=user, tenant=tenant, name="demo", raw_key=key)
                context.users[slug, role] = user
                context.keys[slug, role] = key
        return context

    def demo_user(self, username: str, *, superuser: bool = False):
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
        return user

    def print_summary(self, context: DemoContext, lines: list[str]) -> None:
        write = self.stdout.write
        write(f"Admin: {context.base_url}/admin/  (password for every demo user: {DEMO_PASSWORD})")
        write("  admin            superuser, every tenant")
        for (slug, role), user in context.users.items():
            write(f"  {user.username:<16} {role} in {slug}; API key {context.keys[slug, role]}")
        for line in lines:
            write(line)
