"""The seeded roles' default permissions for each family, and the migration step adding them.

The roles `operations` and `read-only` are seeded by tenancy's data migration with the
permissions of the families that existed then. A family added later declares its defaults
(`JobFamily.seeded_role_grants`) and adds them with a data migration of its own:

    from jobs.roles import grant_to_seeded_roles

    class Migration(migrations.Migration):
        dependencies = [("tenancy", "0002_seed_roles"), ("lro", "0001_initial")]
        operations = [grant_to_seeded_roles({"operations": ["OPERATION:READ"]})]

The grants are written into the migration as they are at that moment, as data migrations
should be; a test checks that they match what the family declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import migrations


def grant(role_model, grants: Mapping[str, Iterable[str]]) -> None:
    """Add `grants` (role name -> permissions) to the roles that exist; create none."""
    for name, permissions in grants.items():
        role = role_model.objects.filter(name=name).first()
        if role is not None:
            role.permissions = list(dict.fromkeys([*role.permissions, *permissions]))
            role.save(update_fields=["permissions"])


def revoke(role_model, grants: Mapping[str, Iterable[str]]) -> None:
    """Take `grants` back from the roles that exist."""
    for name, permissions in grants.items():
        role = role_model.objects.filter(name=name).first()
        if role is not None:
            role.permissions = [p for p in role.permissions if p not in set(permissions)]
            role.save(update_fields=["permissions"])


def grant_to_seeded_roles(grants: Mapping[str, Iterable[str]]) -> migrations.RunPython:
    """Return a migration step giving existing roles a family's default permissions."""

    def forward(apps, schema_editor) -> None:
        grant(apps.get_model("tenancy", "Role"), grants)

    def backward(apps, schema_editor) -> None:
        revoke(apps.get_model("tenancy", "Role"), grants)

    return migrations.RunPython(forward, backward)
