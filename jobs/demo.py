"""What the `demo` command gives each family's demo: tenants, users and keys to seed jobs for.

Each registered family's app may have a `demo.py` with `seed(context) -> list[str]`: it
receives the `DemoContext` (tenants, users and raw keys the command made), makes the family's
demo jobs and returns lines to print, such as ready `curl` commands. Seeders must be
idempotent. Its `list_line(context) -> str`, a curl command that lists demo jobs and changes
nothing, is also shown on the landing page while the demo data is there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType

from django.contrib.auth.models import AbstractBaseUser
from django.utils.module_loading import module_has_submodule

from jobs.registry import families
from tenancy.authentication import digest_key
from tenancy.models import ApiToken, Tenant

DEMO_PASSWORD = "jobdesk-demo"  # noqa: S105 - demo data only, printed for the operator
DEMO_ROLES = ("admin", "operations", "read-only")
DEMO_TENANTS = {
    "acme": ("Acme Learning", "a1b2c3d4e5f6478899aabbccddeeff01"),
    "globex": ("Globex Networks", "0f1e2d3c4b5a49687766554433221100"),
}
ROLE_USER_SUFFIX = {"admin": "admin", "operations": "ops", "read-only": "reader"}


def demo_key(slug: str, role: str) -> str:
    """Return the fixed demo key of a tenant's role (demo data only)."""
    return f"jd_demo_{slug}_{ROLE_USER_SUFFIX[role]}"


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


def demo_modules() -> list[ModuleType]:
    """Return the `demo` module of each family app that has one, in app order."""
    found = []
    for family in families:
        app = family.model._meta.app_config
        if module_has_submodule(app.module, "demo"):
            found.append(import_module(f"{app.name}.demo"))
    return found


def seeders() -> list[Seeder]:
    """Return the `seed` function of each family app that has a `demo` module, in app order."""
    return [module.seed for module in demo_modules()]


def ready_lines(base_url: str) -> list[str]:
    """Return each family's curl line listing demo jobs, or [] when there is no demo data.

    Reads only: the demo's tenants and keys are fixed, and nothing is created.
    """
    tenants = {tenant.slug: tenant for tenant in Tenant.objects.filter(slug__in=DEMO_TENANTS)}
    key = demo_key("acme", "operations")
    if "acme" not in tenants or not ApiToken.objects.filter(digest=digest_key(key)).exists():
        return []
    context = DemoContext(base_url=base_url.rstrip("/"), tenants=tenants)
    context.keys["acme", "operations"] = key
    return [module.list_line(context) for module in demo_modules() if hasattr(module, "list_line")]
