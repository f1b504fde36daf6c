"""What the `demo` command gives each family's demo: tenants, users and keys to seed jobs for.

Each registered family's app may have a `demo.py` with `seed(context) -> list[str]`: it
receives the `DemoContext` (tenants, users and raw keys the command made), makes the family's
demo jobs and returns lines to print, such as ready `curl` commands. Seeders must be
idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

from django.contrib.auth.models import AbstractBaseUser
from django.utils.module_loading import module_has_submodule

from jobs.registry import families
from tenancy.models import Tenant

DEMO_PASSWORD = "jobdesk-demo"  # noqa: S105 - demo data only, printed for the operator
DEMO_ROLES = ("admin", "operations", "read-only")


@dataclass
class DemoContext:
    """What the demo command made: tenants by slug, users, raw keys and access keys by role."""

    base_url: str
    tenants: dict[str, Tenant] = field(default_factory=dict)
    users: dict[tuple[str, str], AbstractBaseUser] = field(default_factory=dict)
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    access_keys: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(access key id, secret) by (slug, role), for request signing (AK/SK)."""


Seeder = Callable[[DemoContext], list[str]]


def seeders() -> list[Seeder]:
    """Return the `seed` function of each family app that has a `demo` module, in app order."""
    found = []
    for family in families:
        app = family.model._meta.app_config
        if module_has_submodule(app.module, "demo"):
            found.append(import_module(f"{app.name}.demo").seed)
    return found
