"""The operator dashboard on the admin index, and its JSON for refreshing it in place.

One panel per registered family whose job model the admin site shows and the user may read,
scoped to their tenants: job counts per tenant and state (cancellations apart from failures),
finished and failed jobs per hour over the last 24 hours, the unfinished jobs per kind with
the age of the oldest, the stuck jobs with their last sign of life, and the most recent
failures. Superusers also see the task workers.

The dashboard costs a constant number of queries, whatever the job count: the tenants; per
family the grouped counts, the recent failures, the unfinished jobs per kind and the stuck
jobs; then, for every family at once, the cancellations and the hourly finishes (both from the
timeline); and the workers for a superuser. `data` serves the same as JSON at
`admin/jobdesk/dashboard.json` (`config/urls.py`, behind the admin site's login).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, F, Min, Model, Q, Value
from django.db.models.functions import TruncHour
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from jobs.admin_kit import humanize_duration, stuck_after, stuck_condition
from jobs.models import JobEvent
from jobs.registry import families
from jobs.timeline import was_cancelled
from jobs.workers import workers_seen
from tenancy.access import principal_for
from tenancy.models import Tenant, TenantScope

Kind = JobEvent.Kind
RECENT_FAILURES = 5
STUCK_JOBS = 5
QUEUE_KINDS = 10
CHART_HOURS = 24
CANCELLED = "cancelled"
# How the chart groups the timeline's endings.
SERIES = {
    Kind.COMPLETED: "succeeded",
    Kind.FAILED: "failed",
    Kind.REAPED: "failed",
    Kind.CANCELLED: "cancelled",
}


@dataclass
class Cell:
    """One number on the dashboard and the change list it links to."""

    count: int
    url: str
    key: str = ""


@dataclass
class TenantRow:
    tenant: Tenant
    states: list[Cell]
    stuck: Cell
    total: Cell

    @property
    def cells(self) -> list[Cell]:
        return [*self.states, self.stuck, self.total]


@dataclass
class Link:
    """A piece of text in a dashboard table, linked where it names a job or a list."""

    text: str
    href: str = ""


@dataclass
class Table:
    """A small table of the dashboard (and its JSON): headers, rows of links, what "none" says."""

    key: str
    caption: str
    headers: list[str]
    empty: str
    rows: list[list[Link]] = field(default_factory=list)


@dataclass
class Hour:
    """One bar of the chart: the jobs that ended in one hour, by how they ended."""

    start: datetime
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def label(self) -> str:
        end = self.start + timedelta(hours=1)
        return (
            f"{self.start:%H:%M} to {end:%H:%M} UTC: {self.succeeded} succeeded, "
            f"{self.failed} failed, {self.cancelled} cancelled"
        )


@dataclass
class FamilyPanel:
    title: str
    changelist_url: str
    states: list[str]
    labels: list[str]
    name: str = ""
    rows: list[TenantRow] = field(default_factory=list)
    failures: list[tuple[Model, str]] = field(default_factory=list)
    hours: list[Hour] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def build(request: HttpRequest, site: admin.AdminSite = admin.site) -> list[FamilyPanel]:
    """Return one panel per registered family the user may read, scoped to their tenants."""
    model_admins = [
        site.get_model_admin(family.model)
        for family in families
        if site.is_registered(family.model)
        and site.get_model_admin(family.model).has_view_permission(request)
    ]
    tenants = visible_tenants(request, model_admins)
    scopes = {m.family.name: read_scope(request, m) for m in model_admins}
    cancelled = cancellations(scopes)
    hours = hourly(scopes, now=timezone.now())
    return [
        family_panel(request, m, tenants, cancelled, hours.get(m.family.name)) for m in model_admins
    ]


def read_scope(request: HttpRequest, model_admin) -> TenantScope:
    return principal_for(request).tenant_scope(model_admin.tenant_read_permission)


def visible_tenants(request: HttpRequest, model_admins: list) -> list[Tenant]:
    """Return the tenants whose jobs the user may read in at least one family (one query)."""
    scopes = [read_scope(request, m) for m in model_admins]
    if not scopes:
        return []
    tenants = Tenant.objects.order_by("name")
    if any(scope.everything for scope in scopes):
        return list(tenants)
    return list(tenants.filter(pk__in=set().union(*(scope.ids for scope in scopes))))


def scoped_events(scopes: dict[str, TenantScope]):
    """Return the timeline events of the families and tenants in `scopes` (None: no family)."""
    condition = Q()
    for name, scope in scopes.items():
        tenants = Q() if scope.everything else Q(tenant_id__in=scope.ids)
        condition |= Q(family=name) & tenants
    if not scopes:
        return None
    return JobEvent.objects.across_tenants().filter(condition).order_by()


def cancellations(scopes: dict[str, TenantScope]) -> dict[tuple[str, int], dict[str, int]]:
    """Return how many jobs were cancelled into each state, by (family, tenant id)."""
    events = scoped_events(scopes)
    if events is None:
        return {}
    rows = events.filter(kind=Kind.CANCELLED).values_list("family", "tenant_id", "to_state")
    found: dict[tuple[str, int], dict[str, int]] = {}
    for name, tenant_id, state, n in rows.annotate(n=Count("pk")):
        found.setdefault((name, tenant_id), {})[state] = n
    return found


def hourly(scopes: dict[str, TenantScope], *, now: datetime) -> dict[str, list[Hour]]:
    """Return, per family, the jobs that ended in each of the last `CHART_HOURS` hours."""
    first = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first -= timedelta(hours=CHART_HOURS - 1)
    charts = {
        name: [Hour(first + timedelta(hours=i)) for i in range(CHART_HOURS)] for name in scopes
    }
    events = scoped_events(scopes)
    if events is None:
        return charts
    rows = (
        events.filter(at__gte=first, kind__in=list(SERIES))
        .annotate(hour=TruncHour("at", tzinfo=UTC))
        .values_list("family", "kind", "hour")
        .annotate(n=Count("pk"))
    )
    for name, kind, hour, n in rows:
        index = int((hour - first).total_seconds() // 3600)
        if 0 <= index < CHART_HOURS:
            bar = charts[name][index]
            setattr(bar, SERIES[kind], getattr(bar, SERIES[kind]) + n)
    return charts


def shown_states(family) -> list[tuple[str, str]]:
    """Return a family's (state, label) count columns; its cancelled states count under one
    Cancelled column, with the cancels its wire calls failed."""
    choices = family.model._meta.get_field(family.state_field).flatchoices
    return [(value, str(label)) for value, label in choices if value not in family.cancelled_states]


def family_panel(
    request: HttpRequest, model_admin, tenants: list[Tenant], cancelled: dict, hours
) -> FamilyPanel:
    """Count one family's jobs by tenant and state, and list what needs an operator's eye."""
    family = model_admin.family
    jobs = model_admin.get_queryset(request).order_by()
    counts = jobs.values_list("tenant_id", family.state_field).annotate(
        total=Count("pk"), stuck=Count("pk", filter=stuck_condition(family))
    )
    by_key = {(tenant_id, state): (total, stuck) for tenant_id, state, total, stuck in counts}
    url = model_admin.admin_url("changelist")
    title = str(model_admin.opts.verbose_name_plural).capitalize()
    states, labels = zip(*shown_states(family), strict=True)
    panel = FamilyPanel(title, url, [*states, CANCELLED], [*labels, "Cancelled"], family.name)
    scope = read_scope(request, model_admin)
    for tenant in tenants:
        if tenant.pk in scope:
            cancels = cancelled.get((family.name, tenant.pk), {})
            panel.rows.append(tenant_row(family, tenant, by_key, cancels, url))
    panel.failures = recent_failures(model_admin, jobs)
    panel.hours = hours or []
    panel.tables = [
        queue_table(model_admin, jobs),
        stuck_table(model_admin, jobs),
        failures_table(model_admin, panel.failures),
    ]
    return panel


def tenant_row(family, tenant: Tenant, by_key: dict, cancels: dict, url: str) -> TenantRow:
    """Return a tenant's counts, each linked to the change list filtered to exactly them.

    A failed state's count leaves out the jobs that were cancelled into it; they count under
    Cancelled, with the family's cancelled states.
    """

    def link(**params) -> str:
        return f"{url}?{urlencode({'tenant': tenant.pk, **params})}"

    def cell(state: str) -> Cell:
        total, _ = by_key.get((tenant.pk, state), (0, 0))
        if state in family.failed_states:
            state_filter = {f"{family.state_field}__exact": state, "outcome": "failed"}
            return Cell(total - cancels.get(state, 0), link(**state_filter), state)
        return Cell(total, link(**{f"{family.state_field}__exact": state}), state)

    states = [value for value, _ in family.model._meta.get_field(family.state_field).flatchoices]
    totals = [by_key.get((tenant.pk, state), (0, 0)) for state in states]
    cancelled = sum(by_key.get((tenant.pk, s), (0, 0))[0] for s in family.cancelled_states)
    cancelled += sum(n for state, n in cancels.items() if state in family.failed_states)
    return TenantRow(
        tenant=tenant,
        states=[
            *(cell(state) for state, _ in shown_states(family)),
            Cell(cancelled, link(outcome=CANCELLED), CANCELLED),
        ],
        stuck=Cell(sum(stuck for _, stuck in totals), link(stuck="yes"), "stuck"),
        total=Cell(sum(total for total, _ in totals), link(), "total"),
    )


def recent_failures(model_admin, jobs) -> list[tuple[Model, str]]:
    """Return the newest failed (not cancelled) jobs with their pages (one query)."""
    family = model_admin.family
    failures = jobs.in_states(family.failed_states).filter(~was_cancelled(family))
    newest = failures.select_related("tenant").order_by(f"-{family.started_field}")
    return [(job, model_admin.admin_url("change", job)) for job in newest[:RECENT_FAILURES]]


def failures_table(model_admin, failures: list[tuple[Model, str]]) -> Table:
    family, now = model_admin.family, timezone.now()
    table = Table(
        f"{family.name}:failures",
        "Most recent failures",
        ["Job", "Tenant", "Failed", "Message"],
        "No failures.",
    )
    for job, url in failures:
        ended = getattr(job, family.ended_field or "updated_at") or job.updated_at
        message = getattr(job, "message", None) or ""
        when = f"{humanize_duration(now - ended)} ago"
        table.rows.append([Link(str(job), url), Link(job.tenant.name), Link(when), Link(message)])
    return table


def queue_table(model_admin, jobs) -> Table:
    """Return the unfinished jobs per kind (Canvas tag, ROMA type) and the oldest one's age."""
    family, now = model_admin.family, timezone.now()
    kind = F(family.kind_field) if family.kind_field else Value("")
    rows = (
        jobs.pending()
        .annotate(jd_kind=kind)
        .values("jd_kind")
        .annotate(pending=Count("pk"), oldest=Min(family.started_field))
        .order_by("oldest")[:QUEUE_KINDS]
    )
    table = Table(
        f"{family.name}:queues",
        "Unfinished jobs by kind",
        ["Kind", "Unfinished", "Oldest waited"],
        "No unfinished jobs.",
    )
    url = model_admin.admin_url("changelist")
    for row in rows:
        if row["oldest"] is None:  # without a kind field, an empty table still counts a row
            continue
        params = {"outcome": "pending"}
        if family.kind_field:
            params[family.kind_field] = row["jd_kind"]
        href = f"{url}?{urlencode(params)}"
        age = humanize_duration(now - row["oldest"])
        table.rows.append(
            [Link(row["jd_kind"] or "all", href), Link(str(row["pending"])), Link(age)]
        )
    return table


def stuck_table(model_admin, jobs) -> Table:
    """Return the oldest stuck jobs (unfinished past the threshold) and their last heartbeat."""
    family, now = model_admin.family, timezone.now()
    stuck = jobs.filter(stuck_condition(family)).select_related("tenant")
    table = Table(
        f"{family.name}:stuck",
        "Stuck jobs",
        ["Job", "Tenant", "Started", "Last sign of life"],
        "No stuck jobs.",
    )
    for job in stuck.order_by(family.started_field)[:STUCK_JOBS]:
        started = getattr(job, family.started_field)
        beat = f"{humanize_duration(now - job.heartbeat_at)} ago" if job.heartbeat_at else "none"
        table.rows.append(
            [
                Link(str(job), model_admin.admin_url("change", job)),
                Link(job.tenant.name),
                Link(f"{humanize_duration(now - started)} ago"),
                Link(beat),
            ]
        )
    return table


def workers_table(request: HttpRequest) -> Table | None:
    """Return the task workers seen in the last day, for a superuser (None for others: the
    workers serve every tenant)."""
    if not request.user.is_superuser:
        return None
    now = timezone.now()
    table = Table(
        "workers",
        "Workers",
        ["Backend", "Worker", "State", "Last sign of life"],
        "No worker seen in the last 24 hours.",
    )
    for worker in workers_seen(now=now):
        seen = f"{humanize_duration(now - worker.last_seen)} ago" if worker.last_seen else "-"
        table.rows.append([Link(worker.backend), Link(worker.name), Link(worker.state), Link(seen)])
    return table


def stuck_minutes() -> int:
    """Return the stuck threshold in minutes, for display."""
    return int(stuck_after().total_seconds() // 60)


def context(request: HttpRequest) -> dict:
    """Return what the dashboard template renders for the request's user."""
    return {
        "panels": build(request),
        "workers": workers_table(request),
        "stuck_minutes": stuck_minutes(),
        "refresh_seconds": settings.JOBDESK_ADMIN_REFRESH_SECONDS,
    }


def data(request: HttpRequest) -> JsonResponse:
    """Answer the dashboard as JSON, for refreshing it in place (`jobs/static/jobs/admin.js`)."""
    found = context(request)
    body = {
        "generated_at": timezone.now().isoformat(),
        "families": [panel_json(panel) for panel in found["panels"]],
        "workers": asdict(found["workers"]) if found["workers"] else None,
    }
    return JsonResponse(body)


def panel_json(panel: FamilyPanel) -> dict:
    return {
        "name": panel.name,
        "cells": {
            f"{panel.name}:{row.tenant.pk}:{cell.key}": {"count": cell.count, "url": cell.url}
            for row in panel.rows
            for cell in row.cells
        },
        "hours": [
            {
                "start": hour.start.isoformat(),
                "succeeded": hour.succeeded,
                "failed": hour.failed,
                "cancelled": hour.cancelled,
                "label": hour.label,
            }
            for hour in panel.hours
        ],
        "tables": [asdict(table) for table in panel.tables],
    }
