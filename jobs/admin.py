"""The admin every job family's admin is built from: the kit (`jobs.admin_kit`: tenant
scoping, badges, durations, filters, the job page with its timeline) plus two actions taken
through a confirmation page, like Django's own `delete_selected`: cancel, and run again.

A family's `admin.py` registers its job model with `JobAdmin` (or a subclass adding its own
columns); everything about states, permissions, cancelling and running again comes from the
family.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from jobs.admin_kit import (
    CappedCountPaginator,
    JobAdminMixin,
    JobChangeList,
    OutcomeFilter,
    ReadOnlyAdminMixin,
    StuckFilter,
    TenantScopedAdminMixin,
    TenantScopeFilter,
    compact_time,
    humanize_duration,
    progress_bar,
    stuck_after,
    stuck_condition,
    two_lines,
)
from jobs.models import TrackedRun
from jobs.tasks import RerunRefused, rerun_tracked, tracked_task_of
from jobs.timeline import cancelled_ids

__all__ = [
    "CancelJobsAdminMixin",
    "CappedCountPaginator",
    "ConfirmedActionsMixin",
    "JobAdmin",
    "JobAdminMixin",
    "JobChangeList",
    "OutcomeFilter",
    "ReadOnlyAdminMixin",
    "RerunJobsAdminMixin",
    "StuckFilter",
    "TenantScopeFilter",
    "TenantScopedAdminMixin",
    "compact_time",
    "humanize_duration",
    "progress_bar",
    "stuck_after",
    "stuck_condition",
    "two_lines",
]

# The confirmation page lists every selected job; past this many, narrow the selection first.
MAX_CANCEL_SELECTION = 500
CANCELLED_MESSAGE = "Cancelled."

# The dashboard is the index page's only: app index pages extend Django's own index.
admin.site.index_template = "admin/jobdesk/index.html"


class ConfirmedActionsMixin(JobAdminMixin):
    """What cancelling and running again share: the confirmation page, and its URL per job.

    The page lists the jobs the action will take and those it cannot, with the reason, and
    posts back with `post=yes`. It is looked up like Django's `delete_selected` confirmation:
    the model's template, the app's, then jobdesk's (`<action>_confirmation.html`).
    """

    def render_confirmation(
        self,
        request,
        jobs: list[Model],
        *,
        action: str,
        bulk: bool,
        allowed: list,
        refused: list,
        allowed_name: str,
    ) -> TemplateResponse:
        """Render the confirmation of `action` on `jobs`; `allowed` (also in the context as
        `allowed_name`) will be taken, `refused` are (job, reason) pairs."""
        links = [(obj, self.admin_url("change", obj)) for obj in allowed]
        context = {
            **self.admin_site.each_context(request),
            "title": "Are you sure?",
            "opts": self.opts,
            "media": self.media,
            "bulk": bulk,
            "jobs": jobs,
            "allowed": links,
            allowed_name: links,
            "refused": [(obj, reason, self.admin_url("change", obj)) for obj, reason in refused],
            "action_name": f"{action}_selected",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "back_url": self.admin_url("changelist") if bulk else self.admin_url("change", jobs[0]),
        }
        request.current_app = self.admin_site.name
        templates = getattr(self, f"{action}_confirmation_template", None) or [
            f"admin/{self.opts.app_label}/{self.opts.model_name}/{action}_confirmation.html",
            f"admin/{self.opts.app_label}/{action}_confirmation.html",
            f"admin/jobdesk/{action}_confirmation.html",
        ]
        return TemplateResponse(request, templates, context)

    def selection(self, request, queryset, *, verb: str) -> list[Model] | None:
        """Return the selected jobs, or None (and say why) past `MAX_CANCEL_SELECTION`."""
        jobs = list(queryset[: MAX_CANCEL_SELECTION + 1])
        if len(jobs) <= MAX_CANCEL_SELECTION:
            return jobs
        self.message_user(
            request,
            f"Select at most {MAX_CANCEL_SELECTION} jobs to {verb} at once; "
            "filter the list to narrow the selection.",
            messages.ERROR,
        )
        return None

    def action_url(self, action: str, *, view):
        info = self.opts.app_label, self.opts.model_name, action
        return path(
            f"<path:object_id>/{action}/",
            self.admin_site.admin_view(view),
            name="{}_{}_{}".format(*info),
        )


class CancelJobsAdminMixin(ConfirmedActionsMixin):
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
        jobs = self.selection(request, queryset, verb="cancel")
        if jobs is None:
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
        return self.render_confirmation(
            request,
            jobs,
            action="cancel",
            bulk=bulk,
            allowed=cancellable,
            refused=refused,
            allowed_name="cancellable",
        )

    def get_urls(self):
        return [self.action_url("cancel", view=self.cancel_view), *super().get_urls()]

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


class RerunJobsAdminMixin(ConfirmedActionsMixin):
    """Run failed or cancelled tracked jobs again: a new job with the same task and arguments,
    linked both ways to the old one (`jobs.tasks.rerun_tracked`).

    Running a job again makes a job in its tenant, which is what the family's WRITE
    permission grants (producers create jobs with it); READ and CANCEL are not enough. Each
    job is run again at most once (run its new job again if that fails too). The old job's
    history says "Ran again as job N.", the new one's "Runs job M again.".
    """

    rerun_confirmation_template: str | None = None

    def has_rerun_permission(self, request, obj=None) -> bool:
        return self._holds(request, self.family.write_permission, obj)

    @admin.action(permissions=["rerun"], description="Run selected jobs again")
    def rerun_selected(self, request, queryset):
        jobs = self.selection(request, queryset, verb="run again")
        if jobs is None:
            return None
        if request.POST.get("post") == "yes":
            self.rerun_jobs(request, jobs)
            return None
        return self.render_rerun_confirmation(request, jobs, bulk=True)

    def split_for_rerun(self, request, jobs: list[Model]) -> tuple[list, list]:
        """Split `jobs` into (job, run) pairs this user may run again now, and (job, reason)
        pairs of the rest (three queries, whatever the selection)."""
        runs = {
            run.job_id: run
            for run in TrackedRun.objects.across_tenants()
            .filter(family=self.family.name, job_id__in=[str(obj.pk) for obj in jobs])
            .select_related("rerun")
        }
        cancelled = cancelled_ids(self.family, jobs)
        allowed, refused = [], []
        for obj in jobs:
            obj.jd_cancelled = str(obj.pk) in cancelled
            run = runs.get(str(obj.pk))
            reason = self.rerun_refusal(request, obj, run)
            if reason:
                refused.append((obj, reason))
            else:
                allowed.append((obj, run))
        return allowed, refused

    def rerun_refusal(self, request, obj: Model, run: TrackedRun | None) -> str | None:
        """Return why `obj` cannot be run again by this user (None: it can)."""
        outcome = self.outcome(obj)
        if outcome == "pending":
            return "not finished yet"
        if outcome not in ("failed", "cancelled"):
            return "it did not fail and was not cancelled"
        if run is None:
            return "not made by a tracked task: its task and arguments are unknown"
        if hasattr(run, "rerun"):
            return f"already run again as job {run.rerun.job_id}"
        if not self.has_rerun_permission(request, obj):
            return "you may not run jobs of this tenant again"
        try:
            tracked_task_of(run)
        except RerunRefused as refused:
            return str(refused)
        return None

    def rerun_jobs(self, request, jobs: list[Model]) -> list[str]:
        """Run the permitted failed or cancelled `jobs` again, log each, report counts; return
        the new jobs' ids."""
        allowed, _ = self.split_for_rerun(request, jobs)
        new_ids = []
        for obj, run in allowed:
            try:
                new_id = rerun_tracked(run, user=request.user)
            except RerunRefused:
                continue
            self.log_change(request, obj, f"Ran again as job {new_id}.")
            self.log_addition(request, self.family.load(new_id), f"Runs job {obj.pk} again.")
            new_ids.append(new_id)
        self.message_user(request, f"Ran {len(new_ids)} job(s) again.", messages.SUCCESS)
        if unchanged := len(jobs) - len(new_ids):
            self.message_user(
                request,
                f"{unchanged} job(s) could not be run again; they are unchanged.",
                messages.WARNING,
            )
        return new_ids

    def render_rerun_confirmation(self, request, jobs: list[Model], *, bulk: bool):
        allowed, refused = self.split_for_rerun(request, jobs)
        return self.render_confirmation(
            request,
            jobs,
            action="rerun",
            bulk=bulk,
            allowed=[obj for obj, _ in allowed],
            refused=refused,
            allowed_name="rerunnable",
        )

    def get_urls(self):
        return [self.action_url("rerun", view=self.rerun_view), *super().get_urls()]

    def rerun_view(self, request, object_id) -> HttpResponse:
        """Show the confirmation to run one job again (GET); run it on POST with post=yes,
        then show the new job."""
        obj = self.get_scoped_object(request, object_id)
        if not self.has_rerun_permission(request, obj):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("post") == "yes":
            new_ids = self.rerun_jobs(request, [obj])
            target = self.family.load(new_ids[0]) if new_ids else obj
            return HttpResponseRedirect(self.admin_url("change", target))
        return self.render_rerun_confirmation(request, [obj], bulk=False)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["show_rerun"] = obj is not None and not self.rerun_refusal(
            request, obj, self.tracked_run_of(obj)
        )
        if context["show_rerun"]:
            context["rerun_confirmation_url"] = self.admin_url("rerun", obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


class JobAdmin(CancelJobsAdminMixin, RerunJobsAdminMixin, admin.ModelAdmin):
    """A family's job admin: scoped, read-only, cancellable, runnable again; subclasses choose
    the columns."""

    actions = ["cancel_selected", "rerun_selected"]
