"""Seed the default roles: admin (everything), operations (all READ and CANCEL), read-only."""

from django.db import migrations

SEEDED_ROLES = {
    "admin": (
        "Every permission, always (the role named exactly 'admin' is special).",
        [],
    ),
    "operations": (
        "Reads and cancels jobs of every family.",
        [
            "PROGRESS:READ",
            "PROGRESS:CANCEL",
            "ASYNC-STATUS:READ",
            "ASSET-JOB:READ",
            "ASSET-JOB:CANCEL",
        ],
    ),
    "read-only": (
        "Reads Canvas progress and ROMA asset jobs (async status is for admin and operations).",
        ["PROGRESS:READ", "ASSET-JOB:READ"],
    ),
}


def seed_roles(apps, schema_editor):
    Role = apps.get_model("tenancy", "Role")
    for name, (description, permissions) in SEEDED_ROLES.items():
        Role.objects.update_or_create(
            name=name, defaults={"description": description, "permissions": permissions}
        )


def unseed_roles(apps, schema_editor):
    Role = apps.get_model("tenancy", "Role")
    Role.objects.filter(name__in=SEEDED_ROLES, memberships__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [migrations.RunPython(seed_roles, unseed_roles)]
