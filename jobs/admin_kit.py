"""The admin kit's building blocks: tenant scoping, state badges, durations, progress bars,
the filters, and a job's page (its timeline, its task and why it failed).

`jobs.admin` builds the job admin from these, adding the confirmed actions (cancel, run
again); family apps import everything from `jobs.admin`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.db.models import Model, Q
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from jobs.family import JobFamily
from jobs.models import JobEvent, TrackedRun
from jobs.registry import families
from jobs.timeline import cancelled_ids, events_of, outcome_condition
from tenancy.access import principal_for
from tenancy.models import Tenant

OUTCOMES = ("pending", "succeeded", "failed", "cancelled")
# A job page shows at most this many timeline events (a job has about fifteen).
TIMELINE_LIMIT = 200


def stuck_after() -> timedelta:
    """Return how long a job may stay unfinished before the admin calls it stuck."""
    return timedelta(minutes=settings.JOBDESK_STUCK_AFTER_MINUTES)


def humanize_duration(value: timedelta) -> str:
    """Render a duration the way people say it: "45 s", "3 min 12 s", "2 h 5 min", "3 d 4 h"."""
    seconds = max(0, int(value.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


def progress_bar(fraction: float | None, *, finished: bool = False) -> str:
    """Render a job's completion (0..1, or None when unknown) as an HTML progress bar.

    An unknown completion is a busy bar while the job runs, and a dash once it finished: a
    finished job is not busy.
    """
    if fraction is None and finished:
        return mark_safe('<span class="jd-no-progress" title="not reported">&ndash;</span>')
    if fraction is None:
        return mark_safe('<progress max="100" title="not reported"></progress>')
    percent = max(0.0, min(100.0, fraction * 100))
    return format_html(
        '<progress max="100" value="{}" title="{}%"></progress> {}%',
        f"{percent:.0f}",
        f"{percent:.1f}",
        f"{percent:.0f}",
    )


def two_lines(main: object, detail: object) -> str:
    """Render a list cell as a main line and a smaller detail line under it (narrow lists)."""
    return format_html(
        '<span class="jd-main">{}</span><span class="jd-detail">{}</span>', main, detail
    )


def compact_time(value: datetime | None) -> str:
    """Render a time short enough for a list column ("Nov 30 13:02"), in full in its title."""
    if value is None:
        return "-"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        f"{local:%Y-%m-%d %H:%M:%S %Z}",
        f"{local:%b} {local.day} {local:%H:%M}",
    )


class CappedCountPaginator(Paginator):
    """Count at most `max_count` rows, so a page view never counts a million-row table.

    Past the cap the list shows `max_count` + 1 rows' worth of pages; filters narrow it.
    """

    max_count = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.max_count + 1].count()


class TenantScopeFilter(admin.SimpleListFilter):
    """Filter by tenant, offering only the tenants the staff user may see."""

    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request, model_admin):
        scope = principal_for(request).tenant_scope(model_admin.tenant_read_permission)
        tenants = Tenant.objects.order_by("name")
        if not scope.everything:
            tenants = tenants.filter(pk__in=scope.ids)
        return [(str(tenant.pk), tenant.name) for tenant in tenants]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(tenant_id=int(value))


class OutcomeFilter(admin.SimpleListFilter):
    """Filter by how jobs ended, cancellations apart from failures (whatever the wire says)."""

    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [(outcome, outcome.capitalize()) for outcome in OUTCOMES]

    def queryset(self, request, queryset):
        if self.value() not in OUTCOMES:
            return queryset
        family = families.for_model(queryset.model)
        return queryset.filter(outcome_condition(family, self.value()))


class StuckFilter(admin.SimpleListFilter):
    """Filter to unfinished jobs started longer ago than JOBDESK_STUCK_AFTER_MINUTES."""

    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        minutes = int(stuck_after().total_seconds() // 60)
        return [("yes", f"Unfinished after {minutes} min")]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(stuck_condition(families.for_model(queryset.model)))


def stuck_condition(family: JobFamily) -> Q:
    """Return the condition of a job that is unfinished past the stuck threshold."""
    cutoff = timezone.now() - stuck_after()
    return Q(
        **{
            f"{family.state_field}__in": family.pending_states,
            f"{family.started_field}__lt": cutoff,
        }
    )


class JobChangeList(ChangeList):
    """A job change list that marks the shown jobs that were cancelled (one query a page)."""

    def get_results(self, request) -> None:
        super().get_results(request)
        family = families.for_model(self.model)
        cancelled = cancelled_ids(family, list(self.result_list))
        for job in self.result_list:
            job.jd_cancelled = str(job.pk) in cancelled


class ReadOnlyAdminMixin:
    """Nothing is added, changed or deleted here: rows are written only by services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TenantScopedAdminMixin(ReadOnlyAdminMixin):
    """Scope a tenant-owned model's admin to the staff user's memberships.

    A staff user sees rows of tenants where a membership grants `tenant_read_permission`,
    and may cancel where it grants `tenant_cancel_permission`; superusers see everything.
    Another tenant's row answers like a missing one: a plain 404. Rows are written only by
    services, so add, change and delete are off. Change lists never run a full COUNT(*).
    """

    tenant_read_permission: str
    tenant_cancel_permission: str | None = None
    # A full COUNT(*) on every page view is too slow at a million rows.
    show_full_result_count = False
    paginator = CappedCountPaginator
    # "Show counts" would count every filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER

    def get_queryset(self, request):
        queryset = self.model.objects.visible_to(
            principal_for(request), self.tenant_read_permission
        )
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index; a job outside the user's tenants is a 404, as in the API.
        raise self.not_found(object_id)

    def not_found(self, object_id: str) -> Http404:
        return Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")

    def admin_url(self, name: str, obj: Model | None = None) -> str:
        """Return this model's admin URL `name` ("changelist", "change", "cancel", ...)."""
        info = self.opts.app_label, self.opts.model_name, name
        args = [] if obj is None else [obj.pk]
        return reverse("admin:{}_{}_{}".format(*info), args=args, current_app=self.admin_site.name)

    def get_scoped_object(self, request: HttpRequest, object_id: str) -> Model:
        """Return the row `object_id` inside the user's tenants, or raise Http404."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise self.not_found(object_id)
        return obj

    def _holds(self, request, permission: str | None, obj=None) -> bool:
        if permission is None or not (request.user.is_active and request.user.is_staff):
            return False
        principal = principal_for(request)
        if obj is None:
            return principal.holds_anywhere(permission)
        return principal.holds(permission, obj.tenant_id)

    def has_module_permission(self, request) -> bool:
        return self._holds(request, self.tenant_read_permission)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._holds(request, self.tenant_read_permission, obj)

    def has_cancel_permission(self, request, obj=None) -> bool:
        return self._holds(request, self.tenant_cancel_permission, obj)


class JobAdminMixin(TenantScopedAdminMixin):
    """Read a family's jobs at a glance: state badges, humanised durations, self-refresh.

    Everything about the jobs (states, fields, permissions) comes from the model's family.
    """

    # Seconds between reloads of a pending job's page.
    refresh_seconds = 5
    change_list_template = "admin/jobdesk/change_list.html"

    class Media:
        css = {"all": ["jobs/admin.css"]}
        # Refreshes a list's rows while it shows pending jobs.
        js = ["jobs/admin.js"]

    @cached_property
    def family(self) -> JobFamily:
        return families.for_model(self.model)

    @property
    def tenant_read_permission(self) -> str:
        return self.family.read_permission

    @property
    def tenant_cancel_permission(self) -> str:
        return self.family.cancel_permission

    def is_pending(self, obj: Model) -> bool:
        return self.family.is_pending(obj)

    def outcome(self, obj: Model) -> str:
        """Return how `obj` ended: pending, succeeded, failed or cancelled (or other).

        A cancel that the wire shows as failed (Canvas, Traffic Ops, ROMA) is a cancellation;
        the change list and page mark such jobs from their timelines (`jd_cancelled`).
        """
        outcome = self.family.outcome(self.family.state_of(obj))
        if outcome == "failed" and getattr(obj, "jd_cancelled", False):
            return "cancelled"
        return outcome

    @admin.display(description="state")
    def state_badge(self, obj: Model) -> str:
        state = self.family.state_of(obj)
        labels = dict(obj._meta.get_field(self.family.state_field).flatchoices)
        label = labels.get(state, state)
        outcome = self.outcome(obj)
        text = "Cancelled" if outcome != self.family.outcome(state) else label
        return format_html(
            '<span class="jd-badge jd-badge-{}" title="state: {}{}">{}</span>',
            outcome,
            label,
            " (cancelled)" if text != label else "",
            text,
        )

    def get_changelist(self, request, **kwargs):
        return JobChangeList

    def changelist_view(self, request, extra_context=None):
        # PostgreSQL text cannot hold NUL: a search or filter value with one would be a 500.
        if any("\x00" in key + value for key, value in request.GET.items()):
            raise BadRequest("NUL characters are not allowed in the query string.")
        refresh = {"jobdesk_refresh_seconds": settings.JOBDESK_ADMIN_REFRESH_SECONDS}
        return super().changelist_view(request, {**(extra_context or {}), **refresh})

    def get_list_filter(self, request):
        # Every job list filters by outcome: the dashboard's numbers link to it.
        filters = list(super().get_list_filter(request))
        if OutcomeFilter not in filters:
            after_tenant = 1 if filters and filters[0] is TenantScopeFilter else 0
            filters.insert(after_tenant, OutcomeFilter)
        return filters

    @admin.display(description="duration")
    def duration(self, obj: Model) -> str:
        started = getattr(obj, self.family.started_field)
        if self.is_pending(obj):
            return f"{humanize_duration(timezone.now() - started)} so far"
        ended = getattr(obj, self.family.ended_field or "updated_at")
        return humanize_duration(ended - started) if ended else "-"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["refresh_seconds"] = (
            self.refresh_seconds if obj is not None and self.is_pending(obj) else None
        )
        if obj is not None:
            context.update(self.history_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def history_context(self, request, obj: Model) -> dict:
        """Return the job page's timeline and, for a tracked job, its task, its failure and
        the runs it repeats and was repeated by (two queries)."""
        events = list(events_of(self.family, obj)[: TIMELINE_LIMIT + 1])
        obj.jd_cancelled = any(event.kind == JobEvent.Kind.CANCELLED for event in events)
        run = self.tracked_run_of(obj)
        return {
            "timeline": events[:TIMELINE_LIMIT],
            "timeline_cut": len(events) > TIMELINE_LIMIT,
            "tracked_run": run,
            "rerun_url": self.job_url(run.rerun) if run and hasattr(run, "rerun") else None,
            "rerun_of_url": self.job_url(run.rerun_of) if run and run.rerun_of else None,
        }

    def tracked_run_of(self, obj: Model) -> TrackedRun | None:
        """Return the tracked run behind `obj` (None: not made by a tracked task), loaded once,
        with the runs it repeats and was repeated by."""
        if not hasattr(obj, "jd_tracked_run"):
            obj.jd_tracked_run = (
                TrackedRun.objects.for_tenant(obj.tenant_id)
                .of_job(self.family.name, obj.pk)
                .select_related("rerun_of", "rerun")
                .first()
            )
        return obj.jd_tracked_run

    def job_url(self, run: TrackedRun) -> str:
        """Return the change page of the job a run of this family made."""
        info = self.opts.app_label, self.opts.model_name
        name = "admin:{}_{}_change".format(*info)
        return reverse(name, args=[run.job_id], current_app=self.admin_site.name)
