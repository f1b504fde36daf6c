"""The `demo` command's registry: each app's `demo.py` registers a seeder here.

A seeder receives the `DemoContext` (tenants, users and raw tokens the command made) and
returns lines to print, such as ready `curl` commands. Seeders must be idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser

from tenancy.models import Tenant

DEMO_PASSWORD = "jobdesk-demo"  # noqa: S105 - demo data only, printed for the operator
DEMO_ROLES = ("admin", "operations", "read-only")


@dataclass
class DemoContext:
    """What the demo command made: tenants by slug, users and raw keys by (slug, role)."""

    base_url: str
    tenants: dict[str, Tenant] = field(default_factory=dict)
    users: dict[tuple[str, str], AbstractBaseUser] = field(default_factory=dict)
    keys: dict[tuple[str, str], str] = field(default_factory=dict)


Seeder = Callable[[DemoContext], list[str]]
_seeders: list[Seeder] = []


def register(seeder: Seeder) -> Seeder:
    """Register `seeder` to run on every `manage.py demo` (decorator)."""
    if seeder not in _seeders:
        _seeders.append(seeder)
    return seeder


def seeders() -> list[Seeder]:
    """Return the registered seeders, in registration order."""
    return list(_seeders)
