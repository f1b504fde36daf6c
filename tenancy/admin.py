"""Admin pages for tenancy, and the shared pieces every job family's admin is built from."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
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

from tenancy.access import principal_for
from tenancy.models import ApiToken, Membership, Role, Tenant
from tenancy.permissions import TOKEN_SCOPES, Perm
from tenancy.services import check_token_expiry, check_token_owner, token_issue, token_revoke

# The confirmation page lists every selected job; past this many, narrow the selection first.
MAX_CANCEL_SELECTION = 500
CANCELLED_MESSAGE = "Cancelled."


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


def progress_bar(fraction: float | None) -> str:
    """Render a job's completion (0..1, or None when unknown) as an HTML progress bar."""
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


class StuckFilter(admin.SimpleListFilter):
    """Filter to unfinished jobs started longer ago than JOBDESK_STUCK_AFTER_MINUTES."""

    title = "stuck"
    parameter_name = "stuck"

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        minutes = int(stuck_after().total_seconds() // 60)
        return [("yes", f"Unfinished after {minutes} min")]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(stuck_condition(self.model_admin))


def stuck_condition(model_admin: JobAdminMixin) -> Q:
    """Return the condition of a job that is unfinished past the stuck threshold."""
    cutoff = timezone.now() - stuck_after()
    return Q(
        **{
            f"{model_admin.state_field}__in": model_admin.pending_states,
            f"{model_admin.started_field}__lt": cutoff,
        }
    )


class TenantScopedAdminMixin:
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

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class JobAdminMixin(TenantScopedAdminMixin):
    """Read a family's jobs at a glance: state badges, humanised durations, self-refresh.

    Set `state_field`, `started_field`, `ended_field` (None: the job has no end time and the
    last update of a finished job stands in), and the family's `pending_states`,
    `succeeded_states` and `failed_states`.
    """

    state_field: str
    started_field: str
    ended_field: str | None = None
    pending_states: tuple[str, ...]
    succeeded_states: tuple[str, ...] = ()
    failed_states: tuple[str, ...] = ()
    # Seconds between reloads of a pending job's page.
    refresh_seconds = 5

    class Media:
        css = {"all": ["tenancy/admin.css"]}

    def job_state(self, obj: Model) -> str:
        return getattr(obj, self.state_field)

    def is_pending(self, obj: Model) -> bool:
        return self.job_state(obj) in self.pending_states

    def badge_kind(self, state: str) -> str:
        """Return the badge colour class of `state`."""
        if state in self.pending_states:
            return "pending"
        if state in self.succeeded_states:
            return "succeeded"
        if state in self.failed_states:
            return "failed"
        return "other"

    @admin.display(description="state")
    def state_badge(self, obj: Model) -> str:
        state = self.job_state(obj)
        labels = dict(obj._meta.get_field(self.state_field).flatchoices)
        text = labels.get(state, state)
        return format_html(
            '<span class="jd-badge jd-badge-{}" title="state: {}">{}</span>',
            self.badge_kind(state),
            text,
            text,
        )

    @admin.display(description="duration")
    def duration(self, obj: Model) -> str:
        started = getattr(obj, self.started_field)
        if self.is_pending(obj):
            return f"{humanize_duration(timezone.now() - started)} so far"
        ended = getattr(obj, self.ended_field or "updated_at")
        return humanize_duration(ended - started) if ended else "-"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["refresh_seconds"] = (
            self.refresh_seconds if obj is not None and self.is_pending(obj) else None
        )
        return super().render_change_form(request, context, add, change, form_url, obj)


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

    def cancel_job(self, request, obj) -> bool:
        raise NotImplementedError

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
        return TemplateResponse(request, "admin/jobdesk/cancel_confirmation.html", context)

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


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "project_id", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name", "project_id"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]


class RoleForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=Perm.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Ignored for the role named 'admin', which holds every permission.",
    )

    class Meta:
        model = Role
        fields = ["name", "description", "permissions"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    form = RoleForm
    list_display = ["name", "description", "permission_list"]
    search_fields = ["name"]

    @admin.display(description="permissions")
    def permission_list(self, role: Role) -> str:
        return ", ".join(sorted(role.granted))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    list_select_related = ["user", "tenant", "role"]
    search_fields = ["user__username", "tenant__slug", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]


class ApiTokenAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in sorted(TOKEN_SCOPES)],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave empty for the role's permissions; tick some to narrow the token to them.",
    )

    class Meta:
        model = ApiToken
        fields = ["user", "tenant", "name", "scopes", "expires_at"]

    def clean_scopes(self) -> list[str] | None:
        return self.cleaned_data["scopes"] or None

    def clean(self):
        cleaned = super().clean()
        user, tenant = cleaned.get("user"), cleaned.get("tenant")
        if user is not None and tenant is not None:
            check_token_owner(user=user, tenant=tenant)
        expires_at = cleaned.get("expires_at")
        if expires_at is not None:
            check_token_expiry(expires_at)
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "tenant", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["tenant"]
    list_select_related = ["user", "tenant"]
    search_fields = ["name", "prefix", "user__username", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]
    readonly_fields = [
        "user",
        "tenant",
        "name",
        "prefix",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "created_at",
    ]
    actions = ["revoke_selected"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        # Tokens are made only by the service, which hashes the key; the raw key lives in
        # this request alone and is rendered once by response_add.
        token, raw_key = token_issue(
            user=obj.user,
            tenant=obj.tenant,
            name=obj.name,
            scopes=obj.scopes,
            expires_at=obj.expires_at,
        )
        obj.pk, obj.prefix, obj.digest, obj.created_at = (
            token.pk,
            token.prefix,
            token.digest,
            token.created_at,
        )
        obj._state.adding = False
        request.jobdesk_raw_key = raw_key

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "raw_key": request.jobdesk_raw_key,
            "title": "API token created",
        }
        response = TemplateResponse(request, "admin/tenancy/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected tokens")
    def revoke_selected(self, request, queryset):
        for token in queryset:
            token_revoke(token=token)
            self.log_change(request, token, "Revoked.")
        self.message_user(request, f"Revoked {len(queryset)} token(s).", messages.SUCCESS)
