from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from jobs.demo import (
    DEMO_PASSWORD,
    DEMO_ROLES,
    DEMO_TENANTS,
    ROLE_USER_SUFFIX,
    DemoContext,
    demo_key,
    seeders,
)
from jobs.registry import families
from tenancy.authentication import digest_key
from tenancy.models import AccessKey, ApiToken, Tenant
from tenancy.services import access_key_issue, membership_grant, tenant_create, token_issue


def demo_access_key(slug: str, role: str) -> tuple[str, str]:
    """Return the fixed demo access key id and secret of a tenant's role (demo data only)."""
    suffix = ROLE_USER_SUFFIX[role]
    return f"JDDEMO{slug.upper()}{suffix.upper()}", f"jobdesk-demo-secret-{slug}-{suffix}"


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
                pair = demo_access_key(slug, role)
                if not AccessKey.objects.filter(access_key_id=pair[0]).exists():
                    access_key_issue(user=user, tenant=tenant, name="demo", pair=pair)
                context.users[slug, role] = user
                context.keys[slug, role] = key
                context.access_keys[slug, role] = pair
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
            access_key_id, secret = context.access_keys[slug, role]
            write(f"  {'':<16} access key (AK SK) {access_key_id} {secret}")
        for line in lines:
            write(line)
