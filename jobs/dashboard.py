"""The operator dashboard on the admin index: job counts per tenant and family, at a glance.

One panel per registered family whose job model the admin site shows. The dashboard costs a
constant number of queries: one grouped count and one "recent failures" query per family,
plus the tenants, whatever the job count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Count, Model
from django.http import HttpRequest

from jobs.admin import stuck_after, stuck_condition
from jobs.registry import families
from tenancy.access import principal_for
from tenancy.models import Tenant

RECENT_FAILURES = 5


@dataclass
class Cell:
    """One number on the dashboard and the change list it links to."""

    count: int
    url: str


@dataclass
class TenantRow:
    tenant: Tenant
    states: list[Cell]
    stuck: Cell
    total: Cell


@dataclass
class FamilyPanel:
    title: str
    changelist_url: str
    states: list[str]
    labels: list[str]
    rows: list[TenantRow] = field(default_factory=list)
    failures: list[tuple[Model, str]] = field(default_factory=list)


def build(request: HttpRequest, site: admin.AdminSite = admin.site) -> list[FamilyPanel]:
    """Return one panel per registered family the user may read, scoped to their tenants."""
    model_admins = [
        site.get_model_admin(family.model)
        for family in families
        if site.is_registered(family.model)
        and site.get_model_admin(family.model).has_view_permission(request)
    ]
    tenants = visible_tenants(request, model_admins)
    return [family_panel(request, model_admin, tenants) for model_admin in model_admins]


def visible_tenants(request: HttpRequest, model_admins: list) -> list[Tenant]:
    """Return the tenants whose jobs the user may read in at least one family (one query)."""
    principal = principal_for(request)
    scopes = [principal.tenant_scope(m.tenant_read_permission) for m in model_admins]
    if not scopes:
        return []
    tenants = Tenant.objects.order_by("name")
    if any(scope.everything for scope in scopes):
        return list(tenants)
    return list(tenants.filter(pk__in=set().union(*(scope.ids for scope in scopes))))


def family_panel(request: HttpRequest, model_admin, tenants: list[Tenant]) -> FamilyPanel:
    """Count one family's jobs by tenant and state, and list its most recent failures."""
    family = model_admin.family
    state_field, started = family.state_field, family.started_field
    is_stuck = stuck_condition(family)
    jobs = model_admin.get_queryset(request).order_by()
    counts = jobs.values_list("tenant_id", state_field).annotate(
        total=Count("pk"), stuck=Count("pk", filter=is_stuck)
    )
    by_key = {(tenant_id, state): (total, stuck) for tenant_id, state, total, stuck in counts}
    choices = model_admin.model._meta.get_field(state_field).flatchoices
    states, labels = [value for value, _ in choices], [str(label) for _, label in choices]
    url = model_admin.admin_url("changelist")
    title = str(model_admin.opts.verbose_name_plural).capitalize()
    panel = FamilyPanel(title, url, states, labels)
    scope = principal_for(request).tenant_scope(model_admin.tenant_read_permission)
    for tenant in tenants:
        if tenant.pk in scope:
            panel.rows.append(tenant_row(tenant, states, by_key, url, state_field))
    failures = jobs.in_states(family.failed_states)
    recent = failures.select_related("tenant").order_by(f"-{started}")[:RECENT_FAILURES]
    panel.failures = [(job, model_admin.admin_url("change", job)) for job in recent]
    return panel


def tenant_row(tenant: Tenant, states: list[str], by_key: dict, url: str, state_field: str):
    """Return a tenant's counts, each linked to the change list filtered to them."""

    def link(**params) -> str:
        return f"{url}?{urlencode({'tenant': tenant.pk, **params})}"

    totals = [by_key.get((tenant.pk, state), (0, 0)) for state in states]
    return TenantRow(
        tenant=tenant,
        states=[
            Cell(total, link(**{f"{state_field}__exact": state}))
            for state, (total, _) in zip(states, totals, strict=True)
        ],
        stuck=Cell(sum(stuck for _, stuck in totals), link(stuck="yes")),
        total=Cell(sum(total for total, _ in totals), link()),
    )


def stuck_minutes() -> int:
    """Return the stuck threshold in minutes, for display."""
    return int(stuck_after().total_seconds() // 60)
