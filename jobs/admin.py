"""The admin kit every job family's admin is built from: tenant scoping, state badges,
durations, the dashboard's filters, and cancelling through a confirmation page.

A family's `admin.py` registers its job model with `JobAdmin` (or a subclass adding its own
columns); everything about states, permissions and cancelling comes from the family.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
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

# The confirmation page lists every selected job; past this many, narrow the selection first.
MAX_CANCEL_SELECTION = 500
CANCELLED_MESSAGE = "Cancelled."
OUTCOMES = ("pending", "succeeded", "failed", "cancelled")
# A job page shows at most this many timeline events (a job has about fifteen).
TIMELINE_LIMIT = 200

# The dashboard is the index page's only: app index pages extend Django's own index.
admin.site.index_template = "admin/jobdesk/index.html"


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

    class Media:
        css = {"all": ["jobs/admin.css"]}

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
        run = (
            TrackedRun.objects.for_tenant(obj.tenant_id)
            .of_job(self.family.name, obj.pk)
            .select_related("rerun_of", "rerun")
            .first()
        )
        return {
            "timeline": events[:TIMELINE_LIMIT],
            "timeline_cut": len(events) > TIMELINE_LIMIT,
            "tracked_run": run,
            "rerun_url": self.job_url(run.rerun) if run and hasattr(run, "rerun") else None,
            "rerun_of_url": self.job_url(run.rerun_of) if run and run.rerun_of else None,
        }

    def job_url(self, run: TrackedRun) -> str:
        """Return the change page of the job a run of this family made."""
        info = self.opts.app_label, self.opts.model_name
        name = "admin:{}_{}_change".format(*info)
        return reverse(name, args=[run.job_id], current_app=self.admin_site.name)


class CancelJobsAdminMixin(JobAdminMixin):
    """Cancel jobs through a confirmation page, like Django's own `delete_selected`.

    The bulk action and the detail page's button both show a page listing what will be
    cancelled and what cannot be (finished, or outside the user's cancel permission); it
    posts back with `post=yes`. Subclasses implement `cancel_job(request, obj) -> bool` (call
    the family's cancel service; True if this call cancelled the job). Each cancel is
    recorded in the job's history under the operator's name.
    """

    change_form_template = "admin/jobdesk/cancellable_change_form.html"
    actions = ["cancel_selected"]
    cancel_confirmation_template: str | None = None

    def cancel_job(self, request, obj) -> bool:
        """Cancel `obj` through its family; True if this call cancelled it."""
        return self.family.cancel(obj, actor=request.user)

    def is_cancellable(self, obj) -> bool:
        return self.is_pending(obj)

    @admin.action(permissions=["cancel"], description="Cancel selected jobs")
    def cancel_selected(self, request, queryset):
        jobs = list(queryset[: MAX_CANCEL_SELECTION + 1])
        if len(jobs) > MAX_CANCEL_SELECTION:
            self.message_user(
                request,
                f"Select at most {MAX_CANCEL_SELECTION} jobs to cancel at once; "
                "filter the list to narrow the selection.",
                messages.ERROR,
            )
            return None
        if request.POST.get("post") == "yes":
            self.cancel_jobs(request, jobs)
            return None
        return self.render_cancel_confirmation(request, jobs, bulk=True)

    def cancel_jobs(self, request, jobs: list[Model]) -> int:
        """Cancel the permitted pending `jobs`, log each, report counts; return how many."""
        cancelled = 0
        for obj in jobs:
            if self.has_cancel_permission(request, obj) and self.cancel_job(request, obj):
                self.log_change(request, obj, CANCELLED_MESSAGE)
                cancelled += 1
        self.message_user(request, f"Cancelled {cancelled} job(s).", messages.SUCCESS)
        if unchanged := len(jobs) - cancelled:
            self.message_user(
                request,
                f"{unchanged} job(s) were already finished or not yours to cancel; "
                "they are unchanged.",
                messages.WARNING,
            )
        return cancelled

    def split_for_cancel(self, request, jobs: list[Model]) -> tuple[list, list]:
        """Split `jobs` into those this user may cancel now and (job, reason) pairs of the rest."""
        cancellable, refused = [], []
        for obj in jobs:
            if not self.is_cancellable(obj):
                refused.append((obj, "already finished"))
            elif not self.has_cancel_permission(request, obj):
                refused.append((obj, "you may not cancel jobs of this tenant"))
            else:
                cancellable.append(obj)
        return cancellable, refused

    def render_cancel_confirmation(self, request, jobs: list[Model], *, bulk: bool):
        cancellable, refused = self.split_for_cancel(request, jobs)
        context = {
            **self.admin_site.each_context(request),
            "title": "Are you sure?",
            "opts": self.opts,
            "media": self.media,
            "bulk": bulk,
            "jobs": jobs,
            "cancellable": [(obj, self.admin_url("change", obj)) for obj in cancellable],
            "refused": [(obj, reason, self.admin_url("change", obj)) for obj, reason in refused],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "back_url": self.admin_url("changelist") if bulk else self.admin_url("change", jobs[0]),
        }
        request.current_app = self.admin_site.name
        # Looked up like Django's delete_selected confirmation: the model's, the app's, ours.
        templates = self.cancel_confirmation_template or [
            f"admin/{self.opts.app_label}/{self.opts.model_name}/cancel_confirmation.html",
            f"admin/{self.opts.app_label}/cancel_confirmation.html",
            "admin/jobdesk/cancel_confirmation.html",
        ]
        return TemplateResponse(request, templates, context)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        cancel = path(
            "<path:object_id>/cancel/",
            self.admin_site.admin_view(self.cancel_view),
            name="{}_{}_cancel".format(*info),
        )
        return [cancel, *super().get_urls()]

    def cancel_view(self, request, object_id) -> HttpResponse:
        """Show the cancel confirmation for one job (GET); cancel it on POST with post=yes."""
        obj = self.get_scoped_object(request, object_id)
        if not self.has_cancel_permission(request, obj):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("post") == "yes":
            self.cancel_jobs(request, [obj])
            return HttpResponseRedirect(self.admin_url("change", obj))
        return self.render_cancel_confirmation(request, [obj], bulk=False)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["show_cancel"] = (
            obj is not None
            and self.is_cancellable(obj)
            and self.has_cancel_permission(request, obj)
        )
        if context["show_cancel"]:
            context["cancel_url"] = self.admin_url("cancel", obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


class JobAdmin(CancelJobsAdminMixin, admin.ModelAdmin):
    """A family's job admin: scoped, read-only, cancellable; subclasses choose the columns."""
