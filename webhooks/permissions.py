"""The webhook permissions: reading endpoints and their delivery log, and changing endpoints."""

from __future__ import annotations

from tenancy.permissions import catalogue

READ = "WEBHOOK:READ"
WRITE = "WEBHOOK:WRITE"
# What the seeded roles hold (`admin` holds everything); the data migration grants these.
SEEDED_ROLE_GRANTS = {"operations": (READ,)}


def register() -> None:
    """Add the webhook permissions to the catalogue (roles and token scopes may name them)."""
    catalogue.register(READ, "Read webhook endpoints and their deliveries")
    catalogue.register(WRITE, "Register, change and remove webhook endpoints")
